"""One Chromium and one `workbench serve` per test session (each takes seconds to start)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail

from .helpers import CHROMIUM, CHROMIUM_FLAGS, child_env, free_port, missing_browser, running, serve_command


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    why = missing_browser()
    if why:
        skip_or_fail(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (its own storage: a fresh profile)."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
    ctx.set_default_timeout(60_000)
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`workbench serve` on a copy of the sample project, on a free port."""
    if missing_browser():
        skip_or_fail(missing_browser() or "")
    from workbench.story.sample import build_sample

    root = tmp_path_factory.mktemp("serve")
    project = root / "sample.story"
    build_sample(project).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = child_env(root / "home", WORKBENCH_MAX_NEW_TOKENS="16")
    with ExitStack() as stack:
        info: dict[str, Any] = {"url": url, "project": project, "log": root / "serve.log", "starts": 0}

        def start() -> None:
            info["starts"] += 1
            stack.enter_context(
                running(
                    serve_command(project, port), url, env, root / f"serve{info['starts']}.log", timeout=120
                )
            )

        def restart() -> None:
            """Stop the server and start a new process on the same project file and port."""
            stack.close()
            start()

        info["restart"] = restart
        start()
        yield info


@pytest.fixture(scope="session")
def lab_runtime() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="wb-lab-") as tmp:
        yield Path(tmp)
