"""A signed-WACZ verifier written from "WACZ Signing and Verification" 0.1.0 alone, as the outside
judge of our signer: it shares no code with crawler.research (only the `cryptography` package).

The spec's steps:
1. every resource of datapackage.json matches its file (sha256, size);
2. datapackage-digest.json's hash is the sha256 of datapackage.json;
3. signedData.signature is a signature of signedData.hash, which must be that same hash, by
   signedData.publicKey (anonymous), or by the first certificate of domainCert (domain identity);
4. (domain identity) signedData.domain is that certificate's subject.
Anonymous signatures are checked as ReplayWeb.page's WebCrypto check does: an SPKI ECDSA P-384
key, SHA-256, the signature as r||s; domain ones as authsign writes them (DER). Steps 5-9 (the
RFC 3161 time signature and trust in the certificate chains) need a timestamp authority and a
public CA, which tests on loopback cannot have.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class NotVerified(Exception):
    """The file fails one of the spec's steps; the message names which."""


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_signed_wacz(data: bytes) -> dict[str, Any]:
    """Raise NotVerified unless the WACZ passes every step; return its signedData when it does."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise NotVerified(f"not a zip: {exc}") from None
    with archive:
        package_bytes = archive.read("datapackage.json")
        package = json.loads(package_bytes)
        for resource in package["resources"]:
            try:
                content = archive.read(resource["path"])
            except (KeyError, zipfile.BadZipFile) as exc:
                raise NotVerified(f"step 1: {resource['path']} unreadable: {exc}") from None
            if _sha256(content) != resource["hash"] or len(content) != resource["bytes"]:
                raise NotVerified(f"step 1: {resource['path']} does not match its hash")
        digest = json.loads(archive.read("datapackage-digest.json"))
    if digest.get("path") != "datapackage.json" or digest.get("hash") != _sha256(package_bytes):
        raise NotVerified("step 2: datapackage.json does not match datapackage-digest.json")
    signed = digest.get("signedData")
    if not isinstance(signed, dict):
        raise NotVerified("not signed: datapackage-digest.json has no signedData")
    if signed.get("hash") != digest["hash"]:
        raise NotVerified("step 3: signedData signs another hash than datapackage.json's")
    if "domainCert" in signed:
        return _verify_domain_signature(signed)
    key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"]))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
        raise NotVerified("step 3: the public key is not an ECDSA P-384 key")
    raw = base64.b64decode(signed["signature"])
    if len(raw) != 96:
        raise NotVerified(f"step 3: a P-384 r||s signature has 96 bytes, not {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
    try:
        key.verify(der, signed["hash"].encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise NotVerified("step 3: the signature does not verify with the public key") from None
    return signed


def _verify_domain_signature(signed: dict[str, Any]) -> dict[str, Any]:
    certificate = x509.load_pem_x509_certificates(signed["domainCert"].encode("ascii"))[0]
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise NotVerified("step 3: the domain certificate's key is not an ECDSA key")
    try:
        key.verify(
            base64.b64decode(signed["signature"]),
            signed["hash"].encode("utf-8"),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature:
        raise NotVerified("step 3: the signature does not verify with domainCert") from None
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names or names[0].value != signed.get("domain"):
        raise NotVerified("step 4: domain is not the domain certificate's subject")
    return signed
