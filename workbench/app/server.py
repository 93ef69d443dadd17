"""The web app: ``Workbench`` served by Panel (Bokeh server), bound to 127.0.0.1 unless authenticated.

One ``Session`` is shared by every page of the server, so the model loads once and every
open tab re-renders when any of them changes the story. Each page knows its signed-in writer:
their ratings are logged under their name and their Undo undoes their own last change. A
reader-only player is served at ``/play``, the reader's player view (``workbench.widgets.player``).

Exposure rules (see :mod:`workbench.app.security`): every page and WebSocket request must name
this server in its ``Host`` header, WebSocket origins are limited to the address served plus the
names given with ``allow_origin``, Bokeh session ids are signed with a secret key, and sign-in
is checked in constant time and throttled. SIGTERM (and Ctrl-C) close the project cleanly: the
write-ahead log is checkpointed into the file.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError
from .security import (
    AUTH_ENV,
    SECRET_ENV,
    WorkbenchAuth,
    allowed_hosts,
    derive_secret,
    load_credentials,
    signed_in_user,
)

if TYPE_CHECKING:
    from ..session import Session

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

__all__ = ["AUTH_ENV", "AuthRequired", "build_app", "free_port", "is_local_address", "serve"]


class AuthRequired(WorkbenchError):
    """A non-local address was asked for without authentication."""


def is_local_address(address: str) -> bool:
    """True for loopback addresses and names (127.0.0.0/8, ::1, localhost)."""
    host = address.strip().strip("[]")
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def build_app(
    session: Session, user: Callable[[], str | None] = signed_in_user
) -> dict[str, Callable[[], Any]]:
    """The server's routes: ``/`` the workbench, ``/play`` the reader-only player.

    ``user()`` names the writer signed in to the page being built (their feedback and undo
    steps carry the name); None without sign-in.
    """
    from ..widgets import Workbench
    from ..widgets.player import player_view

    def workbench_page() -> Any:
        return Workbench(session, user=user() or "")

    def player_page() -> Any:
        return player_view(session, user=user() or "")

    return {"/": workbench_page, "/play": player_page}


def serve(
    project: str | os.PathLike[str],
    port: int = 5006,
    address: str = "127.0.0.1",
    *,
    basic_auth: str | None = None,
    password_file: str | os.PathLike[str] | None = None,
    oauth_provider: str | None = None,
    cookie_secret: str | None = None,
    allow_origin: Iterable[str] = (),
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
    behind_proxy: bool = False,
    text: str = "default",
    image: str = "sketch",
    voice: str = "default",
    show: bool = False,
    start: bool = True,
) -> Any:
    """Serve the workbench for ``project``; blocks until interrupted (Ctrl-C, SIGTERM) when ``start`` is true.

    A non-local ``address`` needs a password (``password_file``: one password, or a JSON object of
    users and passwords; ``WORKBENCH_PASSWORD_FILE``; ``WORKBENCH_BASIC_AUTH``; or ``basic_auth``)
    or an ``oauth_provider`` (configured through Panel's ``PANEL_OAUTH_*`` environment variables).
    ``allow_origin`` lists more names the server is reached by (a proxy's, a DNS name).
    ``tls_cert``/``tls_key`` serve HTTPS; ``behind_proxy`` trusts a TLS proxy's ``X-Forwarded-*``
    headers. Cookies are ``Secure`` behind TLS. The secret that signs cookies and session ids comes
    from ``cookie_secret``, ``WORKBENCH_SECRET_KEY``, ``PANEL_COOKIE_SECRET`` or a fresh random one.
    """
    credentials, warnings = load_credentials(basic_auth, password_file)
    oauth_provider = oauth_provider or os.environ.get("PANEL_OAUTH_PROVIDER") or None
    if not is_local_address(address) and not (credentials or oauth_provider):
        raise AuthRequired(
            f"refusing to serve on {address}: anyone who can reach it could read and change the story. "
            "Set a password with --password-file FILE (or the environment variable "
            f"{AUTH_ENV}; --basic-auth PASSWORD works too but shows it to every user of this machine), "
            "configure OAuth with --oauth-provider and PANEL_OAUTH_KEY/PANEL_OAUTH_SECRET, or serve on "
            "127.0.0.1 (the default)."
        )
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr, flush=True)
    from ..session import Session
    from ..story.project import open_project

    proj = open_project(Path(project), create=False)
    session = Session(proj, text=text, image=image, voice=voice)
    routes = build_app(session)

    import panel as pn

    pn.extension(inline=True, notifications=False)
    port = port or free_port(address if address not in ("0.0.0.0", "::") else "127.0.0.1")
    hosts = allowed_hosts(address, port, allow_origin)
    secret = (
        cookie_secret
        or os.environ.get(SECRET_ENV)
        or os.environ.get("PANEL_COOKIE_SECRET")
        or secrets.token_urlsafe(48)
    )
    secure = bool(tls_cert)
    kwargs: dict[str, Any] = {
        "cookie_secret": derive_secret(secret, "cookies").decode(),
        # Bokeh session ids signed with a key of ours: a page elsewhere cannot make one up
        "sign_sessions": True,
        "secret_key": derive_secret(secret, "bokeh session ids"),
        "generate_session_ids": True,
    }
    if oauth_provider and not credentials:
        kwargs["oauth_provider"] = oauth_provider
    else:
        kwargs["auth_provider"] = WorkbenchAuth(credentials, hosts, secure_cookies=secure).provider()
    if tls_cert:
        kwargs["ssl_certfile"] = str(tls_cert)
        kwargs["ssl_keyfile"] = str(tls_key) if tls_key else None
    if behind_proxy:
        kwargs["use_xheaders"] = True
    server = pn.serve(
        routes,
        port=port,
        address=address,
        websocket_origin=[h for h in hosts if not h.startswith("[")],  # Bokeh takes no IPv6 literals
        show=show,
        start=False,
        title=f"Story Workbench · {proj.title or proj.file.stem}",
        **kwargs,
    )
    scheme = "https" if tls_cert else "http"
    url = f"{scheme}://{address if ':' not in address else f'[{address}]'}:{server.port}/"
    print(
        f"Serving {proj.title or proj.file.name} at {url}"
        + (" (reader view at /play)" if "/play" in routes else ""),
        flush=True,
    )
    if not start:
        return server
    _stop_on_sigterm(server)
    try:
        server.start()
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            server.stop()
        except Exception:  # already stopped, or half started
            pass
        proj.close()  # checkpoints the write-ahead log: the file is complete on its own
        print("stopped; the project file is saved", file=sys.stderr, flush=True)
    return server


def _stop_on_sigterm(server: Any) -> None:
    """SIGTERM (a service manager, ``kill``) stops the server like Ctrl-C, so the project closes cleanly."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(_signum: int, _frame: Any) -> None:
        server.io_loop.asyncio_loop.call_soon_threadsafe(server.io_loop.stop)

    signal.signal(signal.SIGTERM, stop)
