"""What keeps an exposed ``workbench serve`` safe: who may connect, who is signed in, and from where.

Panel's own ``--basic-auth`` (``panel.auth.BasicAuthProvider``) compares passwords with ``==``,
never slows a guesser down, sets cookies without ``SameSite``, loads its login page's icon from a
CDN, and ``pn.serve`` with authentication allowed WebSocket connections from any origin while
Bokeh's session ids were unsigned: a page on another port of the same host could open a session
once the user had signed in. :class:`WorkbenchAuth` is a Bokeh ``AuthProvider`` of our own that

* checks the ``Host`` header of every page and WebSocket request against the names the server
  is reached by (a DNS-rebinding page gets ``400``);
* checks passwords in constant time (:func:`hmac.compare_digest`), for unknown users too;
* throttles failed sign-ins per client address and per user name (:class:`LoginThrottle`);
* sets its cookies ``HttpOnly`` and ``SameSite=Strict``, and ``Secure`` when served over TLS;
* serves its own offline sign-in page.

The WebSocket origins (:func:`allowed_hosts`) and signed session ids are set where the server is
made (:mod:`workbench.app.server`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import InvalidInput, WorkbenchError
from ..render import esc

__all__ = [
    "AUTH_ENV",
    "PASSWORD_FILE_ENV",
    "SECRET_ENV",
    "Credentials",
    "LoginThrottle",
    "WorkbenchAuth",
    "allowed_hosts",
    "derive_secret",
    "load_credentials",
    "signed_in_user",
]

AUTH_ENV = "WORKBENCH_BASIC_AUTH"  # a password, or the path of a password file
PASSWORD_FILE_ENV = "WORKBENCH_PASSWORD_FILE"
SECRET_ENV = "WORKBENCH_SECRET_KEY"
USER_COOKIE = "user"  # the name Panel reads in ``pn.state.user``
COOKIE_DAYS = 1
MAX_USER_NAME = 64
_USER_NAME = re.compile(r"[^\x00-\x1f\x7f<>&\"']{1,64}")
LOCAL_USER = "local"  # the one "user" of a server without sign-in (only reachable from this machine)


class AuthSetupError(WorkbenchError, ValueError):
    """The password settings of ``workbench serve`` cannot be used."""


# --------------------------------------------------------------------------- passwords
@dataclass(frozen=True)
class Credentials:
    """One shared password (any user name may sign in with it) or a password per user."""

    password: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def check(self, user: str, password: str) -> bool:
        """True when ``password`` is right for ``user``; the time taken never tells which part was wrong."""
        given = password.encode("utf-8", "surrogatepass")
        if self.users:
            known = self.users.get(user)
            expected = (known if known is not None else _DUMMY).encode("utf-8", "surrogatepass")
            ok = hmac.compare_digest(given, expected)
            return ok and known is not None
        expected = (self.password or _DUMMY).encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, expected) and self.password is not None


_DUMMY = "\x00never-a-password\x00" + os.urandom(16).hex()


def _read_password_file(path: Path) -> Credentials:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuthSetupError(f"cannot read the password file {path}: {exc.strerror or exc}") from None
    text = raw.strip()
    if text.startswith("{"):
        try:
            users = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AuthSetupError(f"the password file {path} is not valid JSON: {exc}") from None
        if not isinstance(users, dict) or not users:
            raise AuthSetupError(f"the password file {path} must map user names to passwords")
        for name, pw in users.items():
            if not isinstance(pw, str) or not pw:
                raise AuthSetupError(f"the password of {name!r} in {path} must be non-empty text")
            if not _USER_NAME.fullmatch(name):
                raise AuthSetupError(
                    f"the user name {name!r} in {path} is not allowed (1-64 plain characters)"
                )
        return Credentials(users=dict(users), source=str(path))
    line = text.splitlines()[0].strip() if text else ""
    if not line:
        raise AuthSetupError(f"the password file {path} is empty")
    return Credentials(password=line, source=str(path))


def load_credentials(
    basic_auth: str | None = None, password_file: str | os.PathLike[str] | None = None
) -> tuple[Credentials | None, list[str]]:
    """Credentials from a password file, ``WORKBENCH_PASSWORD_FILE``, ``WORKBENCH_BASIC_AUTH`` (a
    password or a file) or ``basic_auth`` (a password or a file), in that order; and warnings.

    A password file holds one password on its first line, or a JSON object of user names and
    passwords.
    """
    warnings: list[str] = []
    if password_file:
        return _read_password_file(Path(password_file).expanduser()), warnings
    env_file = os.environ.get(PASSWORD_FILE_ENV, "").strip()
    if env_file:
        return _read_password_file(Path(env_file).expanduser()), warnings
    value = os.environ.get(AUTH_ENV, "") or basic_auth or ""
    if not value:
        return None, warnings
    candidate = Path(value).expanduser()
    with contextlib.suppress(OSError, ValueError):
        if len(value) < 4096 and candidate.is_file():
            return _read_password_file(candidate), warnings
    if len(value) < 8:
        warnings.append(
            "the password is shorter than 8 characters: anyone who can reach the server may guess it"
        )
    return Credentials(
        password=value, source="environment" if os.environ.get(AUTH_ENV) else "argument"
    ), warnings


def derive_secret(secret: str, purpose: str) -> bytes:
    """A key for one purpose (cookies, Bokeh session ids) from the server's one secret."""
    return hmac.new(secret.encode("utf-8"), purpose.encode(), hashlib.sha256).hexdigest().encode()


# --------------------------------------------------------------------------- throttling
class LoginThrottle:
    """Slows password guessing: after ``free`` failures for a client address or a user name, each
    further try must wait ``base`` seconds, doubling with every failure up to ``cap``."""

    def __init__(
        self,
        free: int = 5,
        base: float = 1.0,
        cap: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.free, self.base, self.cap, self.clock, self.max_keys = free, base, cap, clock, max_keys
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (failures, blocked until)
        self._lock = threading.Lock()

    @staticmethod
    def keys(address: str, user: str) -> list[str]:
        return [f"ip:{address}", f"user:{user.casefold()}"]

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds before another try is allowed (0 when it is allowed now)."""
        now = self.clock()
        with self._lock:
            return max([0.0, *[self._state.get(k, (0, 0.0))[1] - now for k in keys]])

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for k in keys:
                n = self._state.pop(k, (0, 0.0))[0] + 1
                delay = 0.0 if n <= self.free else min(self.cap, self.base * 2 ** (n - self.free - 1))
                self._state[k] = (n, now + delay)
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for k in keys:
                self._state.pop(k, None)


# --------------------------------------------------------------------------- hosts and origins
def _with_port(host: str, port: int) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1] or [::1]:5006
        return host if "]:" in host else f"{host}:{port}"
    if host.count(":") > 1:  # a bare IPv6 address
        return f"[{host}]:{port}"
    return host if ":" in host else f"{host}:{port}"


def allowed_hosts(address: str, port: int, extra: Iterable[str] = ()) -> list[str]:
    """``host:port`` names the server answers to and accepts WebSocket origins from: the address it
    serves (with the loopback names when local, this machine's names when it binds every address)
    and the names the user lists (``--allow-origin``, as ``name``, ``name:port`` or a URL)."""
    from .server import is_local_address

    names: set[str] = set()
    bare = address.strip().strip("[]")
    if is_local_address(address):
        names |= {"localhost", "127.0.0.1", "[::1]"}
    if bare in ("0.0.0.0", "::", ""):
        names |= {"localhost", "127.0.0.1", "[::1]"}
        with contextlib.suppress(OSError):
            names |= {socket.gethostname(), socket.getfqdn()}
            for info in socket.getaddrinfo(socket.gethostname(), None):
                names.add(str(info[4][0]))
    else:
        names.add(bare)
    out = {_with_port(n if ":" not in n or n.startswith("[") else f"[{n}]", port) for n in names if n}
    for item in extra:
        item = item.strip()
        if not item:
            continue
        if "://" in item:
            parts = urlsplit(item)
            if not parts.hostname:
                raise InvalidInput(f"--allow-origin {item!r} names no host")
            default = 443 if parts.scheme == "https" else 80
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            out.add(f"{host}:{parts.port or default}".lower())
        elif "/" in item or " " in item:
            raise InvalidInput(f"--allow-origin {item!r} is not a host name (give NAME, NAME:PORT or a URL)")
        else:
            out.add(_with_port(item, port))
    return sorted(out)


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether a request's ``Host`` (or an ``Origin``'s host) is one of ``allowed`` (Bokeh's own rules)."""
    from bokeh.server.util import check_allowlist

    return bool(host) and check_allowlist(host.strip().lower(), list(allowed))


# --------------------------------------------------------------------------- the signed-in user
def signed_in_user(cookie_secret: str | bytes | None = None) -> str | None:
    """The user signed in to the current page (from its signed cookie), or None."""
    import panel as pn
    from tornado.web import decode_signed_value

    secret = cookie_secret if cookie_secret is not None else pn.config.cookie_secret
    raw = (pn.state.cookies or {}).get(USER_COOKIE)
    if not raw or not secret:
        return None
    value = decode_signed_value(secret, USER_COOKIE, raw, max_age_days=COOKIE_DAYS)
    return value.decode("utf-8", "replace") if value else None


LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Story Workbench · sign in</title>
<style>
body {{ margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  background: #f5f3ef; font: 15px system-ui, -apple-system, "Segoe UI", sans-serif; color: #1c1917; }}
form {{ background: #fff; border: 1px solid #e7e0d6; border-radius: 10px; padding: 28px 32px; width: 320px; }}
h1 {{ font-size: 18px; margin: 0 0 16px; }}
label {{ display: block; font-size: 13px; color: #57534e; margin: 10px 0 4px; }}
input {{ width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #d6d3d1; border-radius: 6px; font: inherit; }}
button {{ margin-top: 18px; width: 100%; padding: 9px; border: 0; border-radius: 6px; background: #9a3412;
  color: #fff; font: inherit; cursor: pointer; }}
.error {{ color: #991b1b; background: #fee2e2; border-radius: 6px; padding: 8px; margin: 0 0 10px; font-size: 13px; }}
</style></head><body>
<form method="post" action="{action}"><h1>Story Workbench</h1>{error}
<label for="username">Name</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>
"""


def _safe_next(value: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class WorkbenchAuth:
    """Builds the Bokeh ``AuthProvider`` of an exposed server (see the module notes)."""

    def __init__(
        self,
        credentials: Credentials | None,
        hosts: Iterable[str],
        throttle: LoginThrottle | None = None,
        secure_cookies: bool = False,
    ) -> None:
        self.credentials = credentials
        self.hosts = list(hosts)
        self.throttle = throttle or LoginThrottle()
        self.secure_cookies = secure_cookies

    def provider(self) -> Any:
        from bokeh.server.auth_provider import AuthProvider
        from tornado.web import HTTPError, RequestHandler

        auth = self

        def check_host(handler: RequestHandler) -> None:
            if not host_allowed(handler.request.host, auth.hosts):
                raise HTTPError(400, reason="Host not allowed")

        class CookieFlags(RequestHandler):
            def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
                kwargs.setdefault("httponly", True)
                kwargs["samesite"] = "Strict"
                if auth.secure_cookies or self.request.protocol == "https":
                    kwargs["secure"] = True
                super().set_cookie(name, value, *args, **kwargs)

        class LoginHandler(CookieFlags):
            def prepare(self) -> None:
                check_host(self)

            def page(self, error: str = "", status: int = 200) -> None:
                self.set_status(status)
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.set_header("Cache-Control", "no-store")
                self.set_header("X-Frame-Options", "DENY")
                action = "/login?next=" + quote(_safe_next(self.get_argument("next", "/")), safe="/")
                note = f"<p class='error' role='alert'>{esc(error)}</p>" if error else ""
                self.finish(LOGIN_PAGE.format(action=esc(action), error=note))

            def get(self) -> None:
                if auth.credentials is None:
                    self.redirect(_safe_next(self.get_argument("next", "/")))
                    return
                self.page()

            def post(self) -> None:
                if auth.credentials is None:
                    raise HTTPError(404)
                user = self.get_argument("username", "").strip()
                password = self.get_argument("password", "")
                keys = auth.throttle.keys(self.request.remote_ip or "?", user)
                wait = auth.throttle.wait(keys)
                if wait > 0:
                    self.set_header("Retry-After", str(int(wait) + 1))
                    self.page(f"Too many failed sign-ins: try again in {int(wait) + 1} s.", status=429)
                    return
                if not _USER_NAME.fullmatch(user) or not auth.credentials.check(user, password):
                    auth.throttle.failed(keys)
                    self.page("Wrong name or password.", status=401)
                    return
                auth.throttle.succeeded(keys)
                self.set_secure_cookie(USER_COOKIE, user, expires_days=COOKIE_DAYS, path="/")
                self.redirect(_safe_next(self.get_argument("next", "/")))

        class LogoutHandler(CookieFlags):
            def prepare(self) -> None:
                check_host(self)

            def get(self) -> None:
                self.clear_cookie(USER_COOKIE, path="/")
                self.redirect("/login")

        class Provider(AuthProvider):
            @property
            def get_user(self) -> Callable[[Any], Any]:
                def get_user(handler: Any) -> str | None:
                    check_host(handler)
                    if auth.credentials is None:
                        return LOCAL_USER
                    value = handler.get_secure_cookie(USER_COOKIE, max_age_days=COOKIE_DAYS)
                    return value.decode("utf-8", "replace") if value else None

                return get_user

            @property
            def login_url(self) -> str:
                return "/login"

            @property
            def login_handler(self) -> type[RequestHandler]:
                return LoginHandler

            @property
            def logout_url(self) -> str:
                return "/logout"

            @property
            def logout_handler(self) -> type[RequestHandler]:
                return LogoutHandler

        return Provider()
