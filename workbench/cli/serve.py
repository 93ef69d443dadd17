"""CLI: ``workbench serve``: the web app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the workbench as a web app (127.0.0.1 by default)",
        description="Serve the workbench for PROJECT in the browser. Binds 127.0.0.1; any other address "
        "needs a password (--password-file, or WORKBENCH_BASIC_AUTH) or OAuth.",
    )
    p.add_argument("project", help="the project file (.story)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006; 0 picks a free one)")
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--password-file",
        default=None,
        metavar="FILE",
        help="a file holding the password (first line), or a JSON object of user: password; "
        "also read from WORKBENCH_PASSWORD_FILE",
    )
    p.add_argument(
        "--basic-auth",
        default=None,
        metavar="PASSWORD_OR_FILE",
        help="a password file, or the password itself (then visible to every user of this machine "
        "in the process list: prefer --password-file or WORKBENCH_BASIC_AUTH)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="NAME",
        help="another name the server is reached by (NAME, NAME:PORT or a URL, e.g. a proxy's); "
        "pages and WebSocket connections from other names are refused. Repeatable.",
    )
    p.add_argument(
        "--oauth-provider",
        default=None,
        help="a Panel OAuth provider (github, google, ...); key and secret from PANEL_OAUTH_KEY/SECRET",
    )
    p.add_argument(
        "--cookie-secret",
        default=None,
        help="the secret that signs cookies and session ids (default: WORKBENCH_SECRET_KEY, "
        "PANEL_COOKIE_SECRET or a random one per start)",
    )
    p.add_argument("--tls-cert", default=None, metavar="FILE", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="the certificate's private key")
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="trust X-Forwarded-* headers from a TLS proxy in front of the server (cookies become Secure)",
    )
    p.add_argument("--model", default="default", help="text model spec (default: the embedded small model)")
    p.add_argument("--image", default="sketch", help="image model spec (default: sketch)")
    p.add_argument("--voice", default="default", help="voice model spec")
    p.add_argument("--show", action="store_true", help="open a browser window")
    p.set_defaults(func=cmd_serve)


def _secret_on_command_line(value: str | None, what: str, instead: str) -> None:
    if value and not Path(value).expanduser().is_file():
        print(
            f"warning: {what} given on the command line is visible to every user of this machine "
            f"(ps, /proc); use {instead}",
            file=sys.stderr,
            flush=True,
        )


def cmd_serve(args: argparse.Namespace) -> int:
    from ..app.server import free_port, serve

    _secret_on_command_line(args.basic_auth, "a password", "--password-file FILE or WORKBENCH_BASIC_AUTH")
    _secret_on_command_line(args.cookie_secret, "the cookie secret", "WORKBENCH_SECRET_KEY")
    port = args.port or free_port(args.address if args.address not in ("0.0.0.0", "::") else "127.0.0.1")
    serve(
        args.project,
        port=port,
        address=args.address,
        basic_auth=args.basic_auth,
        password_file=args.password_file,
        allow_origin=args.allow_origin,
        oauth_provider=args.oauth_provider,
        cookie_secret=args.cookie_secret,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        behind_proxy=args.behind_proxy,
        text=args.model,
        image=args.image,
        voice=args.voice,
        show=args.show,
    )
    return 0
