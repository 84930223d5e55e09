"""Who may write: API tokens, the one token check, and the private-archive gate."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from server.errors import Unauthorized

if TYPE_CHECKING:
    from crawler.config import Settings

class TokenStore:
    """API tokens, kept as SHA-256 digests in a JSON file under the data directory.

    Tokens are 32 random bytes, so a plain digest (no salt, no slow hash) is enough: there is no
    dictionary to attack, and checking stays cheap on every write request.
    """

    PREFIX = "dcl_"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[float, dict[str, dict]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenStore:
        return cls(settings.data_dir / "tokens.json")

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, dict]:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        self._cache = (mtime, data)
        return data

    def create(self, name: str = "") -> str:
        token = self.PREFIX + secrets.token_urlsafe(32)
        tokens = dict(self._load())
        tokens[self.digest(token)] = {"name": name, "created": int(time.time())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(tokens, handle, indent=1)
        tmp.replace(self.path)
        self._cache = None
        return token

    def verify(self, token: str) -> bool:
        if not token:
            return False
        wanted = self.digest(token)
        return any(hmac.compare_digest(wanted, known) for known in self._load())

    def __len__(self) -> int:
        return len(self._load())


def bearer_token(authorization: str | None) -> str:
    """The token in an ``Authorization: Bearer ...`` header, or "" when there is none."""
    if not authorization:
        return ""
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


SIGN_IN_COOKIE = "declutter_token"


def request_token(request: web.Request) -> str:
    """The token a request carries: ``Authorization: Bearer``, else the web app's sign-in cookie."""
    return bearer_token(request.headers.get("Authorization")) or request.cookies.get(SIGN_IN_COOKIE, "")


def require_valid_token(
    tokens: TokenStore,
    token: str,
    *,
    needed_for: str = "this endpoint",
    how: str = "send 'Authorization: Bearer <token>'",
) -> None:
    """The one token check behind every write action (API, web form, large export).

    Callers pick where the token comes from (header, cookie, form field); the refusal and the way
    to get a token are worded here once, so every place says the same.
    """
    if not token:
        raise Unauthorized(
            f"{needed_for} needs an API token: {how} (create one with `declutter token create`)"
        )
    if not tokens.verify(token):
        raise Unauthorized(
            f"the API token is not valid ({needed_for} needs one); "
            "create one with `declutter token create`"
        )


# --- the private-archive gate ---------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

OPEN_PATHS = frozenset({"/healthz", "/metrics", "/web/login"})
OPEN_PREFIXES = ("/web/static/",)
SIGN_IN_PATH = "/web/login"

# Set by the web app: how a page that is not a plain GET is refused (an HTML page, not JSON).
PAGE_REFUSAL = web.AppKey("page_refusal", Callable[[web.Request], web.StreamResponse])


def signed_in(request: web.Request, tokens: TokenStore) -> bool:
    """Whether the request carries a valid token (header or the web app's sign-in cookie)."""
    token = request_token(request)
    return bool(token) and tokens.verify(token)


def _is_page(request: web.Request) -> bool:
    return request.path == "/" or request.path.startswith("/web/") or request.path == "/web"


def private_archive_gate(require_token: bool, tokens: TokenStore) -> Handler | None:
    """With ``DECLUTTER_REQUIRE_TOKEN`` set, every route but health, metrics and sign-in needs a token.

    The whole server, not only the pages: the raw page, screenshot and WARC links of a capture
    lead to the API, and a private archive must not be readable there either. ``create_app``
    registers it itself, so no optional module can leave a private archive open. Browsers carry
    the token in the cookie the sign-in page sets; scripts send ``Authorization: Bearer``.
    """
    if not require_token:
        return None

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.path in OPEN_PATHS
            or request.path.startswith(OPEN_PREFIXES)
            or signed_in(request, tokens)
        ):
            return await handler(request)
        if _is_page(request):
            if request.method == "GET":
                raise web.HTTPSeeOther(SIGN_IN_PATH + "?" + urlencode({"next": request.path_qs}))
            refuse_page = request.app.get(PAGE_REFUSAL)
            if refuse_page is not None:
                return refuse_page(request)
        raise Unauthorized(
            "this archive is private: send 'Authorization: Bearer <token>' "
            "(create one with `declutter token create`)"
        )

    return gate
