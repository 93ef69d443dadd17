"""Branch map, cast board, media gallery, context viewer, outline view and the composed Workbench."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workbench.widgets import (
    BranchMap,
    CastBoard,
    ContextViewer,
    MediaGallery,
    OutlineView,
    Workbench,
    compare_html,
    compare_rows,
    register_view,
    unregister_view,
)

from .conftest import reopen


def press(button: Any) -> None:
    button.clicks += 1


def click_scene(view: BranchMap, scene: Any) -> None:
    """What the map's ES module does when a scene box is clicked."""
    view.map.selected = scene.id
    view.map.clicks += 1


# ---------------------------------------------------------------- branch map
def test_map_click_selects_and_opens(session: Any) -> None:
    opened: list[str] = []
    view = BranchMap(session, on_open=lambda s: opened.append(s.title))
    assert view.map.svg.count('class="wb-scene"') == len(session.project.scenes)
    ledger = session.project.scene("The Sister's Ledger")
    click_scene(view, ledger)
    assert opened == ["The Sister's Ledger"] and view.selected == ledger.id
    # the page marks the selected box itself: the map sent to it is the same whatever is selected
    assert view.map.selected == ledger.id and 'stroke-width="3"' not in view.map.svg
    click_scene(view, ledger)  # a second click on the same scene opens it again
    assert opened == ["The Sister's Ledger"] * 2


def test_a_drag_on_the_map_saves_the_row_and_a_bad_one_says_so(session: Any) -> None:
    """What the map's ES module sends when a box is dropped: the scene takes that row (saved);
    a message it cannot read is an error in the view, nothing changed."""
    from workbench.render.svg import map_layout

    def y(scene: Any) -> float:
        return map_layout(session.project).pos[scene.id][1]

    view = BranchMap(session)
    leaving, trusting = (session.project.scene(t) for t in ("Leaving It Dark", "Trusting Tomas"))
    assert y(trusting) < y(leaving)
    svg = view.map.svg
    view.map.moved = json.dumps({"id": leaving.id, "x": 1000, "y": 0})
    view.map.moves += 1
    assert view.error == "" and "moved 'Leaving It Dark'" in view.status
    with reopen(session.project) as saved:
        assert (
            saved.scene("Leaving It Dark").position is not None
            and saved.scene("Trusting Tomas").position is None
        )
    assert y(leaving) < y(trusting) and view.map.svg != svg  # drawn again, in the new order
    view.map.moved = "{not json"
    view.map.moves += 1
    assert "drag the scene again" in view.error


def test_fork_from_the_selected_scene(session: Any) -> None:
    view = BranchMap(session)
    press(view.fork_button)
    assert "click a scene" in view.error
    click_scene(view, session.project.scene("A Stranger on the Quay"))
    view.choice_input.value = "Mara sends Tomas back to the ferry"
    press(view.fork_button)
    assert view.error == ""
    with reopen(session.project) as saved:
        branch = saved.branches["Mara sends Tomas back to the ferry"]
        assert [s.title for s in branch.scenes][-2:] == [
            "A Stranger on the Quay",
            "Mara sends Tomas back to the ferry",
        ]
    assert view.branch == "Mara sends Tomas back to the ferry"
    assert "Mara sends Tomas back" in view.map.svg
    assert view.branch_select.value == view.branch


def test_compare_two_branches_marks_differences(session: Any) -> None:
    view = BranchMap(session)
    view.compare_select.value = "ines"
    assert view.compare == "ines"
    html = view.compare_pane.object
    rows = compare_rows(session.project, "main", "ines")
    assert rows[0]["same"] and not rows[-1]["same"]
    assert html.count("wb-same") == sum(r["same"] for r in rows)
    # different scenes side by side as screenplay; no word diff between scenes that are not versions
    assert "wb-screenplay" in html and "wb-del" not in html
    assert 'stroke="#2563eb"' in view.map.svg  # the compared branch is drawn in its own colour


def test_compare_aligns_paths_and_diffs_only_versions_of_a_scene(session: Any) -> None:
    """Branches are matched by path, not position: a branch with one scene more early on lines up
    its later scenes with the same scenes; two versions of one scene get a word diff."""
    p = session.project
    main = p.branches["main"].scenes
    detour = p.add_scene(
        "A Detour by the Nets", "Mara mends the nets.", after=main[0], choice="mend the nets"
    )
    p.set_branch("detour", main[0])
    p.extend_branch("detour", detour)
    session.connect(detour, main[1], "back to the quay")
    for sc in main[1:]:
        p.extend_branch("detour", sc)
    rows = compare_rows(p, "main", "detour")
    assert [
        (r["a"].title if r["a"] else None, r["b"].title if r["b"] else None) for r in rows if not r["same"]
    ] == [(None, "A Detour by the Nets")]
    assert sum(r["same"] for r in rows) == len(main)
    # a second version of a scene (same title) on another branch: a word diff, not two columns
    last = main[-1]
    copy = p.add_scene(
        f"{last.title} (2)", last.text.replace("Mara", "Ines", 1), after=main[-2], choice="another end"
    )
    p.set_branch("alt", main[-2], from_branch="main")
    p.extend_branch("alt", copy)
    html = compare_html(p, "main", "alt")
    assert "wb-version" in html and "wb-del" in html and "wb-ins" in html


def test_map_writes_the_scene_behind_an_open_choice_and_shows_where_a_reader_gets_stuck(session: Any) -> None:
    project = session.project
    quay = project.scene("A Stranger on the Quay")
    open_choice = project.add_choice(quay, "Follow the gulls", wanted="The Gull Rock")
    view = BranchMap(session)
    assert f'data-choice-id="{open_choice.id}"' in view.map.svg and 'class="wb-open"' in view.map.svg
    assert view.write_button.disabled
    press(view.write_button)
    assert "click an open choice" in view.error
    view.map.selected = "open:" + open_choice.id  # what the ES module sends for a dashed box
    view.map.clicks += 1
    assert view.selected == "open:" + open_choice.id and not view.write_button.disabled
    assert "The Gull Rock" in view.selected_pane.object and "not written yet" in view.selected_pane.object
    opened: list[str] = []
    view.on_open(lambda s: opened.append(s.title))
    press(view.write_button)
    assert view.error == "" and opened == ["The Gull Rock"]
    with reopen(project) as saved:
        assert saved.choice(open_choice.id).target.title == "The Gull Rock"
    assert 'class="wb-open"' not in view.map.svg
    # the stuck view: the new scene has no way out yet
    view.view_select.value = "Where can the reader get stuck?"
    assert view.view == "stuck" and "No way out" in view.stuck_pane.object
    assert "The Gull Rock" in view.stuck_pane.object
    view.view_select.value = "Branches"
    assert view.stuck_pane.object == ""


# ---------------------------------------------------------------- cast board
def test_cast_cards_edit_and_add(session: Any) -> None:
    board = CastBoard(session)
    assert [c.title for c in board.cards.objects] == session.project.cast.names()
    board.update("Tomas Reyes", personality="Charming and careful.", voice={"speed": 1.1, "pitch": 1.0})
    board.new_name.value = "Old Fenn"
    press(board.add_new_button)
    assert board.error == ""
    with reopen(session.project) as saved:
        assert saved.cast["Tomas Reyes"].personality == "Charming and careful."
        assert saved.cast["Tomas Reyes"].voice["speed"] == 1.1
        assert "Old Fenn" in saved.cast
    assert len(board.cards.objects) == 4


def test_cast_save_button_reads_the_fields(session: Any) -> None:
    board = CastBoard(session)
    card = board.cards.objects[0]
    name = card.title
    desc = next(w for w in card.objects if "wb-field-description" in getattr(w, "css_classes", []))
    desc.value = "Keeper of the light, now tired."
    save = next(
        w
        for row in card.objects
        if hasattr(row, "objects")
        for w in row.objects
        if "wb-save-character" in getattr(w, "css_classes", [])
    )
    press(save)
    assert board.error == ""
    with reopen(session.project) as saved:
        assert saved.cast[name].description == "Keeper of the light, now tired."


def test_cast_library_round_trip(session: Any) -> None:
    from workbench import open_cast

    open_cast().add("Harbour Cat", description="A cat that owns the quay.")
    board = CastBoard(session)
    assert board.library_select.options == ["Harbour Cat"]
    press(board.add_library_button)
    assert "Harbour Cat" in session.project.cast and session.project.cast["Harbour Cat"].library_id
    assert board.library_select.options == []
    board.save_to_library("Mara Quell")
    assert "Mara Quell" in open_cast()


def test_cast_card_export_and_import(session: Any) -> None:
    pytest.importorskip("workbench.interop.cards")
    board = CastBoard(session)
    card = json.loads(board.card_json("Ines Quell"))
    assert card["spec"] == "chara_card_v3" and card["data"]["name"] == "Ines Quell"
    png = board.card_png("Ines Quell")
    assert png.startswith(b"\x89PNG")
    card["data"]["name"] = "Ines Again"
    board.card_file.value = json.dumps(card).encode()
    board.card_file.filename = "ines.json"
    press(board.import_button)
    assert board.error == "" and "imported Ines Again" in board.status
    with reopen(session.project) as saved:
        assert saved.cast["Ines Again"].description == session.project.cast["Ines Quell"].description
    board.card_file.value = png  # the same character again: refused with a clear message
    board.card_file.filename = "ines.png"
    press(board.import_button)
    assert "already has a character called 'Ines Quell'" in board.error


def test_cast_portrait_and_voice(session: Any) -> None:
    board = CastBoard(session)
    board.portrait("Mara Quell")
    with reopen(session.project) as saved:
        sha = saved.cast["Mara Quell"].portrait
        assert sha and saved.assets.get(sha).mime == "image/png"
    board.refresh()
    assert "wb-portrait" in board.cards.objects[0].objects[0].object
    try:
        asset = board.play_line("Mara Quell", "The sea keeps what it takes.")
    except Exception as exc:  # Piper is an optional, GPL extra
        from tests.conftest import skip_or_fail

        skip_or_fail(f"the Piper voice: {exc}")
        return
    assert asset.mime.startswith("audio/")
    assert any(
        "wb-audio" in str(getattr(o, "object", ""))
        for row in board.cards.objects[0].objects
        if hasattr(row, "objects")
        for o in row.objects
    )


# ---------------------------------------------------------------- media gallery
def test_media_storyboard_reseed_and_table_read(session: Any) -> None:
    media = MediaGallery(session)
    media.scene_select.value = session.project.scene("A Stranger on the Quay").id
    media.frames_input.value = 2
    media.storyboard(wait=True)
    assert media.error == ""
    first = list(media.frame_shas)
    assert len(first) == 2 and all(s in session.project.assets for s in first)
    assert media.frames_pane.object.count("<img") == 2
    press(media.reseed_button)
    media.wait(120)
    assert media.seed == 1 and media.seed_input.value == 1
    assert media.frame_shas != first  # another seed, other frames
    try:
        media.table_read(wait=True)
    except Exception:
        pass
    if media.error:
        from tests.conftest import skip_or_fail

        skip_or_fail(f"the Piper voice: {media.error}")
    assert media.audio_sha in session.project.assets and "<audio" in media.audio_pane.object


# ---------------------------------------------------------------- context viewer
@pytest.mark.slow
def test_context_viewer_shows_parts_tokens_and_lore(session: Any) -> None:
    ctx = ContextViewer(session)
    ctx.scene_select.value = session.project.scene("Trusting Tomas").id
    ctx.assemble(wait=True)
    assert ctx.error == ""
    assert ctx.context.total > 0 and ctx.context.lore_fired
    html = ctx.pane.object
    assert "wb-part" in html and f"<b>{ctx.context.total}</b> of {ctx.context.budget}" in html
    assert all(p.name in html for p in ctx.context.parts)


# ---------------------------------------------------------------- outline
def test_outline_edits_are_saved(session: Any) -> None:
    view = OutlineView(session)
    assert view.title_input.value == session.project.title
    assert view.outline_button.disabled  # the sample already has scenes
    view.title_input.value = "Skerry Point"
    press(view.save_title_button)
    view.logline_input.value = "A keeper, a stranger, a sister and a dark lamp."
    press(view.save_logline_button)
    view.save_character("Mara Quell", description="The keeper.")
    quay = session.project.scene("A Stranger on the Quay")
    view.save_scene(quay, title="The Stranger", summary="Tomas arrives.")
    assert view.error == ""
    with reopen(session.project) as saved:
        assert saved.title == "Skerry Point"
        assert saved.logline.startswith("A keeper")
        assert saved.cast["Mara Quell"].description == "The keeper."
        assert (
            saved.scene(quay.id).title == "The Stranger" and saved.scene(quay.id).summary == "Tomas arrives."
        )
    press(view.regen["nonsense"]) if "nonsense" in view.regen else None
    view.attempt(lambda: view.regenerate("nonsense"))
    assert "outline levels" in view.error


def test_outline_rows_are_updated_in_place(session: Any) -> None:
    """Another writer's fork adds one row; every other row (and its widgets on every page) stays."""
    view = OutlineView(session)
    before = list(view.scenes_box.objects)
    start = session.project.start
    session.fork(start, "Mara rows out to the wreck")
    view.refresh()
    after = view.scenes_box.objects
    assert len(after) == len(before) + 1
    assert [id(r) for r in after if any(r is b for b in before)] == [id(b) for b in before]
    session.project.rename(start, "Lamp Room")
    view.refresh()
    assert view.scenes_box.objects[0] is before[0]
    assert view.scenes_box.objects[0].objects[0].value == "Lamp Room"
    assert view.characters_box.objects[0].objects[0].name == next(iter(session.project.cast)).name


@pytest.mark.slow
def test_outline_regenerates_the_title_from_the_edited_logline(project: Any) -> None:
    from workbench.session import Session

    session = Session(project)
    view = OutlineView(session)
    assert not view.outline_button.disabled  # an empty project can be outlined
    press(view.save_logline_button)
    assert "logline is empty" in view.error
    view.logline_input.value = "A lighthouse keeper finds a message in a bottle addressed to her."
    press(view.save_logline_button)
    view.seed_input.value = "3"
    press(view.regen["title"])
    view.wait(600)
    assert not view.busy and view.error == "", view.error
    with reopen(project) as saved:
        assert saved.logline.startswith("A lighthouse keeper") and saved.title
        assert view.title_input.value == saved.title
    assert view.status == "title regenerated"


# ---------------------------------------------------------------- workbench
def test_workbench_tabs_open_and_registered_views(session: Any) -> None:
    import panel as pn

    register_view("Lines", lambda s: pn.pane.Markdown(f"{len(s.project.scenes)} scenes"))
    register_view("Broken", lambda s: 1 / 0)
    try:
        wb = Workbench(session)
    finally:
        unregister_view("Lines")
        unregister_view("Broken")
    names = wb.tab_names
    assert names == list(wb.tabs._names)
    assert names[:9] == ["Write", "Map", "Cast", "Media", "Context", "Outline", "Story", "A/B", "Grid"]
    assert names[9:] == ["Lines", "Broken"]
    assert wb.extras["Lines"].object == "7 scenes"
    assert "failed" in wb.extras["Broken"].object
    assert "Skerry Point" in wb.header.object
    wb.tabs.active = 1
    click_scene(wb.map, session.project.scene("Leaving It Dark"))
    # the map stays in sight; every view follows the selection
    assert wb.tabs.active == 1 and wb.editor.scene.title == "Leaving It Dark"
    assert wb.media.scene.title == "Leaving It Dark"
    wb.map.edit_button.clicks += 1  # "Write this scene" shows the editor
    assert wb.tabs.active == 0 and wb.editor.scene.title == "Leaving It Dark"
    wb.close()


def test_workbench_from_a_path(sample: Any) -> None:
    wb = Workbench(str(sample.file))
    assert wb.session.project.file == sample.file
    wb.close()
    wb.session.close()


def test_notebook_display_helpers(session: Any) -> None:
    from bokeh.models.ui import UIElement

    from workbench.widgets import SceneEditor, show

    editor = SceneEditor(session)
    assert show(editor) is editor  # Panel's own display: stylesheets inlined, offline
    pytest.importorskip("jupyter_bokeh")
    widget = show(editor, ipywidget=True)
    assert type(widget).__name__ == "BokehModel"
    css = [getattr(s, "url", "") for m in widget._model.select({"type": UIElement}) for s in m.stylesheets]
    assert not [u for u in css if u.startswith("http")], "stylesheets would load from a CDN"


def test_only_the_open_tab_follows_each_change(session: Any) -> None:
    """Views in closed tabs catch up when their tab opens, so a served story open on many pages
    re-renders one view per page after each change."""
    wb = Workbench(session)
    calls: dict[str, int] = {"map": 0, "editor": 0}
    for name, view in (("map", wb.map), ("editor", wb.editor)):
        real = view.refresh
        view.refresh = lambda real=real, name=name: (calls.__setitem__(name, calls[name] + 1), real())[1]  # type: ignore[method-assign]
    session.fork(session.project.start, "Mara rows out to the wreck")
    assert calls == {"map": 0, "editor": 1}
    wb.tabs.active = 1  # the Map tab
    assert calls["map"] == 1 and "Mara rows out to the wreck" in wb.map.branch_select.options
    session.fork(session.project.start, "Mara sleeps")
    assert calls["map"] == 2 and calls["editor"] == 1  # now the editor waits
    wb.tabs.active = 0
    assert calls["editor"] == 2
    wb.close()


def test_the_map_folds_readers_play_throughs_away(session: Any) -> None:
    """A reader's play adds a branch and the scenes it wrote; the writer's map shows them only
    when asked ("Show play-throughs")."""
    p = session.project
    quay = p.scene("A Stranger on the Quay")
    with p.transaction("play: Mara dives", surface="play"):
        played = p.add_scene("Mara dives", after=quay, choice="dive")
        played.add_take("Mara dives into the black water.", source="model", provenance={"play": True})
        p.set_branch("play 1", quay)
        p.extend_branch("play 1", played)
    view = BranchMap(session)
    assert "play 1" not in view.branch_select.options and "Mara dives" not in view.map.svg
    assert "A Stranger on the" in view.map.svg and view.play_box.label == "Show play-throughs (1)"
    view.play_box.value = True
    assert "play 1" in view.branch_select.options and "Mara dives" in view.map.svg


def test_story_view_settings_lore_branches_and_downloads(session: Any) -> None:
    """What was only in Python or the CLI: style, author's note, lore, branches and exports."""
    from workbench.widgets import StoryView

    p = session.project
    view = StoryView(session)
    view.fields["author_note"].value_input = "Keep the sea in every scene."
    view.save_settings_button.clicks += 1
    assert view.error == "" and p.author_note == "Keep the sea in every scene."
    assert p.undo() == "edit the story's settings" and p.author_note != "Keep the sea in every scene."
    view.lore_keys.value = "gull, gulls"
    view.lore_content.value = "The gulls of Skerry Point follow the ferry."
    view.add_lore_button.clicks += 1
    entry = next(e for e in p.lore if e.name == "gull")
    assert entry.keys == ("gull", "gulls") and view.lore_keys.value_input == ""
    view.add_lore_button.clicks += 1  # the boxes are empty now: nothing old is added again
    assert "content" in view.error and sum(e.name == "gull" for e in p.lore) == 1
    view.remove_lore(entry.id)
    assert "gull" not in [e.name for e in p.lore]
    view.branch_select.value = "ines"
    view.branch_name.value_input = "the sister"
    view.rename_branch_button.clicks += 1
    assert "the sister" in p.branches and "ines" not in p.branches
    view.delete_branch("the sister")
    assert "the sister" not in p.branches
    view.branch_select.value = "main"
    view.delete_branch_button.clicks += 1
    assert "main is the story's own line" in view.error and "main" in p.branches
    assert {"fountain", "twee", "ink", "yarn"} <= set(view.format_select.options)
    data, name = view.export_bytes("fountain")
    assert name.endswith(".fountain") and b"INT." in data
    data, name = view.export_bytes("twee")
    assert name.endswith(".twee") and b":: StoryTitle" in data
    view.format_select.value = "ink"
    assert view.download.filename.endswith(".ink")
    assert view._download().getvalue().strip()
    view.close()


def test_blind_ab_logs_the_pick_and_then_reveals(session: Any) -> None:
    from workbench.widgets import ABView

    p = session.project
    view = ABView(session, seed=3)
    assert view.pair is None and "two or more takes" in view.reveal_pane.object
    p.start.add_take("INT. LIGHTHOUSE - NIGHT\n\nMara climbs the stairs again.", source="writer")
    assert view.pair is not None  # the view follows the change: the start scene has two takes now
    a, b = view.pair.a, view.pair.b
    shown = view.a_pane.object + view.b_pane.object
    for take in (a, b):
        assert "seed" not in shown and str(take.provenance.get("model", "@@")) not in shown  # blind
    before = len([e for e in p.feedback() if e.kind == "ab"])
    view.b_button.clicks += 1
    events = [e for e in p.feedback() if e.kind == "ab"]
    assert len(events) == before + 1 and events[-1].take_id == b.id and tuple(events[-1].others) == (a.id,)
    assert "A was" in view.reveal_pane.object and view.a_button.disabled
    view.b_button.clicks += 1  # judged already: nothing more is logged
    assert len([e for e in p.feedback() if e.kind == "ab"]) == before + 1
    view.next_button.clicks += 1
    assert not view.a_button.disabled and view.reveal_pane.object == ""


def test_a_greyed_out_outline_button_says_why(session: Any, project: Any) -> None:
    from workbench import Session
    from workbench.widgets import OutlineView

    view = OutlineView(session)
    assert view.outline_button.disabled and "has scenes already" in view.outline_note.object
    empty = OutlineView(Session(project))
    assert not empty.outline_button.disabled and empty.outline_note.object == ""
