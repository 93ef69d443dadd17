"""The exposed server's parts without a server: passwords, throttling, the names it answers to."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from workbench.app.security import (
    AuthSetupError,
    Credentials,
    LoginThrottle,
    allowed_hosts,
    host_allowed,
    load_credentials,
)
from workbench.errors import InvalidInput


def test_passwords_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: (calls.append((a, b)), real(a, b))[1])
    shared = Credentials(password="harbour-lights")
    assert shared.check("anyone", "harbour-lights") and not shared.check("anyone", "harbour-light")
    team = Credentials(users={"alice": "a-pass-1", "bob": "b-pass-2"})
    assert team.check("alice", "a-pass-1") and not team.check("alice", "b-pass-2")
    assert not team.check("mallory", "a-pass-1")  # an unknown user is compared too (no early return)
    assert len(calls) == 5


def test_passwords_come_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKBENCH_BASIC_AUTH", raising=False)
    monkeypatch.delenv("WORKBENCH_PASSWORD_FILE", raising=False)
    one = tmp_path / "pw"
    one.write_text("lantern-keeper-7\n")
    creds, warnings = load_credentials(password_file=one)
    assert creds is not None and creds.password == "lantern-keeper-7" and warnings == []
    team = tmp_path / "users.json"
    team.write_text(json.dumps({"alice": "a-pass-1", "bob": "b-pass-2"}))
    monkeypatch.setenv("WORKBENCH_PASSWORD_FILE", str(team))
    creds, _ = load_credentials()
    assert creds is not None and set(creds.users) == {"alice", "bob"}
    monkeypatch.delenv("WORKBENCH_PASSWORD_FILE")
    monkeypatch.setenv("WORKBENCH_BASIC_AUTH", "from-the-environment")
    creds, _ = load_credentials(basic_auth="from-the-command-line")
    assert creds is not None and creds.password == "from-the-environment"
    monkeypatch.delenv("WORKBENCH_BASIC_AUTH")
    creds, warnings = load_credentials(basic_auth="short")
    assert creds is not None and warnings and "shorter than 8" in warnings[0]
    assert load_credentials() == (None, [])
    bad = tmp_path / "bad.json"
    bad.write_text('{"alice": ""}')
    with pytest.raises(AuthSetupError, match="non-empty"):
        load_credentials(password_file=bad)
    with pytest.raises(AuthSetupError, match="cannot read"):
        load_credentials(password_file=tmp_path / "missing")


def test_login_throttle_doubles_the_wait_after_the_free_tries() -> None:
    now = [0.0]
    t = LoginThrottle(free=3, base=1.0, cap=8.0, clock=lambda: now[0])
    keys = t.keys("10.0.0.7", "Alice")
    for _ in range(3):
        assert t.wait(keys) == 0
        t.failed(keys)
    assert t.wait(keys) == 0  # three free failures
    t.failed(keys)
    assert t.wait(keys) == 1.0
    now[0] = 1.0
    t.failed(keys)
    assert t.wait(keys) == 2.0
    for _ in range(10):
        t.failed(keys)
    assert t.wait(keys) == 8.0  # capped
    assert t.wait(t.keys("10.0.0.7", "bob")) == 8.0  # the address is throttled for every name
    assert t.wait(t.keys("10.0.0.8", "ALICE")) == 8.0  # and the name from every address
    t.succeeded(keys)
    assert t.wait(keys) == 0


def test_allowed_hosts_are_the_served_address_and_the_listed_names() -> None:
    local = allowed_hosts("127.0.0.1", 5006)
    assert {"localhost:5006", "127.0.0.1:5006"} <= set(local)
    assert not host_allowed("localhost:5007", local)  # another port of the same host
    assert not host_allowed("evil.example:5006", local)  # a rebound DNS name
    assert host_allowed("LOCALHOST:5006", local)
    lan = allowed_hosts("192.168.1.5", 8080, ["story.example.org", "https://proxy.example.org/", "alt:9000"])
    assert set(lan) == {"192.168.1.5:8080", "story.example.org:8080", "proxy.example.org:443", "alt:9000"}
    with pytest.raises(InvalidInput):
        allowed_hosts("127.0.0.1", 5006, ["not a host/"])


@pytest.mark.skipif(os.name != "posix", reason="process list semantics")
def test_the_cli_warns_about_a_password_on_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    from workbench.story.sample import build_sample

    build_sample(tmp_path / "s.story").close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "serve", str(tmp_path / "s.story"), "--basic-auth", "s3cret-pass",
         "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "WORKBENCH_BASIC_AUTH": ""},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "visible to every user" not in line:
            line = proc.stderr.readline()
        assert "visible to every user of this machine" in line and "--password-file" in line
    finally:
        proc.terminate()
        proc.wait(30)
