"""The writer's room in a real Chromium on `workbench serve`: the flow a writer lives in.

Each test names the problem a writer met before: a box that looked empty re-sent its old text,
Undo offered the reader's play move, the map threw the writer to another tab, status lines
said "drawing…" forever, a hand edit wore the model's label, the toolbar ran off an 800 px
screen, there were no keyboard shortcuts, no redo, no history, and scenes could be added,
renamed and deleted only in Python. The steps share one server and one project, in order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail

from .helpers import PageWatch, missing_browser, sample_served, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Its own `workbench serve` on its own copy of the sample."""
    if missing_browser():
        skip_or_fail(missing_browser() or "")
    with sample_served(tmp_path_factory.mktemp("serve-room")) as info:
        yield info


def wait_until(check: Any, timeout: float = 20.0, what: Any = "the page did not update in time") -> None:
    """Wait for ``check()``; ``what`` (a text, or a function giving one) says what was seen instead."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.05)


def open_app(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-generate button").wait_for()


def tab(page: Any, name: str) -> None:
    page.locator(".bk-tab", has_text=name).first.click()


def text_of(page: Any, css: str) -> str:
    return str(page.locator(css).first.evaluate("e => (e.shadowRoot || e).textContent"))


def alert(page: Any) -> str:
    loc = page.locator(".wb-alert:visible")
    return loc.first.inner_text() if loc.count() else ""


def story(room: dict[str, Any]) -> Any:
    from workbench import open_project

    return open_project(room["project"], create=False)


def test_an_emptied_box_sends_nothing_old(page: Any, room: dict[str, Any]) -> None:
    """Fork twice, Add a character twice: the second click finds the box empty and says so."""
    open_app(page, room["url"])
    tab(page, "Map")
    page.locator("g.wb-scene", has_text="A Stranger on the").click()
    page.locator(".wb-fork-choice input").fill("Mara refuses the stranger")
    page.locator(".wb-fork button").click()
    page.locator("g.wb-scene", has_text="Mara refuses the").wait_for()
    wait_until(lambda: page.locator(".wb-fork-choice input").input_value() == "")
    with story(room) as p:
        branches = list(p.branches)
    page.locator(".wb-fork button").click()
    wait_until(
        lambda: "what happens" in alert(page).lower() or "empty" in alert(page).lower(), what=alert(page)
    )
    with story(room) as p:
        assert list(p.branches) == branches  # no second branch from the old text
    tab(page, "Cast")
    name = page.locator(".wb-new-name input")
    name.fill("Oona Vale")
    page.locator(".wb-add-new button").click()
    page.locator(".wb-cast-status", has_text="added Oona Vale").wait_for()
    wait_until(lambda: name.input_value() == "")
    page.locator(".wb-add-new button").click()
    wait_until(lambda: "give the new character a name" in alert(page), what=alert(page))
    with story(room) as p:
        assert [c.name for c in p.cast].count("Oona Vale") == 1


def test_the_map_keeps_the_writer_on_the_map(page: Any, room: dict[str, Any]) -> None:
    """A click selects (every view follows, the map stays); "Write this scene" opens the editor."""
    open_app(page, room["url"])
    tab(page, "Map")
    t0 = time.perf_counter()
    page.locator("g.wb-scene", has_text="The Sister").click()
    page.locator(".wb-selected-scene", has_text="The Sister's Ledger").wait_for()
    clicked = time.perf_counter() - t0
    assert page.locator(".bk-tab.bk-active", has_text="Map").count() == 1
    assert clicked < 5, clicked
    # zoom in and out; the map keeps its scenes clickable
    svg = page.locator("svg.wb-branch-map").first
    width = svg.bounding_box()["width"]
    page.locator(".wb-zoom-in").click()
    page.locator(".wb-zoom-level", has_text="125%").wait_for()
    assert svg.bounding_box()["width"] > width * 1.2
    page.locator(".wb-zoom-out").click()
    page.locator(".wb-zoom-level", has_text="100%").wait_for()
    page.locator(".wb-edit-selected button").click()
    page.locator(".bk-tab.bk-active", has_text="Write").wait_for()
    wait_until(lambda: page.locator(".wb-scene-select select").input_value() == "The Sister's Ledger")


def test_a_scene_dragged_on_the_map_stays_where_it_was_dropped(page: Any, room: dict[str, Any]) -> None:
    """Drag a box above the one over it: it takes that row, the position is saved (a reload
    draws it there), a plain click still selects, and Undo puts it back."""
    from workbench.render.svg import map_layout

    with story(room) as project:
        lay = map_layout(project)
        columns: dict[float, list[str]] = {}
        for k, (x, _) in lay.pos.items():
            if not k.startswith("open:"):
                columns.setdefault(x, []).append(k)
        col = sorted(next(c for c in columns.values() if len(c) >= 2), key=lambda k: lay.pos[k][1])
        top, mover = col[0], col[-1]
    open_app(page, room["url"])
    tab(page, "Map")

    def box(scene_id: str) -> dict[str, float]:
        return page.locator(f'g.wb-scene[data-scene-id="{scene_id}"] rect').first.bounding_box()

    def above(upper: str, lower: str) -> bool:
        """Whether `upper` is drawn above `lower`; False while either box is being redrawn
        (a box between two renders, or on a tab not shown yet, has no bounding box)."""
        a, b = box(upper), box(lower)
        return a is not None and b is not None and a["y"] < b["y"]

    wait_until(lambda: box(mover) is not None and box(top) is not None, what="the map was not drawn")
    start, target = box(mover), box(top)
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    for step in range(1, 9):  # a drag, not a jump: the page sees the box follow the pointer
        page.mouse.move(
            start["x"] + start["width"] / 2,
            start["y"] + start["height"] / 2 + (target["y"] - start["y"] - target["height"] * 0.6) * step / 8,
        )
    page.mouse.up()

    def saved() -> bool:
        with story(room) as project:
            return project.scene(mover).position is not None

    wait_until(saved, what="the dropped scene's position was not saved")
    redrawn = f'g.wb-scene[data-scene-id="{mover}"]:not([transform])'
    wait_until(lambda: page.locator(redrawn).count() == 1, what="the map was not drawn again")
    wait_until(lambda: above(mover, top), what="the dropped scene did not take the row above")
    page.reload()
    page.locator(".wb-generate button").wait_for()
    tab(page, "Map")
    wait_until(lambda: above(mover, top), what="the saved position was not drawn after a reload")
    page.locator(f'g.wb-scene[data-scene-id="{top}"]').click()  # a click is still a pick
    page.locator(".wb-selected-scene", has_text=story_title(room, top)).wait_for()
    tab(page, "Write")
    page.locator(".wb-undo button").click()
    tab(page, "Map")
    wait_until(lambda: above(top, mover), what="Undo did not put the scene back")


def story_title(room: dict[str, Any], scene_id: str) -> str:
    with story(room) as project:
        return str(project.scene(scene_id).title)


def test_undo_redo_history_and_the_readers_play(page: Any, room: dict[str, Any]) -> None:
    """The writer's Undo names their own change, not a reader's move made later; Redo brings the
    change back; the history lists both; Ctrl+Z and Ctrl+Shift+Z do the same from the keyboard."""
    open_app(page, room["url"])
    page.locator(".wb-scene-title input").fill("The Lantern Room")
    page.locator(".wb-add-scene button").click()
    wait_until(lambda: page.locator(".wb-scene-select select").input_value() == "The Lantern Room")
    # a reader plays on meanwhile, on the same server's /play
    reader = page.context.new_page()
    reader.goto(room["url"] + "play")
    choice = reader.locator(".wb-play-choice button", has_text="Go down to the harbour")
    arrow = choice.evaluate("b => getComputedStyle(b, '::before').content")
    assert "▸" in arrow, arrow  # a choice looks like something to press
    choice.click()
    wait_until(lambda: "A Stranger on the Quay" in text_of(reader, ".wb-play-scene"), timeout=60)
    status = reader.locator(".wb-playerview-status .wb-status-text")
    wait_until(lambda: "on to A Stranger on the Quay" in status.inner_text(), what=status.inner_text())
    assert "0.00 s" not in status.inner_text()  # a followed choice has no writing time to report
    reader.close()
    with story(room) as p:
        assert "play 1" in p.branches
    undo = page.locator(".wb-undo button")
    wait_until(lambda: "add scene" in undo.inner_text().lower(), what=undo.inner_text())
    assert "play" not in undo.inner_text().lower()
    undo.click()
    page.locator(".wb-editor-status", has_text="undid").wait_for()
    with story(room) as p:
        assert "The Lantern Room" not in [s.title for s in p.scenes]
        assert "play 1" in p.branches  # the reader's move stays
    redo = page.locator(".wb-redo button")
    wait_until(lambda: not redo.is_disabled())
    page.locator(".wb-history-card .card-header").first.click()
    wait_until(lambda: "undone" in text_of(page, ".wb-history"), what=text_of(page, ".wb-history"))
    redo.click()
    page.locator(".wb-editor-status", has_text="redid").wait_for()
    with story(room) as p:
        assert "The Lantern Room" in [s.title for s in p.scenes]
    # from the keyboard, outside a text box
    page.locator(".wb-header").click()
    page.keyboard.press("Control+z")
    page.locator(".wb-editor-status", has_text="undid").wait_for()
    wait_until(lambda: not redo.is_disabled())
    page.keyboard.press("Control+Shift+Z")
    page.locator(".wb-editor-status", has_text="redid").wait_for()
    with story(room) as p:
        assert "The Lantern Room" in [s.title for s in p.scenes]
    shot(page, "room_history")


def test_keys_swipe_and_the_help_popover(page: Any, room: dict[str, Any]) -> None:
    with story(room) as p:  # a second take to swipe to
        p.scene("The Lamp Goes Dark").add_take(
            "INT. LIGHTHOUSE - NIGHT\n\nMara climbs again.", source="writer"
        )
    open_app(page, room["url"])
    page.locator(".wb-scene-select select").select_option(label="The Lamp Goes Dark")
    label = page.locator(".wb-carousel-label").first
    wait_until(lambda: label.inner_text().startswith("Take 1 of"))
    total = int(label.inner_text().split(" of ")[1].split()[0])
    assert total >= 2, label.inner_text()
    page.locator(".wb-header").click()  # no click on the takes needed
    page.keyboard.press("Alt+ArrowRight")
    wait_until(lambda: label.inner_text().startswith("Take 2 of"), what=label.inner_text())
    page.keyboard.press("Alt+ArrowLeft")
    wait_until(lambda: label.inner_text().startswith("Take 1 of"), what=label.inner_text())
    page.locator(".wb-shortcuts-button").click()
    help_text = page.locator(".wb-shortcuts-help").inner_text()
    for words in (
        "Ctrl+Enter",
        "Generate takes",
        "Alt+←",
        "Ctrl+Z",
        "Ctrl+Shift+Z",
        "Redo",
        "Edit the take",
        "Ctrl+S",
        "Esc",
    ):
        assert words in help_text, help_text
    shot(page, "room_keys")


def test_scenes_are_added_renamed_and_deleted_in_the_editor(page: Any, room: dict[str, Any]) -> None:
    open_app(page, room["url"])
    page.locator(".wb-scene-select select").select_option(label="The Lantern Room")
    title = page.locator(".wb-scene-title input")
    title.fill("The Lantern Gallery")
    page.locator(".wb-rename-scene button").click()
    select = page.locator(".wb-scene-select select")
    wait_until(
        lambda: select.input_value() == "The Lantern Gallery",
        what=lambda: (
            f"{select.input_value()!r} of {select.evaluate('s => [...s.options].map(o => o.text)')}; "
            f"status {text_of(page, '.wb-editor-status')!r}; error {text_of(page, '.wb-error')!r}"
        ),
    )
    page.locator(".wb-delete-scene button").click()
    page.locator(".wb-editor-status", has_text="deleted 'The Lantern Gallery'").wait_for()
    with story(room) as p:
        assert "The Lantern Gallery" not in [s.title for s in p.scenes]


def test_a_hand_edit_is_the_writers_and_each_take_shows_its_own_seed(page: Any, room: dict[str, Any]) -> None:
    """The take's own card is the editor: each line takes its screenplay form as it is typed,
    Esc leaves the take as it was, Ctrl+S saves the words as a new take, the writer's."""
    with story(room) as p:
        before = len(p.scene("The Lamp Goes Dark").takes)
    open_app(page, room["url"])
    page.locator(".wb-scene-select select").select_option(label="The Lamp Goes Dark")
    label = page.locator(".wb-carousel-label").first
    wait_until(lambda: label.inner_text().startswith("Take 1 of"))
    assert not page.locator(".wb-edit-text textarea").count()  # no second box with the same text
    # E opens the editor; what is typed and then cancelled with Esc changes nothing
    page.locator(".wb-header").click()
    page.keyboard.press("e")
    editor = page.locator(".wb-inplace-editor")
    editor.wait_for()
    wait_until(lambda: label.inner_text().endswith("editing"), what=label.inner_text())
    page.keyboard.press("Control+End")
    page.keyboard.type(" Never mind.")
    page.keyboard.press("Escape")
    editor.wait_for(state="detached")
    assert "Never mind" not in text_of(page, ".wb-carousel-body")
    # the Edit button on the card; lines are formatted by kind while typing
    page.locator(".wb-edit-take").click()
    editor.wait_for()
    assert editor.locator(".wb-line-heading").first.inner_text().startswith("INT.")
    page.keyboard.press("Control+End")
    for key, words in (("Enter", ""), ("Enter", "MARA"), ("Enter", "(softly)"), ("Enter", "Down we go.")):
        page.keyboard.press(key)
        page.keyboard.type(words)
    last = editor.locator(".wb-line").last
    wait_until(lambda: last.inner_text() == "Down we go.", what=editor.inner_html())
    kinds = editor.locator(".wb-line").evaluate_all("ls => ls.slice(-4).map(l => l.dataset.kind)")
    assert kinds == ["blank", "character", "parenthetical", "dialogue"], kinds
    indent = {
        kind: editor.locator(f".wb-line-{kind}").last.evaluate(
            "e => parseFloat(getComputedStyle(e).marginLeft)"
        )
        for kind in ("heading", "character", "dialogue")
    }
    assert indent["heading"] == 0 < indent["dialogue"] < indent["character"], indent
    weight = editor.locator(".wb-line-heading").first.evaluate("e => getComputedStyle(e).fontWeight")
    assert weight in ("700", "bold"), weight
    shot(page, "room_edit_in_place")
    page.keyboard.press("Control+s")
    page.locator(".wb-editor-status", has_text="edit saved").wait_for()
    editor.wait_for(state="detached")
    meta = page.locator(".wb-take-meta").first
    wait_until(lambda: "edited by" in meta.inner_text(), what=meta.inner_text())
    assert "seed" not in meta.inner_text()  # the writer's words, not a model's sample
    page.locator(".wb-carousel-body .wb-dialogue", has_text="Down we go.").wait_for()  # read as typed
    with story(room) as p:
        takes = p.scene("The Lamp Goes Dark").takes
        assert len(takes) == before + 1
        new = takes[-1]
        assert new.source == "edit" and new.is_chosen
        assert new.text.endswith("MARA\n(softly)\nDown we go.") and "Never mind" not in new.text
    # the chosen take is the card on screen: its text is not shown a second time
    assert not page.locator(".wb-scene-text").first.is_visible()


def test_regenerate_a_take_in_place(page: Any, room: dict[str, Any]) -> None:
    """ "Regenerate this take" writes the take shown again with its settings, in its place; the old
    take is kept and folded away, and Undo brings it back. (A free take here: the server's real
    model writes it in seconds; a structured take's plan is kept by the same call, see
    tests/generate/test_session_regenerate.py.)"""
    with story(room) as p:
        free = p.scene("The Lamp Goes Dark").add_take(
            "INT. LIGHTHOUSE LAMP ROOM - NIGHT\n\nMara tries the lamp again.",
            source="model",
            provenance={"structure": "free", "seed": 3, "take_seed": 3, "params": {"max_new_tokens": 12}},
        )
        old = free.id
    open_app(page, room["url"])
    page.locator(".wb-scene-select select").select_option(label="The Lamp Goes Dark")
    label = page.locator(".wb-carousel-label").first
    wait_until(lambda: label.inner_text().startswith("Take 1 of"))
    total = label.inner_text().split(" of ")[1].split()[0]
    page.locator(".wb-prev").first.click()  # round to the last take: the one just added
    body = page.locator(".wb-carousel-body").first
    wait_until(lambda: body.get_attribute("data-take-id") == old, what=label.inner_text())
    page.locator(".wb-regenerate-take").click()
    status = page.locator(".wb-editor-status .wb-status-text")
    wait_until(lambda: "regenerated with seed" in status.inner_text(), timeout=300, what=status.inner_text())
    wait_until(lambda: body.get_attribute("data-take-id") != old, what="the new take is not shown")
    assert label.inner_text().startswith(f"Take {total} of {total}") and "regenerated" in label.inner_text()
    new = body.get_attribute("data-take-id")
    with story(room) as p:
        takes = {t.id: t for t in p.scene("The Lamp Goes Dark").takes}
        assert old in takes and takes[new].source == "model"
        prov = takes[new].provenance
        assert prov["regenerated_from"] == old and prov["structure"] == "free" and "plan" not in prov
        assert prov["params"]["max_new_tokens"] == 12
    shot(page, "room_regenerate")
    undo = page.locator(".wb-undo button")
    wait_until(lambda: "regenerate" in undo.inner_text().lower(), what=undo.inner_text())
    undo.click()
    page.locator(".wb-editor-status", has_text="undid").wait_for()
    wait_until(lambda: body.get_attribute("data-take-id") == old, what="the old take did not come back")
    assert label.inner_text().startswith(f"Take {total} of {total}")


def test_status_lines_end_when_the_work_ends(page: Any, room: dict[str, Any]) -> None:
    open_app(page, room["url"])
    tab(page, "Cast")
    page.locator(".wb-portrait-button button").first.click()
    status = page.locator(".wb-cast-status .wb-status-text")
    wait_until(lambda: "done in" in status.inner_text(), timeout=120, what=status.inner_text())
    assert "…" not in status.inner_text()


def test_an_800_px_screen_keeps_every_button_in_view(browser: Any, room: dict[str, Any]) -> None:
    ctx = browser.new_context(viewport={"width": 800, "height": 900})
    ctx.set_default_timeout(60_000)
    page = ctx.new_page()
    try:
        watch = PageWatch(page)
        open_app(page, room["url"])
        for css in (
            ".wb-generate button",
            ".wb-undo button",
            ".wb-redo button",
            ".wb-shortcuts-button",
            ".wb-edit-take",
            ".wb-regenerate-take",
        ):
            box = page.locator(css).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 800, (css, box)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 800, f"the page scrolls sideways at 800 px ({width} px wide)"
        shot(page, "room_800px")
        assert not [e for e in watch.errors if "favicon" not in e], watch.errors
    finally:
        ctx.close()


def test_the_story_tab_keeps_lore_and_downloads_exports(page: Any, room: dict[str, Any]) -> None:
    """Lore, the author's note and exports were only in Python or the CLI."""
    open_app(page, room["url"])
    tab(page, "Story")
    page.locator(".wb-lore-keys input").fill("gull, gulls")
    page.locator(".wb-lore-content input").fill("The gulls of Skerry Point follow the ferry.")
    page.locator(".wb-add-lore button").click()
    page.locator(".wb-lore", has_text="follow the ferry").wait_for()
    page.locator(".wb-setting-author-note textarea").fill("Keep the sea in every scene.")
    page.locator(".wb-save-settings button").click()
    page.locator(".wb-story-status", has_text="settings saved").wait_for()
    with story(room) as p:
        assert p.author_note == "Keep the sea in every scene."
        assert any(e.content.startswith("The gulls of Skerry Point") for e in p.lore)
    page.locator(".wb-format select").select_option("fountain")
    with page.expect_download() as info:
        page.locator(".wb-export-download button").click()
    download = info.value
    assert download.suggested_filename.endswith(".fountain")
    text = Path(download.path()).read_text(encoding="utf-8")
    assert "INT." in text and "MARA" in text.upper()
    shot(page, "room_story_tab")


def test_blind_ab_for_trainers(page: Any, room: dict[str, Any]) -> None:
    """Two takes with nothing that tells where each came from; the pick is logged, then revealed."""
    open_app(page, room["url"])
    tab(page, "A/B")
    page.locator(".wb-ab-a .wb-screenplay").first.wait_for()
    assert "seed" not in text_of(page, ".wb-ab-a") + text_of(page, ".wb-ab-b")
    with story(room) as p:
        before = sum(e.kind == "ab" for e in p.feedback())
    page.locator(".wb-ab-pick-a button").click()
    page.locator(".wb-ab-revealed").wait_for()
    with story(room) as p:
        assert sum(e.kind == "ab" for e in p.feedback()) == before + 1
    shot(page, "room_ab")


def test_the_take_grid_compares_temperatures_and_picks_from_the_grid(page: Any, room: dict[str, Any]) -> None:
    """One scene's takes across models × seeds × temperatures, with a storyboard frame each;
    pick and rate from the grid (the feedback log gets them), at 800 px without sideways scrolling."""
    page.set_viewport_size({"width": 800, "height": 1000})
    open_app(page, room["url"])
    tab(page, "Grid")
    page.locator(".wb-grid-temps input").fill("0.6, 1.0")
    page.locator(".wb-grid-takes input").fill("1")
    page.locator(".wb-grid-seed input").fill("4")
    page.locator(".wb-grid-frames input").fill("1")
    page.locator(".wb-grid-temps input").press("Tab")
    page.locator(".wb-grid-run button").click()
    status = page.locator(".wb-grid-status .wb-status-text")
    wait_until(lambda: "grid of 2 takes, seed 4" in status.inner_text(), timeout=300, what="no grid")
    cards = page.locator(".wb-grid-card")
    wait_until(lambda: cards.count() == 2, what=f"the grid did not show its two takes: {cards.count()}")
    assert page.locator(".wb-grid-card .wb-grid-frame img").count() == 2
    heads = page.locator(".wb-grid-row-head").all_inner_texts()
    assert "temperature 0.6" in heads[0] and "temperature 1" in heads[1]
    take_id = cards.nth(1).get_attribute("data-take-id")
    page.locator(".wb-grid-pick button").nth(1).click()
    page.locator(".wb-grid-chosen").wait_for()
    with story(room) as p:
        assert any(t.id == take_id and t.is_chosen for sc in p.scenes for t in sc.takes)
    page.locator(".wb-grid-rate").nth(1).locator("button", has_text="5").click()

    def rated() -> bool:
        with story(room) as p:
            return any(e.kind == "rate" and e.take_id == take_id and e.value == 5 for e in p.feedback())

    wait_until(rated, what="the rating from the grid was not logged")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, f"the grid scrolls sideways at 800 px ({width} px wide)"
    shot(page, "room_grid")
    page.set_viewport_size({"width": 1100, "height": 1000})
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "room_grid_wide", docs="grid")
