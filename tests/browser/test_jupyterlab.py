"""The views inside JupyterLab, offline: run the quickstart notebook, use the scene editor."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail

from .helpers import REPO, PageWatch, child_env, free_port, running, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        skip_or_fail("jupyterlab (requirements/views.txt)")
    root = tmp_path_factory.mktemp("lab")
    work = root / "notebooks"  # a copy: autosave must never touch the repository's notebooks
    work.mkdir()
    shutil.copy(REPO / "notebooks" / "01_quickstart.ipynb", work)
    labconfig = root / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    # no "get notified about news?" toast: it asks the internet and covers the screenshots
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = free_port()
    env = child_env(
        root / "home",
        WORKBENCH_MAX_NEW_TOKENS="12",
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"),
    )
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--IdentityProvider.token=",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={work}",
        "--ServerApp.disable_check_xsrf=False",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    url = f"http://127.0.0.1:{port}/"
    with running(cmd, url + "api", env, root / "lab.log", timeout=180, cwd=work):
        yield {"url": url, "dir": work, "log": root / "lab.log"}


def test_quickstart_runs_and_the_editor_writes_a_take(page: Any, lab: dict[str, Any]) -> None:
    watch = PageWatch(page)
    page.set_default_timeout(120_000)
    page.goto(f"{lab['url']}lab/workspaces/wb-{uuid.uuid4().hex[:8]}/tree/01_quickstart.ipynb?reset")
    page.locator(f'{ACTIVE} .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()
    accept = page.locator(".jp-Dialog button.jp-mod-accept")  # "Select Kernel", shown on some first starts
    try:
        accept.click(timeout=5_000)
    except Exception:
        pass
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    generate = page.locator(f"{ACTIVE} .wb-generate button").first
    generate.wait_for(timeout=600_000)
    label = page.locator(f"{ACTIVE} .wb-carousel-label").first
    label.wait_for()
    match = re.search(r"of (\d+)", label.inner_text())
    assert match, label.inner_text()
    before = int(match.group(1))
    assert before >= 3  # the sample's take and the two written by the notebook
    page.locator(f'{ACTIVE} .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=600_000)
    generate.scroll_into_view_if_needed()
    shot(page, "lab_editor")
    t0 = time.perf_counter()
    generate.click()
    page.locator(f"{ACTIVE} .wb-editor-status .wb-status-text", has_text="1 take written").first.wait_for(
        timeout=300_000
    )
    page.locator(
        f"{ACTIVE} .wb-carousel-label", has_text=f"Take {before + 1} of {before + 1} · model"
    ).first.wait_for()
    assert time.perf_counter() - t0 < 300
    shot(page, "lab_take_written", docs="workbench-jupyterlab")
    # the editor's keys work in a notebook too (JupyterLab's own shortcuts do not take them)
    page.locator(f"{ACTIVE} .wb-carousel-label").first.click()
    page.keyboard.press("Alt+ArrowLeft")
    page.locator(f"{ACTIVE} .wb-carousel-label", has_text=f"Take {before} of {before + 1}").first.wait_for()
    assert watch.external == [], f"requests left the machine: {watch.external}"
    # the notebook wrote its project under a temporary folder, not beside the notebook
    assert not list(Path(lab["dir"]).glob("*.story"))
