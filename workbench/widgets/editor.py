"""The scene editor: a scene's text, takes generated with streaming, and the writer's feedback."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from .. import config
from ..errors import InvalidInput
from ..generate.plan import plan_preview
from ..render import esc, screenplay_html, take_html
from .base import SessionView, safe_call
from .components import (
    KeyShortcuts,
    LiveHTML,
    RadioButtonGroup,
    Select,
    TakeCarousel,
    set_text,
    text_box,
    typed,
)

if TYPE_CHECKING:
    from ..session import Session

STREAM_INTERVAL = 0.12  # seconds between page updates while tokens stream in
SURFACE = "write"  # the writer's Undo passes over a reader's play moves (Project.undo surfaces)


class SceneEditor(SessionView):
    """Write a scene: generate N takes (streamed), flip through them, edit the take shown in place
    (its card becomes a screenplay editor), regenerate it in place, choose, rate, stop, undo and
    redo (with a history), add, rename and delete scenes; keyboard shortcuts (the "Keys" button
    lists them)."""

    scene_id = param.String(default="", doc="The scene being edited ('' = the start scene).")
    branch = param.String(default="", doc="The branch to write on ('' = the scene's own branch, main first).")
    n = param.Integer(default=3, bounds=(1, 8), doc="How many takes one click generates.")
    seed = param.String(default="", doc="A seed for reproducible takes ('' = a new random seed).")
    streamed = param.Dict(default={}, doc="Text streamed so far per take index, while generating.")

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._buffer: dict[int, str] = {}
        self._plans: dict[int, str] = {}
        self.planned: dict[int, str] = {}  # each take's plan as a line, while it was planned
        self._on_plan: Any = None
        self._last_push = 0.0
        self._syncing = False
        self.scene_select = Select(label="Scene", options={}, css_classes=["wb-scene-select"], width=260)
        self.n_input = pn.widgets.IntInput(
            label="Takes", value=self.n, start=1, end=8, width=80, css_classes=["wb-n-takes"]
        )
        self.seed_input = text_box(
            pn.widgets.TextInput(label="Seed", placeholder="random", width=110, css_classes=["wb-seed"])
        )
        self.generate_button = pn.widgets.Button(
            label=f"Generate {self.n} take{'s' if self.n != 1 else ''}",
            color="primary",
            css_classes=["wb-generate"],
        )
        self.stop_button = pn.widgets.Button(
            label="Stop", color="warning", disabled=True, css_classes=["wb-stop"]
        )
        self.undo_button = pn.widgets.Button(label="Undo", disabled=True, css_classes=["wb-undo"])
        self.redo_button = pn.widgets.Button(label="Redo", disabled=True, css_classes=["wb-redo"])
        self.another_button = pn.widgets.Button(label="One more take", css_classes=["wb-one-more"])
        self.continue_button = pn.widgets.Button(
            label="Continue this take", disabled=True, css_classes=["wb-continue"]
        )
        self.history_pane = LiveHTML("", css_classes=["wb-history"], sizing_mode="stretch_width")
        self.history_card = pn.Card(
            self.history_pane,
            title="History",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["wb-history-card"],
        )
        self.scene_title = text_box(
            pn.widgets.TextInput(
                label="Scene title", placeholder="title", width=220, css_classes=["wb-scene-title"]
            )
        )
        self.add_scene_button = pn.widgets.Button(label="Add scene", css_classes=["wb-add-scene"])
        self.rename_scene_button = pn.widgets.Button(label="Rename", css_classes=["wb-rename-scene"])
        self.delete_scene_button = pn.widgets.Button(
            label="Delete scene", color="danger", css_classes=["wb-delete-scene"]
        )
        self.keys = KeyShortcuts(scope="wb-scene-editor", css_classes=["wb-editor-keys"])
        self.keys.bind("ctrl+enter", "Generate takes", lambda: self.attempt(self.generate))
        self.keys.bind("ctrl+shift+enter", "Continue this take", lambda: self.attempt(self.continue_take))
        self.keys.bind("alt+arrowleft", "Previous take", lambda: self.swipe(-1))
        self.keys.bind("alt+arrowright", "Next take", lambda: self.swipe(1))
        self.keys.bind(
            "e",
            "Edit the take shown in place (or Enter on the take)",
            lambda: self.attempt(self.start_editing),
            text=False,
        )
        self.keys.describe("ctrl+s", "While editing in place: save as a new take (Ctrl+Enter too)")
        self.keys.describe("escape", "While editing in place: cancel")
        self.keys.bind("ctrl+z", "Undo (outside a text box)", lambda: self.attempt(self.undo), text=False)
        self.keys.bind(
            "ctrl+shift+z", "Redo (outside a text box)", lambda: self.attempt(self.redo), text=False
        )
        self.keys.bind("ctrl+y", "Redo (outside a text box)", lambda: self.attempt(self.redo), text=False)
        self.progress = pn.indicators.Progress(
            value=0, max=100, visible=False, sizing_mode="stretch_width", css_classes=["wb-progress"]
        )
        self.text_pane = LiveHTML("", css_classes=["wb-scene-text"], sizing_mode="stretch_width")
        self.stream_pane = LiveHTML("", css_classes=["wb-streaming"], sizing_mode="stretch_width")
        self.carousel = TakeCarousel(sizing_mode="stretch_width", css_classes=["wb-takes"])
        self.choose_button = pn.widgets.Button(
            label="Choose this take", color="success", css_classes=["wb-choose"], disabled=True
        )
        self.rating = RadioButtonGroup(
            label="Rating",
            options={"–": 0, "★1": 1, "★2": 2, "★3": 3, "★4": 4, "★5": 5},
            value=0,
            css_classes=["wb-rating"],
            disabled=True,
        )

        self.scene_select.param.watch(self._on_scene_select, "value")
        self.n_input.link(self, value="n")
        self.seed_input.link(self, value="seed")
        self.generate_button.on_click(safe_call(self, lambda: self.generate()))
        self.stop_button.on_click(lambda _e: self.stop())
        self.undo_button.on_click(safe_call(self, self.undo))
        self.redo_button.on_click(safe_call(self, self.redo))
        self.another_button.on_click(safe_call(self, lambda: self.generate(n=1)))
        self.continue_button.on_click(safe_call(self, self.continue_take))
        self.add_scene_button.on_click(safe_call(self, lambda: self.add_scene(typed(self.scene_title))))
        self.rename_scene_button.on_click(safe_call(self, lambda: self.rename_scene(typed(self.scene_title))))
        self.delete_scene_button.on_click(safe_call(self, self.delete_scene))
        self.choose_button.on_click(safe_call(self, self.choose))
        self.carousel.on(
            "save", lambda take_id, text: self.attempt(lambda: self.save_in_place(text, take_id))
        )
        self.carousel.on(
            "regenerate", lambda take_id: self.attempt(lambda: self.regenerate_take(take=take_id))
        )
        self.rating.param.watch(self._on_rating, "value")
        self.carousel.param.watch(lambda _e: self._sync_take_widgets(), "index")
        # the toolbars wrap on a narrow screen (800 px) instead of pushing buttons off it
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.scene_select,
                self.n_input,
                self.seed_input,
                pn.Column(
                    pn.Spacer(height=18),
                    pn.FlexBox(
                        self.generate_button,
                        self.another_button,
                        self.stop_button,
                        self.undo_button,
                        self.redo_button,
                        self.keys,
                        flex_wrap="wrap",
                        align_items="center",
                    ),
                ),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
                css_classes=["wb-editor-toolbar"],
            ),
            self.progress,
            self._status,
            self.text_pane,
            self.stream_pane,
            pn.pane.Markdown("#### Takes", margin=(0, 10)),
            self.carousel,
            pn.FlexBox(self.choose_button, self.continue_button, self.rating, flex_wrap="wrap"),
            pn.FlexBox(
                self.scene_title,
                pn.Column(
                    pn.Spacer(height=18),
                    pn.FlexBox(self.add_scene_button, self.rename_scene_button, self.delete_scene_button),
                ),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
                css_classes=["wb-scene-tools"],
            ),
            self.history_card,
            sizing_mode="stretch_width",
            css_classes=["wb-scene-editor"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # ---- what is shown
    @property
    def scene(self) -> Any:
        """The scene being edited (the start scene when none is picked), or None in an empty project."""
        return self._picked_scene()

    @property
    def takes(self) -> list[Any]:
        """The takes the carousel shows, oldest first; a regenerated take is folded away and the
        take that regenerated it is shown in its place (``Session.shown_takes``)."""
        scene = self.scene
        return self.session.shown_takes(scene) if scene is not None else []

    @property
    def current_take(self) -> Any:
        """The take the carousel shows, or None."""
        takes = self.takes
        if not takes:
            return None
        return takes[min(self.carousel.index, len(takes) - 1)]

    def open(self, scene: Any) -> None:
        """Show ``scene`` (a Scene, id or title)."""
        self.scene_id = self.project.scene(scene).id

    @param.depends("scene_id", watch=True)
    def _scene_changed(self) -> None:
        self.carousel.editing = False
        self.carousel.index = 0
        self.refresh_when_shown()

    @param.depends("n", watch=True)
    def _n_changed(self) -> None:
        self.n_input.value = self.n
        self.generate_button.label = f"Generate {self.n} take{'s' if self.n != 1 else ''}"

    @param.depends("busy", watch=True)
    def _busy_changed(self) -> None:
        self.carousel.busy = self.busy
        self.generate_button.disabled = self.another_button.disabled = self.busy
        self.continue_button.disabled = self.busy or self.current_take is None
        self.stop_button.disabled = not self.busy
        self.progress.visible = self.busy

    def _on_scene_select(self, event: Any) -> None:
        if not self._syncing and event.new and event.new != self.scene_id:
            self.scene_id = event.new

    def refresh(self) -> None:
        project = self.project
        scene = self.scene
        self._syncing = True
        try:
            options = {title: sid for sid, title in project.scene_titles()}
            if options != self.scene_select.options:  # (a plain comparison is far cheaper than param's)
                self.scene_select.options = options
            if scene is not None:
                self.scene_select.value = scene.id
        finally:
            self._syncing = False
        if scene is None:
            self.carousel.takes = []
        else:
            takes = self.takes
            items = []
            for t in takes:
                bits = [t.source]
                if t.is_chosen:
                    bits.insert(0, "chosen")
                if t.provenance.get("regenerated_from"):
                    bits.append("regenerated")
                if t.rating:
                    bits.append("★" * t.rating)
                items.append({"id": t.id, "label": " · ".join(bits), "html": take_html(t), "text": t.text})
            if items != self.carousel.takes:
                self.carousel.takes = items
            if takes and self.carousel.index >= len(takes):
                self.carousel.index = len(takes) - 1
        self.rename_scene_button.disabled = self.delete_scene_button.disabled = scene is None
        self.generate_button.disabled = self.another_button.disabled = scene is None or self.busy
        self._show_undo()
        self._sync_take_widgets()

    def _show_undo(self) -> None:
        """Undo and Redo name this writer's own last change here (a reader's play is not one of
        them), and the history lists what they can undo and redo."""
        user = self.user or None
        label = self.project.undo_label_for(user, SURFACE)
        self.undo_button.label = f"Undo {_short(label)}" if label else "Undo"
        self.undo_button.disabled = label is None
        again = self.project.redo_label_for(user, SURFACE)
        self.redo_button.label = f"Redo {_short(again)}" if again else "Redo"
        self.redo_button.disabled = again is None
        steps = self.project.history(user, SURFACE, limit=30)
        if not steps:
            self.history_pane.object = "<p class='wb-empty' style='color:#6b7280'>Nothing to undo yet.</p>"
            return
        rows = "".join(
            f"<li class='wb-history-{'redo' if h['redo'] else 'undo'}' style='"
            f"{'color:#9ca3af;text-decoration:line-through' if h['redo'] else ''}'>{esc(h['label'])}"
            f"<span style='color:#9ca3af'> · {esc(str(h['ts'])[11:19])}"
            f"{' · undone' if h['redo'] else ''}</span></li>"
            for h in steps
        )
        self.history_pane.object = (
            f"<ol style='margin:0;padding-left:20px;font:13px system-ui,sans-serif'>{rows}</ol>"
        )

    def _sync_take_widgets(self) -> None:
        take = self.current_take
        self._syncing = True
        try:
            self.choose_button.disabled = take is None or take.is_chosen
            self.continue_button.disabled = take is None or self.busy or not take.text.strip()
            self.rating.disabled = take is None
            self.rating.value = (take.rating or 0) if take is not None else 0
        finally:
            self._syncing = False
        self._show_chosen(take)

    def _show_chosen(self, take: Any) -> None:
        """The chosen text shows only where it is not the take on screen (browsing another take,
        or the chosen one folded away), so the same text is not shown twice; ``text_pane`` is
        empty otherwise."""
        scene = self.scene
        chosen = scene.chosen if scene is not None else None
        if scene is None:
            html = (
                "<p class='wb-empty'>No scenes yet: give the first one a title below and click "
                "<b>Add scene</b>, or make an outline in the Outline tab.</p>"
            )
        elif chosen is None:
            html = (
                f"<p class='wb-empty' style='color:#6b7280'>{esc(scene.title)} has no "
                "text yet: generate takes.</p>"
            )
        elif take is None or take.id != chosen.id:
            html = CHOSEN_HEADING + screenplay_html(chosen.text, self.project.cast.names())
        else:
            html = ""
        # the pane stays in the layout (empty when nothing is to be shown): showing and hiding it
        # would make the browser lay the whole page out again on every choice
        if html != self.text_pane.object:
            self.text_pane.object = html

    # ---- generation
    def generate(self, n: int | None = None, seed: int | None = None) -> threading.Thread:
        """Generate takes of the scene in a thread, streaming tokens into the view."""
        scene = self.scene
        if scene is None:
            raise InvalidInput("there is no scene to write yet")
        n = self.n if n is None else n
        seed = self._seed(seed)
        cap = config.cap_new_tokens(200)
        on_token = self._start_stream({}, n, cap)
        started = time.perf_counter()
        branch = self.branch or None

        def work() -> list[Any]:
            return self.session.write_scene(
                scene,
                n=n,
                seed=seed,
                branch=branch,
                on_token=on_token,
                stop=self._stop,
                on_plan=self._on_plan,
            )

        def done(takes: list[Any]) -> None:
            with self._lock:
                snapshot, plans = dict(self._buffer), dict(self._plans)
            self._push_stream(snapshot, n, cap, plans)
            self.stream_pane.object = ""
            ids = [t.id for t in self.takes]
            if takes and takes[0].id in ids:
                self.carousel.index = ids.index(takes[0].id)
            self._sync_take_widgets()
            secs = time.perf_counter() - started
            stopped = " (stopped early)" if self._stop.is_set() else ""
            self.status = (
                f"{len(takes)} take{'s' if len(takes) != 1 else ''} written in {secs:.1f} s{stopped}"
            )

        return self.in_background(
            work, done, label=f"writing {n} take{'s' if n != 1 else ''} of {scene.title}"
        )

    def continue_take(self, seed: int | None = None) -> threading.Thread:
        """Continue the take shown where it stops (streamed): a new take, its text and what comes
        next, linked to it."""
        take = self.current_take
        if take is None:
            raise InvalidInput("there is no take to continue: generate or write the scene first")
        seed = self._seed(seed)
        on_token = self._start_stream({0: take.text}, 1, config.cap_new_tokens(200))
        started = time.perf_counter()
        branch = self.branch or None

        def work() -> list[Any]:
            return self.session.continue_take(
                take, seed=seed, branch=branch, on_token=on_token, stop=self._stop
            )

        def done(takes: list[Any]) -> None:
            self.stream_pane.object = ""
            ids = [t.id for t in self.takes]
            if takes and takes[0].id in ids:
                self.carousel.index = ids.index(takes[0].id)
            self._sync_take_widgets()
            added = len(takes[0].text) - len(take.text) if takes else 0
            self.status = f"continued: {added} more characters in {time.perf_counter() - started:.1f} s"

        return self.in_background(work, done, label=f"continuing the take of {take.scene.title}")

    def _seed(self, seed: int | None) -> int | None:
        """``seed``, else the seed box's whole number, else None (a new random seed)."""
        if seed is None and self.seed.strip():
            try:
                return int(self.seed.strip())
            except ValueError:
                raise InvalidInput(f"a seed is a whole number, not {self.seed!r}") from None
        return seed

    def _start_stream(self, start: dict[int, str], n: int, cap: int) -> Any:
        """Reset the streamed text to ``start`` and return the ``on_token`` that adds to it (the page
        is updated at most every :data:`STREAM_INTERVAL` seconds). ``self._on_plan`` does the same
        for the plans written before the takes (shown as a line each until its take's text comes)."""
        self._stop.clear()
        with self._lock:
            self._buffer = dict(start)
            self._plans = {}
        self.streamed = {}
        self.planned = {}
        self.progress.value = 0

        def feed(plan: bool, index: int, delta: str) -> None:
            with self._lock:
                target = self._plans if plan else self._buffer
                target[index] = target.get(index, "") + delta
                now = time.perf_counter()
                if now - self._last_push < STREAM_INTERVAL:
                    return
                self._last_push = now
                snapshot, plans = dict(self._buffer), dict(self._plans)
            self._push_stream(snapshot, n, cap, plans)

        self._on_plan = lambda index, delta: feed(True, index, delta)
        return lambda index, delta: feed(False, index, delta)

    def _push_stream(
        self, snapshot: dict[int, str], n: int, cap: int, plans: dict[int, str] | None = None
    ) -> None:
        self.streamed = snapshot
        previews = {i: plan_preview(p) for i, p in (plans or {}).items()}
        self.planned.update({i: line for i, line in previews.items() if line})
        parts = []
        style = (
            "border-left:3px solid #c2410c;padding:4px 8px;margin:4px 0;white-space:pre-wrap;"
            "font-family:monospace;font-size:12px"
        )
        for i in sorted(set(snapshot) | set(previews)):
            if snapshot.get(i):
                parts.append(
                    f"<div class='wb-stream' data-take-index='{i}' style='{style}'>"
                    f"<b>Take {i + 1}</b>\n{esc(snapshot[i])}</div>"
                )
            else:
                parts.append(
                    f"<div class='wb-stream wb-planning' data-take-index='{i}' style='{style};color:#57534e'>"
                    f"<b>Take {i + 1}</b> planning: {esc(previews[i]) or '…'}</div>"
                )
        self.stream_pane.object = "".join(parts)
        words = sum(len(t.split()) for t in snapshot.values())
        self.progress.value = min(99, int(100 * words / max(1, n * cap * 0.75)))
        if words or not previews:
            self.status = f"streaming: {len(snapshot)} of {n} takes, {words} words so far…"
        else:
            self.status = f"planning {len(previews)} of {n} takes…"

    def stop(self) -> None:
        """Stop generating; takes with text so far are kept."""
        self._stop.set()
        self.status = "stopping…"

    # ---- feedback
    def choose(self) -> Any:
        take = self.current_take
        if take is None:
            raise InvalidInput("there is no take to choose")
        self.session.choose(take, rater=self.rater)
        self.status = "take chosen"
        return take

    def rate(self, stars: int) -> Any:
        take = self.current_take
        if take is None:
            raise InvalidInput("there is no take to rate")
        self.session.rate(take, stars, rater=self.rater)
        self.status = f"rated {stars} star{'s' if stars != 1 else ''}"
        return take

    def _on_rating(self, event: Any) -> None:
        if self._syncing or not event.new:
            return
        self.attempt(lambda: self.rate(int(event.new)))

    def _take(self, take: Any = None) -> Any:
        """``take`` (a take of the scene shown, or its id), else the take shown; None when there is none."""
        if take is None:
            return self.current_take
        take_id = take if isinstance(take, str) else take.id
        for t in self.takes:
            if t.id == take_id:
                return t
        raise InvalidInput("that take is not shown here any more; pick the take again")

    def edit(self, text: str, take: Any = None) -> Any:
        """Save ``text`` as a new take linked to the take shown (or ``take``, one of the scene's
        takes or its id), and chosen: a hand edit, the writer's words (``Session.edit``). The
        in-place editor closes and the new take is shown."""
        original = self._take(take)
        if original is None:
            raise InvalidInput("there is no take to edit")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("the edited text is empty")
        new = self.session.edit(original, text, rater=self.rater)
        ids = [t.id for t in self.takes]
        if new.id in ids:
            self.carousel.index = ids.index(new.id)
        self.carousel.editing = False
        self.status = "edit saved as a new take"
        return new

    def start_editing(self) -> None:
        """Turn the take shown into a screenplay editor in its card (the page formats each line
        as it is typed; Save sends the text to :meth:`save_in_place`)."""
        if self.current_take is None:
            raise InvalidInput("there is no take to edit: generate or write the scene first")
        if self.busy:
            raise InvalidInput("wait for the take being written (or stop it) before editing")
        self.carousel.editing = True

    def cancel_editing(self) -> None:
        """Close the in-place editor; the take is left as it was."""
        self.carousel.editing = False

    def save_in_place(self, text: str, take: Any = None) -> Any:
        """What the in-place editor's Save does: :meth:`edit` with ``text``, or, when nothing
        was changed, close the editor and keep the take (returned either way)."""
        original = self._take(take)
        if original is not None and isinstance(text, str) and _plain(text) == _plain(original.text):
            self.carousel.editing = False
            self.status = "nothing changed: the take is as it was"
            return original
        return self.edit(text, take=original)

    def regenerate_take(self, take: Any = None, seed: int | None = None) -> threading.Thread:
        """Write the take shown (or ``take``) again with a new seed, streamed: a structured take
        from its own plan, so only the wording changes (``Session.regenerate_take``). The new take
        is shown in the old one's place; the old one is kept and folded away, and Undo brings it
        back. The seed box is not used: it is a new seed unless ``seed`` is given."""
        old = self._take(take)
        if old is None:
            raise InvalidInput("there is no take to regenerate: generate or write the scene first")
        scene = old.scene
        position = [t.id for t in self.takes].index(old.id)
        self.carousel.editing = False
        feed = self._start_stream({}, 1, config.cap_new_tokens(200))
        started = time.perf_counter()
        branch = self.branch or None

        def on_token(_index: int, delta: str) -> None:
            feed(position, delta)  # streamed under the number of the take it replaces

        def work() -> Any:
            return self.session.regenerate_take(
                old, seed=seed, on_token=on_token, stop=self._stop, branch=branch
            )

        def done(new: Any) -> None:
            self.stream_pane.object = ""
            ids = [t.id for t in self.takes]
            if new.id in ids:
                self.carousel.index = ids.index(new.id)
            self._sync_take_widgets()
            secs = time.perf_counter() - started
            stopped = " (stopped early)" if self._stop.is_set() else ""
            self.status = (
                f"take {position + 1} regenerated with seed {new.provenance.get('seed')} in {secs:.1f} s"
                f"{stopped}; Undo brings the old one back"
            )

        return self.in_background(work, done, label=f"regenerating take {position + 1} of {scene.title}")

    def swipe(self, step: int) -> None:
        """Show the previous (-1) or next (+1) take, wrapping around (not while editing in place)."""
        n = len(self.takes)
        if n and not self.carousel.editing:
            self.carousel.index = (self.carousel.index + step) % n

    def undo(self) -> str:
        """Undo this writer's last change in the writer's views (a reader's play moves are left)."""
        label = self.project.undo(by=self.user or None, surface=SURFACE)
        self.status = f"undid: {label}"
        return label

    def redo(self) -> str:
        """Redo what :meth:`undo` undid last."""
        label = self.project.redo(by=self.user or None, surface=SURFACE)
        self.status = f"redid: {label}"
        return label

    # ---- scenes
    def add_scene(self, title: str) -> Any:
        """A new scene titled ``title`` (after the scene shown, when there is one), opened here."""
        title = (title or "").strip()
        if not title:
            raise InvalidInput("give the new scene a title first")
        after = self.scene
        if after is None:
            new = self.project.add_scene(title)
        else:
            new = self.project.add_scene(title, after=after, choice=title)
        set_text(self.scene_title, "")
        self.scene_id = new.id
        self.status = f"added the scene {new.title!r}" + (f" after {after.title!r}" if after else "")
        return new

    def rename_scene(self, title: str) -> None:
        scene = self.scene
        if scene is None:
            raise InvalidInput("there is no scene to rename")
        title = (title or "").strip()
        if not title:
            raise InvalidInput("type the scene's new title first")
        old = scene.title
        self.project.rename(scene, title)
        set_text(self.scene_title, "")
        self.status = f"renamed {old!r} to {title!r}"

    def delete_scene(self) -> None:
        """Delete the scene shown (and what only it leads to); Undo brings it back."""
        scene = self.scene
        if scene is None:
            raise InvalidInput("there is no scene to delete")
        title = scene.title
        self.project.delete(scene)
        self.scene_id = ""
        self.status = f"deleted {title!r} (Undo brings it back)"


CHOSEN_HEADING = "<h4 class='wb-chosen-heading' style='margin:4px 0 6px;font:600 15px system-ui,sans-serif'>Chosen text</h4>"


def _plain(text: str) -> str:
    """Text as a writer sees it: line ends and trailing spaces do not count."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
