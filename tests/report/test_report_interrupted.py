"""An interrupted report leaves the kept notebook and the HTML of the last finished run as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.story.sample import build_sample

pytestmark = pytest.mark.slow


def _open_branch_sample(path: Path) -> Path:
    p = build_sample(path)
    p.branches["pitch"] = p.start
    p.add_scene("Night Watch", after=p.start, choice="Mara keeps watch alone", branch="pitch")
    p.close()
    return path


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_report_keeps_the_previous_notebook(tmp_path: Path, sig: int) -> None:
    story = _open_branch_sample(tmp_path / "s.story")
    kept = tmp_path / "pitch.ipynb"
    kept.write_text(
        '{"cells": [], "metadata": {"run": "the last finished run"}, "nbformat": 4, "nbformat_minor": 5}'
    )
    html = tmp_path / "pitch.html"
    html.write_text("<p>the last finished report</p>")
    before = (kept.read_bytes(), html.read_bytes())
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "report", str(story), "-o", str(html), "--branch", "pitch",
         "--no-media", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "WORKBENCH_MAX_NEW_TOKENS": "400"},
        # Ctrl-C as a terminal delivers it: a test process that ignores SIGINT (a kernel started
        # in-process earlier in the suite can leave it so) would pass SIG_IGN on to the report
        preexec_fn=_default_sigint,
    )  # fmt: skip
    try:
        # wait until papermill has written the running notebook (cells executing), then interrupt
        deadline = time.monotonic() + 120
        running: list[Path] = []
        while time.monotonic() < deadline:
            running = [
                p for p in tmp_path.iterdir() if p.name.startswith(".pitch.ipynb.") and p.stat().st_size
            ]
            if running:
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.05)
        assert running, "the report never started running"
        time.sleep(2.0)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert (kept.read_bytes(), html.read_bytes()) == before, err.decode()[-2000:]
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []  # nothing half-written left
