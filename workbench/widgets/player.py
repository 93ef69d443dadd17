"""The player view: read the story, pick a choice or type what happens, watch the next scene stream in.

``player_view(session)`` is what ``workbench serve`` mounts at ``/play``; in a notebook, show
``PlayerView(session)`` after ``pn.extension(inline=True)``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..generate.plan import plan_preview
from ..play.core import Play
from ..render import esc, screenplay_html
from .base import SessionView
from .components import Checkbox, LiveHTML, Select, set_text, text_box, typed

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["PlayerView", "player_view"]

STREAM_INTERVAL = 0.12  # seconds between page updates while a scene streams in
MUTED = "color:#6b7280;font-size:12px"


class PlayerView(SessionView):
    """A reader's view of a :class:`~workbench.play.Play`: the story so far, the scene, choices, a typed action."""

    branch = param.String(default="", doc="The branch the play extends ('' = a new 'play N' branch).")
    streamed = param.String(default="", doc="The text of the scene being written, as it streams in.")
    planned = param.String(
        default="", doc="The plan of the scene being written, as a line, while it is planned."
    )

    def __init__(
        self, session: Session, branch: str | None = None, play: Play | None = None, **params: Any
    ) -> None:
        super().__init__(session, branch=branch or "", **params)
        self.play = play or session.play(branch=branch or None)
        self._stop = threading.Event()
        self._last_push = 0.0
        self._shown: tuple[int, str] | None = None

        def pane(css: str, **extra: Any) -> LiveHTML:
            return LiveHTML("", margin=(4, 10), css_classes=[css], sizing_mode="stretch_width", **extra)

        self.title_pane = pane("wb-play-title")
        self.history_pane = pane("wb-play-history")
        self.history = pn.Card(
            self.history_pane,
            title="The story so far",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["wb-play-history-card"],
        )
        self.scene_pane = pane("wb-play-scene")
        self.stream_pane = pane("wb-play-streaming", visible=False)
        self.choices_box = pn.Column(css_classes=["wb-play-choices"], sizing_mode="stretch_width")
        self.action_input = text_box(
            pn.widgets.TextInput(
                placeholder="…or type what happens next",
                css_classes=["wb-play-action"],
                sizing_mode="stretch_width",
                max_length=500,
            )
        )
        self.go_button = pn.widgets.Button(label="Go", color="primary", css_classes=["wb-play-go"], width=80)
        self.stop_button = pn.widgets.Button(
            label="Stop", color="warning", disabled=True, css_classes=["wb-play-stop"], width=80
        )
        self.continuity_pane = pane("wb-play-continuity")
        names = [c.name for c in self.project.cast]
        self.who = Select(label="Character", options=names, css_classes=["wb-play-who"], width=180)
        self.alive_box = Checkbox(label="alive", value=True, css_classes=["wb-play-alive"])
        self.location_input = text_box(
            pn.widgets.TextInput(label="Location", css_classes=["wb-play-location"], width=200)
        )
        self.items_input = text_box(
            pn.widgets.TextInput(label="Holds (comma-separated)", css_classes=["wb-play-items"], width=260)
        )
        self.fix_button = pn.widgets.Button(label="Correct from this scene on", css_classes=["wb-play-fix"])
        self.who.param.watch(lambda _e: self._fill_fix(), "value")
        self.fix_button.on_click(lambda _e: self.attempt(self.correct))
        self.continuity_card = pn.Card(
            self.continuity_pane,
            pn.FlexBox(
                self.who,
                self.alive_box,
                self.location_input,
                self.items_input,
                self.fix_button,
                visible=bool(names),
            ),
            title="Continuity",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["wb-play-continuity-card"],
        )
        self.go_button.on_click(lambda _e: self.type_action())
        self.action_input.param.watch(lambda _e: self.type_action(), "enter_pressed")
        self.stop_button.on_click(lambda _e: self.stop())
        self.param.watch(lambda _e: self._busy_changed(), "busy")
        self._layout = pn.Column(
            self.title_pane,
            self._alert,
            self.history,
            self.scene_pane,
            self.stream_pane,
            self.choices_box,
            pn.Row(self.action_input, self.go_button, self.stop_button, sizing_mode="stretch_width"),
            self._status,
            self.continuity_card,
            css_classes=["wb-player"],
            sizing_mode="stretch_width",
            max_width=900,
        )
        self.refresh()

    def __panel__(self) -> Any:
        return self._layout

    # ---- rendering
    def _on_project_change(self, _project: Any) -> None:
        shown = (self.project.revision, self.play.scene.id)
        if shown != self._shown:  # cache writes by background work change nothing a reader sees
            super()._on_project_change(_project)

    def refresh(self) -> None:
        """Rebuild the page from the project: where the play stands, the story so far, the choices."""
        play = self.play
        scene = play.scene
        self._shown = (self.project.revision, scene.id)
        if not scene.exists:
            self.error = "the scene this play stood on was deleted; reload the page to start again"
            return
        cast = [c.name for c in self.project.cast]
        path = play.path()
        self.title_pane.object = (
            f"<div style='font-size:20px;font-weight:700'>{esc(self.project.title)}</div>"
            f"<div style='{MUTED}'>playing on branch <b class='wb-play-branch'>{esc(play.branch)}</b> · "
            f"scene {len(path)}</div>"
        )
        parts = []
        for i, s in enumerate(path[:-1]):
            label = next((c.label for c, t in s.children if t.id == path[i + 1].id), "")
            parts.append(
                f"<div class='wb-play-past'><b>{esc(s.title)}</b>{screenplay_html(s.text, cast)}"
                f"<div style='{MUTED}'>→ {esc(label)}</div></div>"
            )
        self.history_pane.object = "".join(parts) or f"<p style='{MUTED}'>This is the beginning.</p>"
        self.scene_pane.object = (
            f"<div class='wb-play-current' data-scene-id='{esc(scene.id)}'>"
            f"<div style='font-size:16px;font-weight:700' class='wb-play-scene-title'>{esc(scene.title)}</div>"
            f"{screenplay_html(scene.text, cast) if scene.text.strip() else f'<p style={MUTED!r}>No text yet.</p>'}"
            "</div>"
        )
        state = play.state()
        warn = "".join(f"<div style='color:#b91c1c'>⚠ {esc(w)}</div>" for w in state.warnings)
        self.continuity_pane.object = warn + state._repr_html_()
        self._fill_fix(state)
        if not self.busy:
            self._load_choices()

    def _fill_fix(self, state: Any = None) -> None:
        state = state or self.play.state()
        c = state.characters.get(self.who.value or "")
        if c is not None:
            self.alive_box.value = c.alive
            self.location_input.value = (c.location or "").title()
            self.items_input.value = ", ".join(c.items)

    def correct(self) -> None:
        """Store the writer's correction of the chosen character's state at the current scene."""
        items = [x.strip() for x in (self.items_input.value or "").split(",") if x.strip()]
        self.play.continuity.set(
            self.play.scene,
            self.who.value,
            alive=self.alive_box.value,
            location=self.location_input.value or None,
            items=items,
        )
        self.status = f"continuity corrected: {self.who.value} from {self.play.scene.title} on"
        self.refresh()

    def _load_choices(self) -> None:
        scene_id = self.play.scene.id
        self.choices_box.objects = [
            LiveHTML(f"<span style='{MUTED}'>choosing what could happen next…</span>")
        ]

        def load() -> None:
            try:
                choices = self.play.choices
            except Exception as exc:
                self.fail(exc)
                choices = []
            if self.play.scene.id == scene_id and not self._closed:
                self._show_choices(choices)

        threading.Thread(target=load, name="workbench-play-choices", daemon=True).start()

    def _show_choices(self, choices: list[str]) -> None:
        buttons: list[Any] = []
        for i, label in enumerate(choices):
            b = pn.widgets.Button(  # looks like something to press: an outlined button with an arrow
                label=label,
                stylesheets=[CHOICE_CSS],
                css_classes=["wb-play-choice"],
                sizing_mode="stretch_width",
                color="primary",
                variant="outline",
                disabled=self.busy,
            )
            b.on_click(self._chooser(i))
            buttons.append(b)
        if self.play.notice:
            buttons.append(LiveHTML(f"<span style='{MUTED}'>{esc(self.play.notice)}</span>"))
        if not choices:
            buttons.append(LiveHTML(f"<span style='{MUTED}'>Type what happens next.</span>"))
        self.choices_box.objects = buttons

    def _chooser(self, index: int) -> Any:
        return lambda _event: self.choose(index)

    def _busy_changed(self) -> None:
        for b in self.choices_box.objects:
            if isinstance(b, pn.widgets.Button):
                b.disabled = self.busy
        self.go_button.disabled = self.busy
        self.stop_button.disabled = not self.busy

    # ---- moves
    def choose(self, index: int) -> None:
        """Take the offered choice ``index``."""
        self._move(index)

    def type_action(self, text: str | None = None) -> None:
        """Move by a typed action (the text box's value by default)."""
        text = typed(self.action_input) if text is None else text
        text = text if text is not None else self.action_input.value
        self._move(text or "")

    def stop(self) -> None:
        self._stop.set()
        self.play.stop()

    def _move(self, move: int | str) -> None:
        if self.busy:
            self.error = "the next scene is still being written: wait for it, or press Stop"
            return
        self._stop = threading.Event()
        stop = self._stop
        self.streamed = ""
        self.planned = ""
        self._last_push = 0.0
        buffer: list[str] = []

        def on_token(_i: int, piece: str) -> None:
            buffer.append(piece)
            now = time.perf_counter()
            if now - self._last_push >= STREAM_INTERVAL or not self.streamed:
                self._last_push = now
                self._push("".join(buffer))

        plan: list[str] = []

        def on_plan(_i: int, piece: str) -> None:  # before the text comes: where, who, what happens
            plan.append(piece)
            line = plan_preview("".join(plan))
            now = time.perf_counter()
            if line and not buffer and now - self._last_push >= STREAM_INTERVAL:
                self._last_push = now
                self.planned = line
                self.status = f"planning: {line}"

        def work() -> Any:
            return self.play.move(move, on_token=on_token, stop=stop, on_plan=on_plan)

        def done(_scene: Any) -> None:
            set_text(self.action_input, "")
            self.stream_pane.visible = False
            self.stream_pane.object = ""
            self.status = move_status(self.play.last_move, self.play.scene.title)
            self.refresh()

        try:
            self.in_background(work, done, label="writing the next scene")
        except Exception as exc:
            self.fail(exc)
            return
        self.choices_box.objects = []  # the status line says "writing the next scene…" (once)
        thread = self._thread

        def watch() -> None:  # a failed or stopped move leaves the play where it was: offer its choices again
            if thread is not None:
                thread.join()
            if self.error and not self._closed:
                self.stream_pane.visible = False
                self._load_choices()

        threading.Thread(target=watch, daemon=True).start()

    def _push(self, text: str) -> None:
        self.streamed = text
        self.stream_pane.visible = True
        self.stream_pane.object = (
            f"<div class='wb-play-stream' style='border-left:3px solid #c2410c;"
            f"padding-left:10px;white-space:pre-wrap;font-family:monospace;font-size:13px'>"
            f"{esc(text)}</div>"
        )

    def close(self) -> None:
        super().close()
        self.play.close()


CHOICE_CSS = ".bk-btn { text-align: left; } .bk-btn::before { content: '\\25B8\\00a0'; }"


def move_status(last_move: dict[str, Any], title: str) -> str:
    """What the status line says after a move: a followed choice has no writing time to report."""
    source = last_move.get("source", "")
    secs = float(last_move.get("seconds") or 0.0)
    first = last_move.get("first_token_s")
    if source == "followed":
        return f"on to {title}"
    if source == "pregenerated":
        return f"{title}: written ahead while you read, shown in {secs:.1f} s"
    return f"{title}: written in {secs:.1f} s" + (f" (first text after {first:.1f} s)" if first else "")


def player_view(session: Session, branch: str | None = None, user: str = "") -> PlayerView:
    """The reader-only player for ``session`` (``workbench serve`` mounts it at ``/play``)."""
    return PlayerView(session, branch=branch, user=user or "")
