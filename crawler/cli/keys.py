"""`declutter key show`: the public key that signs this archive's WACZ exports.

A signed WACZ carries its public key, so anyone can check that the file is unchanged; whether the
key is this archive's is what a reader must learn elsewhere. This command (and the server's
``GET /api/v1/keys``) is where they learn it: the key and its fingerprint, to compare with the
``publicKey`` of a file. The private key stays in its file under the data dir; nothing here
prints, copies or exports it.
"""

from __future__ import annotations

import argparse
import json

from crawler import config


def register(subparsers: argparse._SubParsersAction) -> None:
    key = subparsers.add_parser(
        "key",
        help="the public key that signs WACZ exports (declutter export --sign)",
        description="Show the archive's signing key (made on first use under the data dir).",
    )
    actions = key.add_subparsers(dest="key_command", metavar="ACTION")
    actions.required = True
    show = actions.add_parser(
        "show",
        help="print the public key (base64 SPKI, as in a signed WACZ) and its fingerprint",
        description=(
            "Print the public key of the archive's signing key pair and its fingerprint (the "
            "sha256 of the key's DER bytes), creating the pair on first use. Publish them so "
            "readers of a signed WACZ can check that its publicKey is this archive's."
        ),
    )
    show.add_argument("--json", action="store_true", help="as JSON, as GET /api/v1/keys lists it")
    show.add_argument("--pem", action="store_true", help="the public key as PEM (for openssl)")
    show.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    from crawler.research.signing import KeySigner

    settings = config.load()
    public = KeySigner.for_data_dir(settings.data_dir).public_key
    if args.json:
        print(json.dumps(public.to_dict(), indent=2))
    elif args.pem:
        print(public.pem(), end="")
    else:
        print(f"public key:  {public.base64}")
        print(f"fingerprint: {public.fingerprint}")
        print("algorithm:   ECDSA P-384 with SHA-256 (as ArchiveWeb.page signs)")
        print(f"created:     {public.to_dict()['created']}")
        if settings.signing_url:
            print(
                f"note: DECLUTTER_SIGNING_URL is set, so exports are signed by {settings.signing_url}"
                " with its domain certificate, not with this key"
            )
    return 0
