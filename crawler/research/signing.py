"""Signatures that let a third party check that a WACZ is the one this archive made.

A signed WACZ follows Webrecorder's "WACZ Signing and Verification" 0.1.0: its
``datapackage-digest.json`` holds the sha256 of ``datapackage.json`` (which lists the sha256 of
every other file) and ``signedData``, a signature of that hash string. So one signature covers the
WARC, the index and the pages, and changing any byte of them breaks a hash on the way up.

Two signers, one answer shape:

- ``KeySigner``, anonymous signing, as ArchiveWeb.page does it: ECDSA on P-384 over the UTF-8 bytes
  of the hash string with SHA-256, the signature as WebCrypto writes it (r and s, 48 bytes each,
  not DER) and the public key as SubjectPublicKeyInfo DER, both base64. ReplayWeb.page verifies
  exactly that combination with WebCrypto, so any other curve or encoding fails its check.
  The key pair is the server's own, made on first use under the data dir. The signature proves only
  "whoever holds this key"; the key is published (``declutter key show``, ``GET /api/v1/keys``) so
  readers can tie it to this archive out of band.
- ``AuthsignSigner``, domain identity: the hash is sent to an authsign server
  (``DECLUTTER_SIGNING_URL``), which signs with the key of its TLS certificate and has an RFC 3161
  authority countersign the time. Its answer is checked before it goes into a file: an answer for
  another hash, or whose signature does not verify with the key it names, would make a WACZ that
  looks signed and is not.

``KeySigner`` and the key's life (made, published, rotated) live in ``crawler.snapshot.keys``,
re-exported here, because the archive signs its capture log's checkpoints with the same key.
The private key never leaves that module: not in logs, errors, reprs or exports.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from crawler.snapshot.keys import (
    ALGORITHM,
    COORDINATE_BYTES,
    CURVE,
    KEY_DIR,
    KEY_FILE,
    RETIRED_FILE,
    SIGNATURE_HASH,
    SOFTWARE,
    KeySigner,
    PublicKey,
    SigningError,
    public_keys,
    rotate_key,
    verify_signature,
)

__all__ = [
    "ALGORITHM",
    "AUTHSIGN_TIMEOUT",
    "COORDINATE_BYTES",
    "CURVE",
    "KEY_DIR",
    "KEY_FILE",
    "RETIRED_FILE",
    "SIGNATURE_HASH",
    "SOFTWARE",
    "AuthsignSigner",
    "KeySigner",
    "PublicKey",
    "Signer",
    "SigningError",
    "public_keys",
    "rotate_key",
    "signer_for",
    "verify_signature",
]

AUTHSIGN_TIMEOUT = 30.0


class Signer(Protocol):
    """Makes the ``signedData`` of a datapackage-digest.json for a ``sha256:…`` hash."""

    def sign(self, digest: str, created: str) -> dict[str, Any]: ...


class AuthsignSigner:
    """Domain-identity signing through an authsign server (``DECLUTTER_SIGNING_URL``).

    authsign's API: ``POST <url>`` with ``{"hash", "created"}`` answers the ``signedData``.
    """

    def __init__(self, url: str, *, timeout: float = AUTHSIGN_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AuthsignSigner({self.url!r})"

    def sign(self, digest: str, created: str) -> dict[str, Any]:
        body = json.dumps({"hash": digest, "created": created}).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SigningError(
                f"the signing server at {self.url} (DECLUTTER_SIGNING_URL) answered HTTP "
                f"{exc.code}; check its log, or unset DECLUTTER_SIGNING_URL to sign with the "
                "archive's own key"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SigningError(
                f"cannot reach the signing server at {self.url} (DECLUTTER_SIGNING_URL): "
                f"{reason}; start it, or unset DECLUTTER_SIGNING_URL to sign with the "
                "archive's own key"
            ) from None
        except ValueError:
            raise SigningError(
                f"the signing server at {self.url} answered something that is not JSON; is "
                "DECLUTTER_SIGNING_URL the address of authsign's /sign?"
            ) from None
        _check_authsign_answer(answer, digest, self.url)
        return answer


def _check_authsign_answer(answer: Any, digest: str, url: str) -> None:
    """Refuse an answer that would make a WACZ look signed when it is not."""
    where = f"the signing server at {url}"
    if not isinstance(answer, dict):
        raise SigningError(f"{where} answered {type(answer).__name__}, not a signedData object")
    if answer.get("hash") != digest:
        raise SigningError(f"{where} signed another hash than the one sent; nothing was signed")
    signature = answer.get("signature")
    if not isinstance(signature, str):
        raise SigningError(f"{where} answered no signature")
    try:
        if answer.get("domainCert"):
            pem = str(answer["domainCert"]).encode("ascii")
            key = x509.load_pem_x509_certificates(pem)[0].public_key()
        elif answer.get("publicKey"):
            key = serialization.load_der_public_key(base64.b64decode(answer["publicKey"]))
        else:
            raise SigningError(f"{where} answered neither a domainCert nor a publicKey")
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        raise SigningError(
            f"{where} answered a certificate, key or signature that cannot be read"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not _verifies(key, raw, digest):
        raise SigningError(
            f"{where} answered a signature that does not verify with the key it names; "
            "nothing was signed"
        )


def _verifies(key: ec.EllipticCurvePublicKey, raw: bytes, digest: str) -> bool:
    """authsign writes DER signatures, WebCrypto r||s ones: either is accepted from the server."""
    size = (key.curve.key_size + 7) // 8
    candidates = [raw]
    if len(raw) == 2 * size:
        r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
        candidates.append(encode_dss_signature(r, s))
    for candidate in candidates:
        try:
            key.verify(candidate, digest.encode("utf-8"), ec.ECDSA(SIGNATURE_HASH))
            return True
        except (InvalidSignature, ValueError):
            continue
    return False


def signer_for(data_dir: Path, signing_url: str = "") -> Signer:
    """authsign when a signing URL is set, otherwise the archive's own key."""
    if signing_url:
        return AuthsignSigner(signing_url)
    return KeySigner.for_data_dir(data_dir)
