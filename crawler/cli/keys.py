"""`declutter key show|rotate`: the public key that signs this archive's WACZ exports.

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
    rotate = actions.add_parser(
        "rotate",
        help="replace the signing key by a new one; the old public key stays listed as retired",
        description=(
            "Make a new signing key and drop the old private key (after a leak, or on a "
            "schedule). The old public key stays listed, with the period it was in use, by "
            "`declutter key show` and GET /api/v1/keys, so files it signed stay verifiable."
        ),
    )
    rotate.set_defaults(func=run_rotate)


def run_show(args: argparse.Namespace) -> int:
    from crawler.research.signing import public_keys

    settings = config.load()
    public, *retired = public_keys(settings.data_dir)
    if args.json:
        print(json.dumps(public.to_dict(), indent=2))
    elif args.pem:
        print(public.pem(), end="")
    else:
        print(f"public key:  {public.base64}")
        print(f"fingerprint: {public.fingerprint}")
        print("algorithm:   ECDSA P-384 with SHA-256 (as ArchiveWeb.page signs)")
        print(f"created:     {public.to_dict()['created']}")
        for old in retired:
            period = f"{old.to_dict()['created']} to {old.to_dict()['retired']}"
            print(f"retired:     {old.fingerprint} (signed from {period})")
        if settings.signing_url:
            print(
                f"note: DECLUTTER_SIGNING_URL is set, so exports are signed by {settings.signing_url}"
                " with its domain certificate, not with this key"
            )
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from crawler.research.signing import rotate_key

    new, old = rotate_key(config.load().data_dir)
    print(f"retired {old.fingerprint} (still listed: files it signed stay verifiable)")
    print(f"signing with {new.fingerprint}; publish it where readers check your keys")
    return 0
