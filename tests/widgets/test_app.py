"""`workbench serve`: local binding, the authentication rule, routes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from workbench.app import AuthRequired, build_app, is_local_address, serve


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
def test_local_addresses(address: str) -> None:
    assert is_local_address(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_other_addresses_are_not_local(address: str) -> None:
    assert not is_local_address(address)


def test_refuses_a_public_address_without_authentication(
    sample: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKBENCH_BASIC_AUTH", raising=False)
    monkeypatch.delenv("PANEL_OAUTH_PROVIDER", raising=False)
    with pytest.raises(AuthRequired, match="--basic-auth"):
        serve(sample.file, address="0.0.0.0", start=False)


def test_cli_explains_the_refusal(sample: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "serve", str(sample.file), "--address", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "WORKBENCH_BASIC_AUTH": ""},
    )
    assert out.returncode == 1
    assert "refusing to serve on 0.0.0.0" in out.stderr and "127.0.0.1" in out.stderr


def test_a_missing_project_is_a_clear_error(tmp_path: Any) -> None:
    from workbench.errors import ProjectNotFound

    with pytest.raises(ProjectNotFound):
        serve(tmp_path / "nope.story", start=False)


def test_basic_auth_allows_a_public_address(sample: Any) -> None:
    server = serve(sample.file, port=0, address="0.0.0.0", basic_auth="s3cret-pass", start=False)
    try:
        assert server is not None
    finally:
        server.stop()


def test_routes_serve_the_workbench_and_the_player(session: Any) -> None:
    routes = build_app(session)
    assert set(routes) == {"/", "/play"}
