"""The reader's player at `/play` of `workbench serve`, in a real Chromium: three moves, saved as a branch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import skip_or_fail

from .helpers import PageWatch, missing_browser, sample_served, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def player_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Its own `workbench serve` on its own copy of the sample (the workbench tests keep theirs)."""
    if missing_browser():
        skip_or_fail(missing_browser() or "")
    with sample_served(tmp_path_factory.mktemp("serve-play")) as info:
        yield {"url": info["url"] + "play", "project": info["project"]}


def pane_text(page: Any, css: str) -> str:
    return page.locator(css).first.evaluate("e => (e.shadowRoot || e).textContent")


def wait_for_scene(page: Any, title: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while title not in pane_text(page, ".wb-play-scene"):
        assert time.monotonic() < deadline, (
            f"the player did not reach {title!r}: {pane_text(page, '.wb-player')}"
        )
        time.sleep(0.1)


def test_three_moves_in_the_player(page: Any, player_served: dict[str, Any]) -> None:
    watch = PageWatch(page)
    page.goto(player_served["url"])
    page.locator(".wb-play-choice button", has_text="Go down to the harbour").click()
    wait_for_scene(page, "A Stranger on the Quay", 30)
    page.locator(".wb-play-choice button", has_text="Ask Ines about the stranger").click()
    wait_for_scene(page, "The Sister's Ledger", 30)
    assert "A Stranger on the Quay" in pane_text(page, ".wb-play-history")
    action = page.locator(".wb-play-action input")
    action.fill("Mara burns the ledger")
    page.locator(".wb-play-go button").click()
    wait_for_scene(page, "Mara burns the ledger", 300)
    assert "play 1" in pane_text(page, ".wb-play-title")
    shot(page, "serve_play")
    from workbench import open_project

    with open_project(player_served["project"], create=False) as project:
        scenes = project.branches["play 1"].scenes
        assert [s.title for s in scenes] == [
            "The Lamp Goes Dark",
            "A Stranger on the Quay",
            "The Sister's Ledger",
            "Mara burns the ledger",
        ]
        assert scenes[-1].text.strip()
        assert [c.label for c, t in scenes[2].children if t.id == scenes[3].id] == ["Mara burns the ledger"]
        assert project.branches["main"].tip.title == "The Light Returns"
        # the reader's moves are steps of the play surface: the writer's Undo passes over them
        assert [h["label"] for h in project.history(surface="play")][:1] == ["play: Mara burns the ledger"]
        assert project.undo_label_for(None, "write") is None
    assert watch.external == [], f"requests left the machine: {watch.external}"
    assert not [e for e in watch.errors if "favicon" not in e], watch.errors
