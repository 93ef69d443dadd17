"""`workbench serve` as someone else's browser or a guesser meets it: Host and Origin checks, signed
session ids, throttled sign-in, cookie flags, and a clean close on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

USERS = {"alice": "a-pass-12345", "bob": "b-pass-12345"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    from workbench.story.sample import build_sample

    project = tmp / "sample.story"
    if not project.exists():
        build_sample(project).close()
    port = _free_port()
    log = tmp / f"serve-{port}.log"
    env = {
        **os.environ,
        "WORKBENCH_HOME": str(tmp / "home"),
        "WORKBENCH_BASIC_AUTH": "",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "workbench.cli", "serve", str(project), "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(base + "/login", timeout=5).status_code in (200, 302):
                return proc, base, project
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return -9


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("exposed")
    users = tmp / "users.json"
    users.write_text(json.dumps(USERS))
    proc, base, project = _start(tmp, "--password-file", str(users))
    try:
        yield {"base": base, "port": int(base.rsplit(":", 1)[1]), "project": project}
    finally:
        _stop(proc)


def _login(base: str, user: str = "alice") -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    r = client.post("/login?next=/", data={"username": user, "password": USERS[user]})
    assert r.status_code == 302 and r.headers["location"] == "/", r.text
    return client


def _token(client: httpx.Client) -> str:
    r = client.get("/")
    assert r.status_code == 200
    m = re.search(r'"token":\s*"([^"]+)"', r.text)
    assert m, "no session token in the page"
    return m.group(1)


async def _ws(port: int, origin: str, cookie: str, token: str) -> str | None:
    """The first message the server sends on /ws, None when it closes the connection; raises on refusal."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    req = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Origin": origin, "Cookie": cookie})
    conn = await websocket_connect(req, subprotocols=["bokeh", token])
    try:
        msg = await asyncio.wait_for(conn.read_message(), 20)
        return msg if isinstance(msg, str) else None
    finally:
        conn.close()


def _cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def test_pages_for_another_host_name_are_refused(server: dict[str, Any]) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused before any story is sent."""
    for path in ("/", "/login", "/play"):
        r = httpx.get(server["base"] + path, headers={"Host": f"evil.example:{server['port']}"})
        assert r.status_code == 400, path
    assert httpx.get(server["base"] + "/login").status_code == 200


def test_cookies_are_httponly_and_samesite_strict(server: dict[str, Any]) -> None:
    client = httpx.Client(base_url=server["base"], follow_redirects=False)
    r = client.post("/login", data={"username": "bob", "password": USERS["bob"]})
    assert r.status_code == 302
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("user="))
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=strict" in flags
    assert "secure" not in flags  # plain http on 127.0.0.1: a Secure cookie would never come back


def test_the_sign_in_page_is_offline_and_escapes_what_it_shows(server: dict[str, Any]) -> None:
    r = httpx.get(server["base"] + '/login?next="><script>alert(1)</script>')
    assert r.status_code == 200
    assert "<script" not in r.text and "http://" not in r.text and "https://" not in r.text


def test_websocket_origins_are_the_served_address_only(server: dict[str, Any]) -> None:
    """Before: origins were "*", so a page on another port of this host pulled the whole story."""
    from tornado.httpclient import HTTPClientError

    client = _login(server["base"])
    cookie, port = _cookie_header(client), server["port"]
    first = asyncio.run(_ws(port, f"http://127.0.0.1:{port}", cookie, _token(client)))
    assert first is not None and '"msgtype": "ACK"' in first.replace('"msgtype":"ACK"', '"msgtype": "ACK"')
    for origin in (f"http://127.0.0.1:{port + 1}", "http://evil.example", f"http://localhost:{port + 7}"):
        with pytest.raises(HTTPClientError) as err:
            asyncio.run(_ws(port, origin, cookie, _token(client)))
        assert err.value.code == 403, origin


def test_session_ids_are_signed(server: dict[str, Any]) -> None:
    """A session id made up by another page (unsigned) is refused, even with the user's cookie."""
    from bokeh.util.token import generate_jwt_token, generate_session_id

    client = _login(server["base"])
    forged = generate_jwt_token(generate_session_id(signed=False), signed=False)
    port = server["port"]
    answer = asyncio.run(_ws(port, f"http://127.0.0.1:{port}", _cookie_header(client), forged))
    assert answer is None  # the server closed the connection without a word
    ok = asyncio.run(_ws(port, f"http://127.0.0.1:{port}", _cookie_header(client), _token(client)))
    assert ok is not None


def test_failed_sign_ins_are_throttled(tmp_path: Path) -> None:
    """Before: 300 wrong passwords in 3.6 s, none refused."""
    users = tmp_path / "users.json"
    users.write_text(json.dumps(USERS))
    proc, base, _ = _start(tmp_path, "--password-file", str(users))
    try:
        client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        codes = [
            client.post("/login", data={"username": "alice", "password": f"guess-{i}"}).status_code
            for i in range(40)
        ]
        assert codes[:5] == [401] * 5
        assert codes.count(429) >= 30, codes
        r = client.post("/login", data={"username": "alice", "password": USERS["alice"]})
        assert r.status_code == 429 and "try again in" in r.text  # the right password waits too
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        _stop(proc)


def test_sigterm_closes_the_project_cleanly(tmp_path: Path) -> None:
    """Before: SIGTERM killed the server with the write-ahead log left beside the file."""
    proc, base, project = _start(tmp_path)
    assert httpx.get(base + "/").status_code == 200  # a page was built: the project is open
    wal = project.with_name(project.name + "-wal")
    assert wal.exists()
    assert _stop(proc) == 0
    assert not wal.exists() and not project.with_name(project.name + "-shm").exists()
    from workbench import open_project

    p = open_project(project, create=False)
    assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    p.close()
