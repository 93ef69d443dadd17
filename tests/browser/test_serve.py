"""`workbench serve` in a real Chromium: generate takes with streaming, choose, fork, reload.

The steps share one server and one project file and run in order, like a writer's session.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import REPO, PageWatch, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMINGS = REPO / "artifacts" / "browser_timings.json"
FORK_CHOICE = "Mara burns the salvage letter"


def record(name: str, seconds: float) -> None:
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[name] = round(seconds, 3)
    TIMINGS.write_text(json.dumps(data, indent=2) + "\n")


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the page did not update in time"
        time.sleep(0.05)


def open_app(page: Any, url: str) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    page.locator(".wb-generate button").wait_for()
    return time.perf_counter() - t0


def tab(page: Any, name: str) -> None:
    page.locator(".bk-tab", has_text=name).first.click()


def takes_label(page: Any) -> str:
    return page.locator(".wb-carousel-label").first.inner_text()


def project_state(path: Path) -> dict[str, Any]:
    """What the project file holds, read through a second connection (as another process would)."""
    from workbench import open_project

    p = open_project(path, create=False)
    try:
        start = p.start
        return {
            "takes": [(t.source, t.is_chosen) for t in start.takes],
            "branches": list(p.branches),
            "titles": [s.title for s in p.scenes],
        }
    finally:
        p.close()


def test_page_is_interactive_offline(page: Any, served: dict[str, Any]) -> None:
    watch = PageWatch(page)
    seconds = open_app(page, served["url"])
    record("page_interactive_s", seconds)
    assert "Skerry Point" in page.locator(".wb-header .wb-title").inner_text()
    assert page.locator(".wb-carousel-label").first.inner_text().startswith("Take 1 of 1")
    assert watch.external == [], f"requests left the machine: {watch.external}"
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
    shot(page, "serve_start")


def test_generate_streams_takes_and_choose(page: Any, served: dict[str, Any]) -> None:
    open_app(page, served["url"])
    n_input = page.locator(".wb-n-takes input")
    n_input.fill("2")
    n_input.press("Enter")
    page.locator(".wb-generate button", has_text="Generate 2 takes").wait_for()
    t0 = time.perf_counter()
    page.locator(".wb-generate button").click()
    # tokens stream into the page while the model writes
    page.wait_for_function(
        "() => { const q = (r) => [...r.querySelectorAll('*')].flatMap(e => e.shadowRoot ? [e.shadowRoot, ...q(e.shadowRoot)] : []);"
        " return [document, ...q(document)].some(r => [...r.querySelectorAll('.wb-stream')]"
        ".some(d => d.innerText.split('\\n').slice(1).join('').trim().length > 0)); }",
        timeout=180_000,
    )
    record("first_streamed_token_s", time.perf_counter() - t0)
    shot(page, "serve_streaming")
    status = page.locator(".wb-editor-status .wb-status-text")
    status.filter(has_text="2 takes written").wait_for(timeout=240_000)
    record("generate_2_takes_s", time.perf_counter() - t0)
    page.locator(".wb-carousel-label", has_text="Take 2 of 3 · model").wait_for()
    assert takes_label(page).startswith("Take 2 of 3 · model")
    page.locator(".wb-next").first.click()
    page.locator(".wb-carousel-label", has_text="Take 3 of 3").wait_for()
    page.locator(".wb-choose button").click()
    page.locator(".wb-carousel-label", has_text="Take 3 of 3 · chosen · model").wait_for()
    state = project_state(served["project"])
    assert state["takes"] == [("writer", False), ("model", False), ("model", True)]
    shot(page, "serve_takes", docs="workbench-serve")


def test_click_map_opens_scene_and_fork_changes_map(page: Any, served: dict[str, Any]) -> None:
    open_app(page, served["url"])
    tab(page, "Map")
    scenes = page.locator("g.wb-scene")
    scenes.first.wait_for()
    before = scenes.count()
    target = page.locator("g.wb-scene", has_text="A Stranger on the")
    t0 = time.perf_counter()
    target.click()
    page.locator(".wb-selected-scene", has_text="A Stranger on the Quay").wait_for()  # the map stays
    record("click_to_update_s", time.perf_counter() - t0)
    # the page marks the clicked box (the map itself is not sent again), and only that one
    page.locator("g.wb-scene.wb-selected", has_text="A Stranger on the").wait_for()
    assert page.locator("g.wb-selected").count() == 1
    assert target.locator("rect").evaluate("r => getComputedStyle(r).strokeWidth") == "3px"
    page.locator(".wb-edit-selected button").click()  # "Write this scene"
    page.locator(".bk-tab.bk-active", has_text="Write").wait_for()
    wait_until(lambda: page.locator(".wb-scene-select select").input_value() == "A Stranger on the Quay")
    tab(page, "Map")
    page.locator(".wb-fork-choice input").fill(FORK_CHOICE)
    page.locator(".wb-fork button").click()
    page.locator("g.wb-scene", has_text="Mara burns the").wait_for()
    assert scenes.count() == before + 1
    page.locator("g.wb-scene.wb-selected", has_text="Mara burns the").wait_for()  # the new scene
    assert page.locator("g.wb-selected").count() == 1
    wait_until(lambda: FORK_CHOICE in page.locator(".wb-branch-select select").input_value())
    # compare the new branch with main
    page.locator(".wb-compare-select select").select_option("main")
    page.locator("table.wb-compare").wait_for()
    assert page.locator("table.wb-compare tr.wb-same").count() >= 1
    state = project_state(served["project"])
    assert FORK_CHOICE in state["branches"]
    assert FORK_CHOICE in state["titles"]
    shot(page, "serve_map", docs="workbench-serve-map")


def test_reload_restores_state_from_the_project_file(page: Any, served: dict[str, Any]) -> None:
    open_app(page, served["url"])
    assert takes_label(page).startswith("Take 1 of 3")
    page.locator(".wb-next").first.click()
    page.locator(".wb-next").first.click()
    page.locator(".wb-carousel-label", has_text="Take 3 of 3 · chosen · model").wait_for()
    tab(page, "Map")
    page.locator("g.wb-scene", has_text="Mara burns the").wait_for()
    state = project_state(served["project"])
    served["restart"]()  # a new server process: everything shown comes from the project file
    page.reload()
    page.locator(".wb-generate button").wait_for()
    assert takes_label(page).startswith("Take 1 of 3")
    page.locator(".wb-prev").first.click()
    page.locator(".wb-carousel-label", has_text="Take 3 of 3 · chosen · model").wait_for()
    tab(page, "Map")
    page.locator("g.wb-scene", has_text="Mara burns the").wait_for()
    assert FORK_CHOICE in page.locator(".wb-branch-select select").evaluate(
        "s => [...s.options].map(o => o.text).join('|')"
    )
    assert project_state(served["project"]) == state
    shot(page, "serve_reloaded")
