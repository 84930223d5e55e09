"""`declutter`, the one command line tool: wires each stage's subcommands into argparse.

May import every stage of ``crawler``; never ``server``. Commands are found through the
``declutter.commands`` entry-point group (as Scrapy finds ``scrapy.commands``), so the server's
``serve`` and ``token`` plug in from above without the core importing it. Each entry names a module
with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from importlib.metadata import entry_points

from crawler.errors import DeclutterError

COMMAND_GROUP = "declutter.commands"


def command_modules() -> list[str]:
    """The registered command modules, in their declared order."""
    return [entry.value for entry in entry_points(group=COMMAND_GROUP)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="declutter",
        description="Read and keep news articles: extract, capture, crawl, serve and export.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    modules = command_modules()
    if not modules:
        parser.error("no commands are registered: reinstall Declutter (`make venv`)")
    for name in modules:
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


if __name__ == "__main__":
    sys.exit(main())
