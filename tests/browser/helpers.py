"""Real-browser helpers: Debian's Chromium driven by Playwright, a `workbench serve` process, JupyterLab."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LOCAL_PREFIXES = (
    "http://127.0.0.1",
    "ws://127.0.0.1",
    "http://localhost",
    "ws://localhost",
    "data:",
    "blob:",
    "about:",
)


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package (requirements/test.txt)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} (Debian package chromium: make system-deps)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "WORKBENCH_HOME": str(home),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("WORKBENCH_CACHE", str(REPO / ".cache" / "workbench"))
    env.update(extra)
    return env


@contextmanager
def running(
    cmd: list[str], url: str, env: dict[str, str], log: Path, timeout: float = 120, cwd: Path | None = None
) -> Iterator[subprocess.Popen[Any]]:
    """Start ``cmd``, wait for ``url`` to answer, stop it (by its own process id) afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd or REPO)
        try:
            wait_http(url, proc, timeout, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@contextmanager
def sample_served(root: Path) -> Iterator[dict[str, Any]]:
    """`workbench serve` on a fresh copy of the sample under ``root``, on a free port: for a test
    module that needs its own server and project (the workbench tests keep theirs)."""
    from workbench.story.sample import build_sample

    project = root / "sample.story"
    build_sample(project).close()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = child_env(root / "home", WORKBENCH_MAX_NEW_TOKENS="16")
    with running(serve_command(project, port), url, env, root / "serve.log", timeout=120):
        yield {"url": url, "project": project}


def serve_command(project: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", "serve", str(project), "--port", str(port)]


DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"


def shot(page: Any, name: str, docs: str | None = None) -> Path:
    """A screenshot under artifacts/screenshots; with WORKBENCH_DOCS_SCREENSHOTS=1 and ``docs``,
    also the README's docs/screenshots/<docs>.png (regenerated, never pasted by hand)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("WORKBENCH_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{docs}.png"))
    return path


class PageWatch:
    """Records requests leaving the machine and console errors of a page."""

    def __init__(self, page: Any) -> None:
        self.external: list[str] = []
        self.errors: list[str] = []
        page.on(
            "request", lambda r: None if r.url.startswith(LOCAL_PREFIXES) else self.external.append(r.url)
        )
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
