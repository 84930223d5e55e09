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

The private key never leaves this module: not in logs, errors, reprs or exports.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from crawler.errors import DeclutterError

# ArchiveWeb.page's anonymous signing, which ReplayWeb.page checks: {name: ECDSA, namedCurve: P-384}
# keys, {name: ECDSA, hash: SHA-256} signatures.
CURVE = ec.SECP384R1()
SIGNATURE_HASH = hashes.SHA256()
ALGORITHM = "ECDSA P-384, SHA-256, IEEE P1363 (r||s) signature, SPKI public key"
# Each of r and s takes the curve's size in bytes (384 bits); WebCrypto pads them to that.
COORDINATE_BYTES = 48
KEY_DIR = "keys"
KEY_FILE = "wacz-signing-key.pem"
# The public halves of rotated-out keys with their validity periods: files they signed stay checkable.
RETIRED_FILE = "retired-keys.json"
SOFTWARE = "Declutter"
AUTHSIGN_TIMEOUT = 30.0


class SigningError(DeclutterError):
    """A signature that cannot be made; the message says what to fix."""


class Signer(Protocol):
    """Makes the ``signedData`` of a datapackage-digest.json for a ``sha256:…`` hash."""

    def sign(self, digest: str, created: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PublicKey:
    """What third parties need to check our signatures: the key, its fingerprint, when it was in use.

    ``retired`` is None for the key in use; a rotated-out key signed files from ``created`` until
    ``retired``.
    """

    spki: bytes
    created: datetime
    retired: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublicKey:
        retired = data.get("retired")
        return cls(
            base64.b64decode(data["publicKey"]),
            datetime.fromisoformat(data["created"].replace("Z", "+00:00")),
            datetime.fromisoformat(retired.replace("Z", "+00:00")) if retired else None,
        )

    @property
    def base64(self) -> str:
        """As ``signedData.publicKey`` carries it."""
        return base64.b64encode(self.spki).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """sha256 of the key's DER bytes: ``base64 -d | sha256sum`` of publicKey gives it too."""
        return "sha256:" + hashlib.sha256(self.spki).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "publicKey": self.base64,
            "fingerprint": self.fingerprint,
            "algorithm": ALGORITHM,
            "created": _rfc3339(self.created),
            "retired": _rfc3339(self.retired) if self.retired else None,
            "pem": self.pem(),
        }

    def pem(self) -> str:
        key = serialization.load_der_public_key(self.spki)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


class KeySigner:
    """Anonymous signing with the archive's own P-384 key (see the module header)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, created: datetime) -> None:
        if not isinstance(private_key.curve, type(CURVE)):
            raise SigningError(
                f"the signing key is on {private_key.curve.name}, not P-384 (secp384r1): "
                "ReplayWeb.page would not recognise its signatures; move the key file away "
                "and a new P-384 key is made on next use"
            )
        self._private_key = private_key
        spki = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = PublicKey(spki, created)

    def __repr__(self) -> str:
        return f"KeySigner({self.public_key.fingerprint})"

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> KeySigner:
        """The archive's key, made on first use under ``data_dir/keys`` (file mode 0600)."""
        path = Path(data_dir) / KEY_DIR / KEY_FILE
        if not path.exists():
            _write_key(path, ec.generate_private_key(CURVE), replace_existing=False)
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SigningError(
                f"cannot read the signing key {path} ({exc.strerror}); it must be readable by "
                "the user running Declutter (mode 0600)"
            ) from None
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except ValueError:
            raise SigningError(
                f"{path} is not an unencrypted PEM private key; restore it from a backup, or move "
                "it away to make a new key (files signed with the old key stay verifiable with "
                "its published public key)"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SigningError(f"{path} holds a {type(key).__name__}, not an ECDSA P-384 key")
        created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return cls(key, created)

    def sign(self, digest: str, created: str) -> dict[str, Any]:
        der = self._private_key.sign(digest.encode("utf-8"), ec.ECDSA(SIGNATURE_HASH))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(COORDINATE_BYTES, "big") + s.to_bytes(COORDINATE_BYTES, "big")
        return {
            "hash": digest,
            "signature": base64.b64encode(raw).decode("ascii"),
            "publicKey": self.public_key.base64,
            "created": created,
            "software": SOFTWARE,
        }


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, *, replace_existing: bool) -> None:
    """Write a key file atomically, mode 0600 from its first byte.

    A first key is hard-linked to its name: a link fails if the name exists, so two processes
    starting at once keep one key (the loser drops its own and both read the winner's). A
    rotation replaces the name in one step, so a signer never reads half a key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(f".{path.name}.{os.urandom(6).hex()}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        if replace_existing:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
    except OSError as exc:
        raise SigningError(
            f"cannot create the signing key in {path.parent} ({exc.strerror}); make the data "
            "dir writable (DECLUTTER_DATA_DIR)"
        ) from None
    finally:
        temp.unlink(missing_ok=True)


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


def public_keys(data_dir: Path) -> list[PublicKey]:
    """The key in use (made on first use), then the retired ones, newest first."""
    current = KeySigner.for_data_dir(data_dir).public_key
    return [current, *sorted(_retired(data_dir), key=lambda key: key.created, reverse=True)]


def rotate_key(data_dir: Path) -> tuple[PublicKey, PublicKey]:
    """Replace the key in use by a new one; returns (new, retired).

    The old private key is dropped (a rotation after a leak must end its use), its public half
    listed as retired first: files it signed stay verifiable against the published list. A crash
    between the two steps leaves the old key both in use and listed, never a key unlisted.
    """
    old = KeySigner.for_data_dir(data_dir).public_key
    retired = replace(old, retired=datetime.now(UTC))
    listed = [key.to_dict() for key in (*_retired(data_dir), retired)]
    folder = Path(data_dir) / KEY_DIR
    temp = folder / f".{RETIRED_FILE}.{os.urandom(6).hex()}"
    temp.write_text(json.dumps(listed, indent=2), encoding="utf-8")
    os.replace(temp, folder / RETIRED_FILE)
    _write_key(folder / KEY_FILE, ec.generate_private_key(CURVE), replace_existing=True)
    return KeySigner.for_data_dir(data_dir).public_key, retired


def _retired(data_dir: Path) -> list[PublicKey]:
    path = Path(data_dir) / KEY_DIR / RETIRED_FILE
    if not path.exists():
        return []
    try:
        return [PublicKey.from_dict(entry) for entry in json.loads(path.read_text("utf-8"))]
    except (ValueError, KeyError, TypeError):
        raise SigningError(
            f"{path} (the retired signing keys) cannot be read; restore it from a backup: "
            "without it, files signed with old keys cannot be tied to this archive"
        ) from None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
