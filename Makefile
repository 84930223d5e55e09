# Declutter: `make run` starts the local stack, `make test` runs every test, `make bench` prints tables.
# Each target sets up what it needs first, so on a fresh Debian machine any of them works alone.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := chromium fonts-liberation postgresql redis-server wrk
PYWB_VENV := .venv-pywb

.PHONY: setup apt venv node pywb run test lint bench clean

setup: apt venv node pywb

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

node: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# pywb (the reference Wayback implementation) lives in its own venv: beside Scrapy its brotlipy
# shadows Brotli and its apps monkey-patch with gevent.
pywb: $(PYWB_VENV)/.installed

$(PYWB_VENV)/.installed: infra/pywb-requirements.txt
	@test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install -q -U pip
	$(PYWB_VENV)/bin/python -m pip install -q -r infra/pywb-requirements.txt
	@touch $@

run: setup
	bash infra/run-local.sh

lint: venv
	$(VENV)/bin/ruff check .

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(PYWB_VENV) node_modules
