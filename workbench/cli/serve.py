"""CLI: ``workbench serve``: the web app."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the workbench as a web app (127.0.0.1 by default)",
        description="Serve the workbench for PROJECT in the browser. Binds 127.0.0.1; "
        "any other address needs --basic-auth or OAuth.",
    )
    p.add_argument("project", help="the project file (.story)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--basic-auth",
        default=None,
        metavar="PASSWORD_OR_FILE",
        help="password (or a JSON file of user: password) required to open the app; "
        "also read from WORKBENCH_BASIC_AUTH",
    )
    p.add_argument(
        "--oauth-provider",
        default=None,
        help="a Panel OAuth provider (github, google, ...); key and secret from PANEL_OAUTH_KEY/SECRET",
    )
    p.add_argument(
        "--cookie-secret",
        default=None,
        help="secret for auth cookies (default: PANEL_COOKIE_SECRET or random)",
    )
    p.add_argument("--model", default="default", help="text model spec (default: the embedded small model)")
    p.add_argument("--image", default="sketch", help="image model spec (default: sketch)")
    p.add_argument("--voice", default="default", help="voice model spec")
    p.add_argument("--show", action="store_true", help="open a browser window")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..app.server import free_port, serve

    port = args.port or free_port(args.address)
    serve(
        args.project,
        port=port,
        address=args.address,
        basic_auth=args.basic_auth,
        oauth_provider=args.oauth_provider,
        cookie_secret=args.cookie_secret,
        text=args.model,
        image=args.image,
        voice=args.voice,
        show=args.show,
    )
    return 0
