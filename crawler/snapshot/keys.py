"""The archive's own signing key: made on first use under the data dir, rotated, published.

It lives in ``snapshot`` (below ``archive`` and ``research``) because two layers sign with it:
``research`` signs WACZ exports (``crawler.research.signing`` re-exports all of this, its API
unchanged) and ``archive`` signs the capture log's checkpoints. One key, one published list of
fingerprints: a reader who trusts the key for one trusts it for the other.

The private key never leaves this module: not in logs, errors, reprs or exports.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


class SigningError(DeclutterError):
    """A signature that cannot be made; the message says what to fix."""


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


def verify_signature(public_key: PublicKey, signature: str, digest: str) -> bool:
    """Whether ``signature`` (base64 r||s, as ``KeySigner.sign`` writes it) signs ``digest``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key = serialization.load_der_public_key(public_key.spki)
    except (ValueError, TypeError):
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey) or len(raw) != 2 * COORDINATE_BYTES:
        return False
    r = int.from_bytes(raw[:COORDINATE_BYTES], "big")
    s = int.from_bytes(raw[COORDINATE_BYTES:], "big")
    try:
        key.verify(encode_dss_signature(r, s), digest.encode("utf-8"), ec.ECDSA(SIGNATURE_HASH))
    except (InvalidSignature, ValueError):
        return False
    return True
