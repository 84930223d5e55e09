"""``GET /api/v1/keys``: the public keys that sign this archive's WACZ exports.

A signed WACZ carries its own public key, so a file alone proves only that it is unchanged since
someone signed it. This stable URL is where a reader learns that the someone is this archive: the
key here must equal the file's ``signedData.publicKey`` (or its fingerprint, the sha256 of the
key's DER bytes). Only public keys are listed; the private key never leaves its file.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from pydantic import BaseModel, Field

from crawler.research.signing import SigningError, public_keys
from server import state
from server.declare import Reply, declare
from server.errors import ApiError


class SigningKey(BaseModel):
    publicKey: str = Field(description="base64 SubjectPublicKeyInfo DER, as in signedData")
    fingerprint: str = Field(description="sha256: and the hex sha256 of the key's DER bytes")
    algorithm: str
    created: str = Field(description="when the key was made (RFC 3339)")
    retired: str | None = Field(description="when it was rotated out; null for the key in use")
    pem: str = Field(description="the same key as PEM, for openssl")


class SigningKeys(BaseModel):
    """The key in use first, then retired ones; ``domainSigning``: exports go to authsign."""

    keys: list[SigningKey]
    domainSigning: bool


@declare(
    "GET", "/api/v1/keys", "keys",
    "The public keys that sign WACZ exports (export with sign=true)",
    {200: Reply("The archive's signing keys", SigningKeys)},
    errors=((500, "The signing key could not be read or made; the detail says what to fix."),),
    description="Compare a signed WACZ's signedData.publicKey with these. When domainSigning is "
    "true, exports are signed by the authsign server at DECLUTTER_SIGNING_URL with its domain "
    "certificate instead, which the file itself carries.",
)
async def keys(request: web.Request) -> web.Response:
    settings = request.app[state.SETTINGS]
    try:
        found = await asyncio.to_thread(public_keys, settings.data_dir)
    except SigningError as exc:
        raise ApiError(str(exc), status=500, error="signing_key") from exc
    return web.json_response(
        {"keys": [key.to_dict() for key in found], "domainSigning": bool(settings.signing_url)}
    )
