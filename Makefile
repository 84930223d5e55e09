# Declutter: `make run` starts the local stack, `make test` runs every test, `make bench` prints tables.
# Each target sets up what it needs first, so on a fresh Debian machine any of them works alone.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Running needs Chromium (pages that need JavaScript); the tests and benchmarks also need
# PostgreSQL, Redis, wrk, Firefox ESR (the extension's tests run in both browsers), web-ext and
# puppeteer-core (npm), pywb and the wacz validator.
RUN_APT_PACKAGES := chromium fonts-liberation
APT_PACKAGES := $(RUN_APT_PACKAGES) postgresql redis-server wrk firefox-esr
PYWB_VENV := .venv-pywb
WACZ_VENV := .venv-wacz

.PHONY: setup run-setup apt apt-run venv venv-run node pywb wacz replaywebpage redoc run test lint bench package clean

# Everything, for make test and make bench.
setup: apt venv node pywb wacz replaywebpage redoc

# Only what make run needs, so a first run on a fresh machine is quick.
run-setup: apt-run venv-run

# apt_install: install the Debian packages in $(1) that are missing.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

apt:
	$(call apt_install,$(APT_PACKAGES))

apt-run:
	$(call apt_install,$(RUN_APT_PACKAGES))

venv: $(VENV)/.installed

# With the dev extras the venv also has what running needs: .installed-run comes with it.
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

venv-run: $(VENV)/.installed-run

$(VENV)/.installed-run: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e .
	@touch $@

node: node_modules/.installed

# puppeteer-core drives the Firefox that apt installed: it must never download a browser of its own.
node_modules/.installed: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# pywb (the reference Wayback implementation) lives in its own venv: beside Scrapy its brotlipy
# shadows Brotli and its apps monkey-patch with gevent.
pywb: $(PYWB_VENV)/.installed

$(PYWB_VENV)/.installed: infra/pywb-requirements.txt
	@test -x $(PYWB_VENV)/bin/python || $(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install -q -U pip
	$(PYWB_VENV)/bin/python -m pip install -q -r infra/pywb-requirements.txt
	@touch $@

# The wacz package (its validator checks our WACZ exports) in its own venv: its frictionless
# dependency lifts chardet past readability-lxml's pin.
wacz: $(WACZ_VENV)/.installed

$(WACZ_VENV)/.installed: infra/wacz-requirements.txt
	@test -x $(WACZ_VENV)/bin/python || $(PYTHON) -m venv $(WACZ_VENV)
	$(WACZ_VENV)/bin/python -m pip install -q -U pip
	$(WACZ_VENV)/bin/python -m pip install -q -r infra/wacz-requirements.txt
	@touch $@

# ReplayWeb.page's built app (index.html, ui.js, sw.js), in which a test opens a signed WACZ export.
# Unpacked from `npm pack`, not installed: its source dependencies are not needed to run the bundle
# (and not all are on the registry mirror).
REPLAYWEBPAGE_VERSION := 2.5.3
replaywebpage: node_modules/replaywebpage/.installed

node_modules/replaywebpage/.installed: | node
	@mkdir -p node_modules/replaywebpage
	cd node_modules && npm pack replaywebpage@$(REPLAYWEBPAGE_VERSION) --silent >/dev/null \
	  && tar xzf replaywebpage-$(REPLAYWEBPAGE_VERSION).tgz -C replaywebpage --strip-components=1 \
	  && rm replaywebpage-$(REPLAYWEBPAGE_VERSION).tgz
	@touch $@

# Redoc's standalone bundle renders the API reference at /api/v1/docs; its npm package would pull
# React and friends for a file that needs none of them.
REDOC_VERSION := 3.0.1
redoc: node_modules/redoc/.installed

node_modules/redoc/.installed: | node
	@mkdir -p node_modules/redoc
	cd node_modules && npm pack redoc@$(REDOC_VERSION) --silent >/dev/null \
	  && tar xzf redoc-$(REDOC_VERSION).tgz -C redoc --strip-components=1 package/bundles/redoc.standalone.js \
	  && rm redoc-$(REDOC_VERSION).tgz
	@touch $@

# The script checks its ports before anything is installed or started, then runs run-setup.
run:
	@bash infra/run-local.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

# Both store packages from the same folder: web-ext's zip for addons.mozilla.org and the same files
# zipped for the Chrome Web Store (manifest.json at the root of each).
DIST ?= dist
package: node
	@mkdir -p $(DIST)
	NO_UPDATE_NOTIFIER=1 node_modules/.bin/web-ext lint --source-dir extension --self-hosted --no-input
	NO_UPDATE_NOTIFIER=1 node_modules/.bin/web-ext build --source-dir extension --artifacts-dir $(DIST) \
	  --overwrite-dest --filename 'declutter-reader-{version}-firefox.zip'
	NO_UPDATE_NOTIFIER=1 node_modules/.bin/web-ext build --source-dir extension --artifacts-dir $(DIST) \
	  --overwrite-dest --filename 'declutter-reader-{version}-chromium.zip'

clean:
	rm -rf $(VENV) $(PYWB_VENV) $(WACZ_VENV) node_modules $(DIST)
