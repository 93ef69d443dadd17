"""The web app: ``Workbench`` served by Panel (Bokeh server), bound to 127.0.0.1 unless authenticated.

One ``Session`` is shared by every page of the server, so the model loads once and every
open tab re-renders when any of them changes the story. A reader-only player is served at
``/play``, the reader's player view (``workbench.widgets.player``).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError

if TYPE_CHECKING:
    from ..session import Session

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
AUTH_ENV = "WORKBENCH_BASIC_AUTH"


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


def build_app(session: Session) -> dict[str, Callable[[], Any]]:
    """The server's routes: ``/`` the workbench, ``/play`` the reader-only player (when present)."""
    from ..widgets import Workbench
    from ..widgets.player import player_view

    def workbench_page() -> Any:
        return Workbench(session)

    return {"/": workbench_page, "/play": lambda: player_view(session)}


def serve(
    project: str | os.PathLike[str],
    port: int = 5006,
    address: str = "127.0.0.1",
    *,
    basic_auth: str | None = None,
    oauth_provider: str | None = None,
    cookie_secret: str | None = None,
    text: str = "default",
    image: str = "sketch",
    voice: str = "default",
    show: bool = False,
    start: bool = True,
) -> Any:
    """Serve the workbench for ``project``; blocks until interrupted when ``start`` is true.

    A non-local ``address`` needs ``basic_auth`` (a password, or a JSON file of users and
    passwords; also read from ``WORKBENCH_BASIC_AUTH``) or an ``oauth_provider`` (configured
    through Panel's ``PANEL_OAUTH_*`` environment variables).
    """
    basic_auth = basic_auth or os.environ.get(AUTH_ENV) or None
    oauth_provider = oauth_provider or os.environ.get("PANEL_OAUTH_PROVIDER") or None
    if not is_local_address(address) and not (basic_auth or oauth_provider):
        raise AuthRequired(
            f"refusing to serve on {address}: anyone who can reach it could read and change the story. "
            f"Set a password with --basic-auth PASSWORD (or {AUTH_ENV}=...), configure OAuth with "
            "--oauth-provider and PANEL_OAUTH_KEY/PANEL_OAUTH_SECRET, or serve on 127.0.0.1 (the default)."
        )
    from ..session import Session
    from ..story.project import open_project

    proj = open_project(Path(project), create=False)
    session = Session(proj, text=text, image=image, voice=voice)
    routes = build_app(session)

    import panel as pn

    pn.extension(inline=True, notifications=False)
    origins = [f"{h}:{port}" for h in ("localhost", "127.0.0.1", address)]
    if not is_local_address(address):
        origins.append("*")  # authenticated: any host name that reaches this address
    kwargs: dict[str, Any] = {}
    if basic_auth or oauth_provider:
        kwargs["cookie_secret"] = (
            cookie_secret or os.environ.get("PANEL_COOKIE_SECRET") or secrets.token_hex(32)
        )
        if basic_auth:
            kwargs["basic_auth"] = basic_auth
        if oauth_provider:
            kwargs["oauth_provider"] = oauth_provider
    server = pn.serve(
        routes,
        port=port,
        address=address,
        websocket_origin=origins,
        show=show,
        start=False,
        title=f"Story Workbench · {proj.title or proj.file.stem}",
        **kwargs,
    )
    url = f"http://{address if ':' not in address else f'[{address}]'}:{server.port}/"
    print(
        f"Serving {proj.title or proj.file.name} at {url}"
        + (" (reader view at /play)" if "/play" in routes else ""),
        flush=True,
    )
    if not start:
        return server
    try:
        server.start()
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        proj.close()
        print("stopped; the project file is saved", file=sys.stderr, flush=True)
    return server
