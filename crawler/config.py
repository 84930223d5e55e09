"""Every setting Declutter reads, in one place.

All come from ``DECLUTTER_*`` environment variables with defaults that run a complete local stack.
The README lists them; keep the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DECLUTTER_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(f"DECLUTTER_{name}")
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in _env(name, "").split(",") if item.strip()]


def _default_data_dir() -> str:
    """The user's data folder (``~/.local/share/declutter`` on Linux), never the current one.

    A relative default made ``declutter captures`` run from another folder read, and create, an
    empty catalogue there; ``make run`` sets ``./data`` of the checkout explicitly instead.
    """
    return user_data_dir("declutter", appauthor=False)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(
        default_factory=lambda: Path(_env("DATA_DIR", _default_data_dir())).expanduser().resolve()
    )
    s3_endpoint: str = field(default_factory=lambda: _env("S3_ENDPOINT", "127.0.0.1:8333"))
    s3_access_key: str = field(default_factory=lambda: _env("S3_ACCESS_KEY", "declutter"))
    s3_secret_key: str = field(default_factory=lambda: _env("S3_SECRET_KEY", "declutter-secret"))
    s3_bucket: str = field(default_factory=lambda: _env("S3_BUCKET", "declutter"))
    s3_secure: bool = field(default_factory=lambda: _env_bool("S3_SECURE", False))
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8080")))
    allowed_fetch_hosts: list[str] = field(default_factory=lambda: _env_list("ALLOW_FETCH_HOSTS"))
    allow_private_fetch: bool = field(default_factory=lambda: _env_bool("ALLOW_PRIVATE_FETCH", False))
    cors_origins: list[str] = field(default_factory=lambda: _env_list("CORS_ORIGINS"))
    # Where readers reach the server (https://archive.example.org); links are built from it.
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL", ""))
    # Host header names served besides loopback, IP literals, HOST and PUBLIC_URL's ("*": any).
    allowed_hosts: list[str] = field(default_factory=lambda: _env_list("ALLOWED_HOSTS"))
    require_token_for_app: bool = field(default_factory=lambda: _env_bool("REQUIRE_TOKEN", False))
    crawls_file: Path = field(default_factory=lambda: Path(_env("CRAWLS_FILE", "crawls.toml")))
    contact_url: str = field(
        default_factory=lambda: _env("CONTACT_URL", "https://github.com/declutter/declutter")
    )
    chromium_path: str = field(
        default_factory=lambda: _env("CHROMIUM", "/usr/lib/chromium/chromium")
    )
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    max_page_bytes: int = field(
        default_factory=lambda: int(_env("MAX_PAGE_BYTES", str(10 * 1024 * 1024)))
    )
    fetch_timeout: float = field(default_factory=lambda: float(_env("FETCH_TIMEOUT", "20")))
    max_body_bytes: int = field(
        default_factory=lambda: int(_env("MAX_BODY_BYTES", str(15 * 1024 * 1024)))
    )
    rate_limit: float = field(default_factory=lambda: float(_env("RATE_LIMIT", "20")))
    rate_burst: int = field(default_factory=lambda: int(_env("RATE_BURST", "120")))
    clean_cache_entries: int = field(default_factory=lambda: int(_env("CLEAN_CACHE", "512")))
    # The server's Chromium for /clean: slots (a client gets at most half), the wait for one, and
    # a render's whole time from its slot to its DOM.
    render_slots: int = field(default_factory=lambda: int(_env("RENDER_SLOTS", "2")))
    render_queue_timeout: float = field(
        default_factory=lambda: float(_env("RENDER_QUEUE_TIMEOUT", "10"))
    )
    render_timeout: float = field(default_factory=lambda: float(_env("RENDER_TIMEOUT", "30")))
    export_open_limit: int = field(default_factory=lambda: int(_env("EXPORT_OPEN_LIMIT", "1000")))
    # An authsign server's /sign: WACZ exports signed with its domain certificate, not our own key.
    signing_url: str = field(default_factory=lambda: _env("SIGNING_URL", ""))
    # The capture log gets a signed checkpoint in object storage every this many entries (and at
    # the first capture an hour or more after the last checkpoint).
    log_checkpoint_every: int = field(
        default_factory=lambda: int(_env("LOG_CHECKPOINT_EVERY", "1000"))
    )

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "catalogue.sqlite3"


def load() -> Settings:
    """Read the environment now; callers pass the result down instead of re-reading it."""
    return Settings()
