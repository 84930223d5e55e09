"""`declutter serve` and `declutter token create`: running the server and letting clients write."""

from __future__ import annotations

import argparse
import logging

from crawler import config


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP server (API, Memento, web app)",
        description=(
            "Serve the JSON API under /api/v1, Memento at /timegate and /timemap, /healthz and "
            "/metrics. Starts even when storage or the catalogue is down; their endpoints "
            "answer 503 until they are back."
        ),
    )
    serve.add_argument("--host", help="address to listen on (default: DECLUTTER_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: DECLUTTER_PORT or 8080)")
    serve.set_defaults(func=run_serve)

    token = subparsers.add_parser("token", help="manage API tokens for write endpoints")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION")
    token_commands.required = True
    create = token_commands.add_parser(
        "create",
        help="create a token and print it (only its SHA-256 digest is stored)",
    )
    create.add_argument("--name", default="", help="a label to remember what the token is for")
    create.set_defaults(func=run_token_create)


def run_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app

    settings = config.load()
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    print(f"declutter: serving on http://{host}:{port}/ (API description: /api/v1/openapi.json)",
          flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
    return 0


def run_token_create(args: argparse.Namespace) -> int:
    from server.auth import TokenStore

    store = TokenStore.from_settings(config.load())
    token = store.create(args.name)
    print(token)
    return 0
