"""The branch map: the story graph, clickable; fork from a scene; compare two branches; write the
scene behind an open choice; see where a reader can get stuck."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput, WorkbenchError
from ..play import is_play_branch
from ..render import branch_map_svg, compare_html, drop_position, esc, stuck_html
from .base import SessionView, safe_call
from .components import Checkbox, ClickableMap, LiveHTML, RadioButtonGroup, Select, set_text, text_box, typed

if TYPE_CHECKING:
    from ..session import Session

NO_COMPARE = "(none)"
OPEN = "open:"  # the map's id for an open choice's dashed box: "open:<choice id>"
VIEWS = {"Branches": "branch", "Where can the reader get stuck?": "stuck"}


class BranchMap(SessionView):
    """The story graph: click a scene to open it, fork a new branch from it, compare two branches;
    click an open choice's dashed box to write the scene behind it; switch to the view of where a
    reader can get stuck."""

    branch = param.String(default="main", doc="The highlighted branch.")
    compare = param.String(default="", doc="A second branch to compare with ('' = none).")
    selected = param.String(default="", doc="The id of the selected scene ('open:<id>' for an open choice).")
    view = param.String(
        default="branch", doc="'branch' (branches highlighted) or 'stuck' (where a reader gets stuck)."
    )
    show_play = param.Boolean(
        default=False, doc="Show readers' play-throughs (their branches and the scenes they wrote)."
    )

    def __init__(self, session: Session, on_open: Callable[[Any], None] | None = None, **params: Any) -> None:
        super().__init__(session, **params)
        self._on_open: list[Callable[[Any], None]] = [on_open] if on_open else []
        self._on_write: list[Callable[[Any], None]] = []
        self.map = ClickableMap(sizing_mode="stretch_width", css_classes=["wb-branch-map-view"])
        self.branch_select = Select(label="Branch", options=[], width=200, css_classes=["wb-branch-select"])
        self.compare_select = Select(
            label="Compare with", options=[NO_COMPARE], width=200, css_classes=["wb-compare-select"]
        )
        self.selected_pane = LiveHTML("", css_classes=["wb-selected-scene"])
        self.choice_input = text_box(
            pn.widgets.TextInput(
                label="Fork: what happens instead?",
                placeholder="e.g. Mara refuses the stranger's help",
                width=360,
                css_classes=["wb-fork-choice"],
            )
        )
        self.fork_button = pn.widgets.Button(
            label="Fork from selected scene", color="primary", css_classes=["wb-fork"]
        )
        self.compare_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-compare-view"])
        self.view_select = RadioButtonGroup(
            options=list(VIEWS), value="Branches", css_classes=["wb-map-view"]
        )
        self.write_button = pn.widgets.Button(
            label="Write the scene behind this choice", disabled=True, css_classes=["wb-write-open"]
        )
        self.edit_button = pn.widgets.Button(
            label="Write this scene", disabled=True, css_classes=["wb-edit-selected"]
        )
        self.stuck_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-stuck-pane"])
        self.play_box = Checkbox(label="Show play-throughs", value=False, css_classes=["wb-show-play"])
        self.play_box.link(self, value="show_play")
        self.view_select.param.watch(lambda e: setattr(self, "view", VIEWS.get(e.new, "branch")), "value")
        self.write_button.on_click(safe_call(self, self.write_open_choice))
        self.edit_button.on_click(safe_call(self, self.write_selected))
        self.map.param.watch(self._on_click, "clicks")
        self.map.param.watch(self._on_move, "moves")
        self.branch_select.param.watch(lambda e: setattr(self, "branch", e.new or "main"), "value")
        self.compare_select.param.watch(
            lambda e: setattr(self, "compare", "" if e.new in (None, NO_COMPARE) else e.new), "value"
        )
        self.fork_button.on_click(safe_call(self, lambda: self.fork(typed(self.choice_input))))
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.branch_select,
                self.compare_select,
                pn.Column(pn.Spacer(height=18), self.view_select),
                pn.Column(pn.Spacer(height=22), self.play_box),
            ),
            self.map,
            self.selected_pane,
            pn.FlexBox(self.edit_button, self.write_button),
            pn.FlexBox(self.choice_input, pn.Column(pn.Spacer(height=18), self.fork_button)),
            self.stuck_pane,
            self._status,
            self.compare_pane,
            sizing_mode="stretch_width",
            css_classes=["wb-branch-map-tab"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def on_open(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(scene)`` when the writer clicks a scene (the map stays in view)."""
        self._on_open.append(callback)

    def on_write(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback(scene)`` when the writer asks to write the selected scene (e.g. to show
        the editor), and after a fork or an open choice made a new scene to write."""
        self._on_write.append(callback)

    def write_selected(self) -> Any:
        """Hand the selected scene to the editor (``on_write`` listeners)."""
        if not self.selected or self.selected.startswith(OPEN):
            raise InvalidInput("click a scene on the map first")
        sc = self.project.scene(self.selected)
        for cb in self._on_write:
            cb(sc)
        return sc

    def _on_click(self, _event: Any) -> None:
        self.attempt(lambda: self.select(self.map.selected))

    def _on_move(self, _event: Any) -> None:
        def move() -> Any:
            try:
                data = json.loads(self.map.moved)
                scene, x, y = str(data["id"]), float(data["x"]), float(data["y"])
            except (ValueError, KeyError, TypeError):
                raise InvalidInput("the map sent a move it could not read; drag the scene again") from None
            return self.move_scene(scene, x, y)

        self.attempt(move)

    def move_scene(self, scene: Any, x: float, y: float) -> Any:
        """Put ``scene`` where the writer dropped it (its box's top-left at ``x``, ``y`` on the map):
        it stays in its column (the story's order decides that) and takes the row it was dropped
        on, saved as its map position in one undoable step; the other scenes are ordered around it."""
        sc = self.project.scene(scene)
        position = drop_position(self.project, sc.id, x, y)
        self.project.update_scene(sc, position=position, label=f"move {sc.title} on the map")
        self.status = f"moved {sc.title!r} on the map (Undo puts it back)"
        self.refresh()
        return sc

    def select(self, scene: Any) -> Any:
        """Select ``scene`` (a Scene, id or title) and open it wherever views listen; ``"open:<id>"``
        selects an open choice (its scene is not written yet) instead."""
        if isinstance(scene, str) and scene.startswith(OPEN):
            choice = self.project.choice(scene[len(OPEN) :])
            self.selected = OPEN + choice.id
            return choice
        sc = self.project.scene(scene)
        self.selected = sc.id
        for cb in self._on_open:
            cb(sc)
        return sc

    def write_open_choice(self) -> Any:
        """Make the scene behind the selected open choice (titled as the choice wants) and open it,
        so the writer writes it (or drafts it with the model) like any scene."""
        if not self.selected.startswith(OPEN):
            raise InvalidInput("click an open choice (a dashed box) on the map first")
        choice = self.project.choice(self.selected[len(OPEN) :])
        tips = self.project.branches.ending_at(choice.source)
        scene = self.project.fill_choice(choice, branch=tips[0] if tips else None)
        self.status = f"wrote the scene {scene.title!r} behind the choice {choice.label!r}"
        return self.select(scene)

    @param.depends("selected", "branch", "compare", "view", "show_play", watch=True)
    def _selection_changed(self) -> None:
        self.refresh()

    def fork(self, choice: str) -> Any:
        """A new branch from the selected scene: a new scene where ``choice`` happens instead."""
        if not self.selected:
            raise InvalidInput("click a scene on the map first: the fork starts there")
        new = self.session.fork(self.selected, choice)
        names = self.project.branches.of(new)
        set_text(self.choice_input, "")
        if names:
            self.branch = names[0]
        self.selected = new.id  # stay on the map: the writer sees the new branch
        self.status = f"forked: new branch {self.branch!r} with scene {new.title!r}"
        return new

    def refresh(self) -> None:
        # one snapshot: a writer in another program deleting a scene between the reads below
        # must not leave a choice or a selection pointing at a scene this view has not read
        with self.project.reading():
            self._refresh()

    def played(self) -> tuple[set[str], list[str]]:
        """The scenes readers' play wrote and the branches of play-throughs (named "play N" by
        the player, or running into a scene play wrote), as the map folds them away."""
        project = self.project
        scenes = project.played_scene_ids()
        branches = [
            b.name
            for b in project.branches.values()
            if is_play_branch(b.name) or any(i in scenes for i in b.scene_ids)
        ]
        return scenes, branches

    def _refresh(self) -> None:
        project = self.project
        played, play_branches = self.played()
        names = [n for n in project.branches if self.show_play or n not in play_branches]
        self.play_box.label = (
            f"Show play-throughs ({len(play_branches)})" if play_branches else "Show play-throughs"
        )
        self.play_box.disabled = not play_branches
        if self.branch not in names and names:
            self.branch = "main" if "main" in names else names[0]
            return
        if self.compare and self.compare not in names:
            self.compare = ""
            return
        if self.selected:
            try:
                if self.selected.startswith(OPEN):
                    if not project.choice(self.selected[len(OPEN) :]).is_open:
                        raise KeyError(self.selected)
                else:
                    project.scene(self.selected)
            except (KeyError, WorkbenchError):
                self.selected = ""
                return
        if names != self.branch_select.options:
            self.branch_select.options = names
        self.branch_select.value = self.branch if self.branch in names else None
        others = [NO_COMPARE, *[n for n in names if n != self.branch]]
        if others != self.compare_select.options:
            self.compare_select.options = others
        self.compare_select.value = self.compare or NO_COMPARE
        # the page marks the selected box itself, so selecting a scene sends no new map
        svg = branch_map_svg(
            project,
            branch=self.branch,
            compare=self.compare or None,
            view=self.view,
            hide=() if self.show_play else played,
        )
        if svg != self.map.svg:
            self.map.svg = svg
        self.map.selected = self.selected
        self.stuck_pane.object = stuck_html(project) if self.view == "stuck" else ""
        self.write_button.disabled = not self.selected.startswith(OPEN)
        if self.selected.startswith(OPEN):
            c = project.choice(self.selected[len(OPEN) :])
            self.selected_pane.object = (
                f"<div style='font:13px system-ui,sans-serif'>Open choice <b>{esc(c.label)}</b> from "
                f"<b>{esc(c.source.title)}</b>: the scene <b>{esc(c.wanted or c.label)}</b> is not "
                "written yet.</div>"
            )
        elif self.selected:
            sc = project.scene(self.selected)
            self.selected_pane.object = (
                f"<div style='font:13px system-ui,sans-serif'>Selected: <b>{esc(sc.title)}"
                f"</b> · on {esc(', '.join(project.branches.of(sc)) or 'no branch')}</div>"
            )
        else:
            self.selected_pane.object = "<div style='color:#6b7280'>Click a scene to open it.</div>"
        self.fork_button.disabled = not self.selected or self.selected.startswith(OPEN)
        self.edit_button.disabled = self.fork_button.disabled
        self.compare_pane.object = compare_html(project, self.branch, self.compare) if self.compare else ""
