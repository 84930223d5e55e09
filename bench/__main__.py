"""Run the benchmarks: every ``bench/<topic>.py`` with a ``main()``, in name order.

``python -m bench`` runs them all and goes on when one fails; ``python -m bench TOPIC...`` runs
only the named ones; ``python -m bench TOPIC --option ...`` passes the options to that topic. Each prints its own tables; the exit status says whether any failed.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import re
import sys
import time
import traceback
from pathlib import Path

PACKAGE = "bench"
_MAIN = re.compile(r"^(?:async )?def main\(", re.M)


def discover() -> list[str]:
    """Names of bench modules that define ``main``; helpers such as ``metrics`` are skipped."""
    here = Path(__file__).resolve().parent
    names = []
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        source = (here / f"{info.name}.py").read_text("utf-8", errors="replace")
        if _MAIN.search(source):
            names.append(info.name)
    return names


def run(names: list[str], options: list[str] | None = None) -> int:
    """Run each topic's ``main``; ``options`` (one topic only) are passed to it as its argv."""
    failed: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"{PACKAGE}.{name}")
        except Exception:
            print(f"\n## bench.{name}: cannot import\n", flush=True)
            traceback.print_exc()
            failed.append(name)
            continue
        main = getattr(module, "main", None)
        if not callable(main):
            continue
        print(f"\n## bench.{name}\n", flush=True)
        started = time.perf_counter()
        try:
            result = main(options) if options else main()
            if inspect.isawaitable(result):
                asyncio.run(result)
        except (Exception, SystemExit) as exc:
            if isinstance(exc, SystemExit) and not exc.code:
                pass
            else:
                traceback.print_exc()
                failed.append(name)
        print(f"\n(bench.{name}: {time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    available = discover()
    if any(a in ("-h", "--help") for a in args):
        print(f"usage: python -m bench [TOPIC...]\ntopics: {', '.join(available)}")
        return 0
    flags = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    args, options = args[:flags], args[flags:]
    if options and len(args) != 1:
        print("options (--...) go after exactly one topic: python -m bench TOPIC --option", file=sys.stderr)
        return 2
    unknown = [a for a in args if a not in available]
    if unknown:
        print(f"unknown bench topic(s): {', '.join(unknown)}; have: {', '.join(available)}",
              file=sys.stderr)
        return 2
    return run(args or available, options)


if __name__ == "__main__":
    sys.exit(main())
