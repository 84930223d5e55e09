"""`declutter`: the one command line tool.

Each subcommand lives beside the code it drives; this module only wires them into argparse. A
module adds its commands with a ``register(subparsers)`` function listed in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "crawler.extract_cli",
    "crawler.crawl_cli",
    "crawler.research_cli",
    "server.cli",
    "crawler.storage_cli",
    "crawler.worker_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="declutter",
        description="Read and keep news articles: extract, capture, crawl, serve and export.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except DeclutterError as exc:
        print(f"declutter: {exc}", file=sys.stderr)
        return 1


class DeclutterError(Exception):
    """An error a user can act on; the CLI prints its message without a traceback."""


if __name__ == "__main__":
    sys.exit(main())
