"""The take grid: one scene's takes across models × seeds × temperatures side by side, each with
its storyboard frames; pick and rate from the grid (feedback events as from the editor)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import esc, image_html, screenplay_html
from .base import SessionView, safe_call
from .components import LiveHTML, RadioButtonGroup, Select, text_box, typed

if TYPE_CHECKING:
    from ..session import GridCell, Session, TakeGrid

CARD = (
    "border:1px solid #e5e7eb;border-radius:8px;padding:6px 10px;width:100%;box-sizing:border-box;"
    "max-height:320px;overflow:auto;background:#fff"
)
CHOSEN = "border:2px solid #16a34a"


def parse_numbers(text: str, what: str) -> list[float]:
    """``"0.5, 1.0"`` -> ``[0.5, 1.0]``; a clear error for anything else."""
    out = []
    for bit in text.replace(";", ",").split(","):
        bit = bit.strip()
        if not bit:
            continue
        try:
            out.append(float(bit))
        except ValueError:
            raise InvalidInput(f"{what}: {bit!r} is not a number (write them like 0.5, 1.0)") from None
    if not out:
        raise InvalidInput(f"give at least one {what.rstrip('s')}")
    return out


class GridView(SessionView):
    """A scene's takes in a grid: a row per model and temperature, a column per take of one seed
    (so a column differs only in model or temperature), with storyboard frames; Pick and ★ on each.

    >>> view = GridView(session)                          # doctest: +SKIP
    >>> view.run(models=["default"], temperatures=[0.5, 1.0], takes=2, wait=True)  # doctest: +SKIP
    """

    scene_id = param.String(default="", doc="The scene of the grid ('' = the start scene).")
    done_cells = param.Integer(default=0, doc="Cells written in the grid being made.")

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self.grid: TakeGrid | None = None
        self._stop = threading.Event()
        self.scene_select = Select(label="Scene", options={}, width=240, css_classes=["wb-grid-scene"])
        self.models_input = text_box(
            pn.widgets.TextInput(
                label="Models (comma between)",
                value=session.text_spec,
                width=260,
                css_classes=["wb-grid-models"],
            )
        )
        self.temps_input = text_box(
            pn.widgets.TextInput(
                label="Temperatures", value="0.6, 1.0", width=130, css_classes=["wb-grid-temps"]
            )
        )
        self.takes_input = pn.widgets.IntInput(
            label="Seeds (takes per row)", value=2, start=1, end=8, width=140, css_classes=["wb-grid-takes"]
        )
        self.seed_input = text_box(
            pn.widgets.TextInput(label="Seed", placeholder="random", width=100, css_classes=["wb-grid-seed"])
        )
        self.frames_input = pn.widgets.IntInput(
            label="Frames per take", value=1, start=0, end=4, width=110, css_classes=["wb-grid-frames"]
        )
        self.run_button = pn.widgets.Button(
            label="Make the grid", color="primary", css_classes=["wb-grid-run"]
        )
        self.stop_button = pn.widgets.Button(
            label="Stop", color="warning", disabled=True, css_classes=["wb-grid-stop"]
        )
        self.progress = pn.indicators.Progress(
            value=0, max=1, visible=False, sizing_mode="stretch_width", css_classes=["wb-grid-progress"]
        )
        self.body = pn.Column(sizing_mode="stretch_width", css_classes=["wb-grid"])
        self.scene_select.param.watch(self._on_scene, "value")
        self.run_button.on_click(safe_call(self, lambda: self.run()))
        self.stop_button.on_click(lambda _e: self._stop.set())
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.scene_select,
                self.models_input,
                self.temps_input,
                self.takes_input,
                self.seed_input,
                self.frames_input,
                pn.Column(pn.Spacer(height=18), pn.FlexBox(self.run_button, self.stop_button)),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
                css_classes=["wb-grid-toolbar"],
            ),
            self.progress,
            self._status,
            self.body,
            sizing_mode="stretch_width",
            css_classes=["wb-grid-view"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def scene(self) -> Any:
        """The scene of the grid."""
        return self.project.scene(self.scene_id) if self.scene_id else self.project.start

    def _on_scene(self, event: Any) -> None:
        if event.new and event.new != self.scene_id:
            self.scene_id = event.new
            self.grid = None
            self.refresh()

    def open(self, scene: Any) -> None:
        """Show ``scene``'s latest grid (or nothing yet); in a tab not shown, when it is shown."""
        self.scene_id = self.project.scene(scene).id
        self.grid = None
        self.refresh_when_shown()

    # ------------------------------------------------------------------ making a grid
    def run(
        self,
        models: list[str] | None = None,
        temperatures: list[float] | None = None,
        takes: int | None = None,
        seed: int | None = None,
        frames: int | None = None,
        wait: bool = False,
    ) -> threading.Thread:
        """Make the grid (in the background): the arguments, or what the controls hold."""
        if models is None:
            models = [m.strip() for m in typed(self.models_input).split(",") if m.strip()]
        if not models:
            raise InvalidInput("name at least one model (e.g. default)")
        temps = (
            temperatures
            if temperatures is not None
            else parse_numbers(typed(self.temps_input), "temperatures")
        )
        n = int(takes if takes is not None else (self.takes_input.value or 1))
        if seed is None and typed(self.seed_input).strip():
            try:
                seed = int(typed(self.seed_input).strip())
            except ValueError:
                raise InvalidInput(f"a seed is a whole number, not {typed(self.seed_input)!r}") from None
        n_frames = int(frames if frames is not None else (self.frames_input.value or 0))
        scene = self.scene
        total = len(models) * len(temps) * n
        self._stop.clear()
        self.done_cells = 0
        self.progress.max, self.progress.value = total, 0

        def on_cell(cell: GridCell) -> None:
            self.done_cells += 1
            self.progress.value = self.done_cells
            self.status = (
                f"{self.done_cells} of {total} takes: {cell.model} at {cell.temperature:g}, seed {cell.seed}"
            )

        def work() -> TakeGrid:
            return self.session.take_grid(
                scene,
                models=models,
                temperatures=temps,
                takes=n,
                seed=seed,
                frames=n_frames,
                on_cell=on_cell,
                stop=self._stop,
            )

        def done(grid: TakeGrid) -> None:
            self.grid = grid
            stopped = " (stopped)" if len(grid.cells) < total else ""
            self.status = f"grid of {len(grid.cells)} takes, seed {grid.seed}{stopped}: pick or rate any"
            self._draw()

        thread = self.in_background(work, done, label=f"writing a grid of {total} takes")
        if wait:
            thread.join()
        return thread

    @param.depends("busy", watch=True)
    def _busy_changed(self) -> None:
        """Progress and Stop while a grid is written, Make the grid otherwise."""
        self.progress.visible = self.busy
        self.stop_button.disabled = not self.busy
        self.run_button.disabled = self.busy

    def stop(self) -> None:
        """Stop after the row being written (the rows done are kept)."""
        self._stop.set()

    # ------------------------------------------------------------------ pick and rate
    def pick(self, take_id: str) -> Any:
        """Make a grid take the scene's chosen take (logged over its siblings)."""
        take = self._take(take_id)
        self.session.choose(take, rater=self.rater)
        self.status = f"chose {self._label(take_id)}"
        return take

    def rate(self, take_id: str, stars: int) -> Any:
        """Rate a grid take from 1 to 5 stars."""
        take = self._take(take_id)
        self.session.rate(take, stars, rater=self.rater)
        self.status = f"rated {self._label(take_id)}: {stars} ★"
        return take

    def _take(self, take_id: str) -> Any:
        for c in self.grid.cells if self.grid else []:
            if c.take.id == take_id:
                return c.take
        raise InvalidInput("that take is not in the grid on screen")

    def _label(self, take_id: str) -> str:
        for c in self.grid.cells if self.grid else []:
            if c.take.id == take_id:
                return f"{c.model} at {c.temperature:g}, seed {c.seed}"
        return "the take"

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        options = {sc.title: sc.id for sc in self.project.scenes}
        if options != self.scene_select.options:
            self.scene_select.options = options
        if self.scene_id not in options.values():
            self.scene_id = self.project.start.id if options else ""
            self.grid = None
        if self.scene_id:
            self.scene_select.value = self.scene_id
        if not self.busy and self.scene_id:
            known = {c.take.id: c.frames for c in self.grid.cells} if self.grid else {}
            grid = self.session.grid_of(self.scene_id, seed=self.grid.seed if self.grid else None)
            if grid is not None:
                cheap = self.session.image_spec in ("sketch", "default")  # drawn offline in milliseconds
                for c in grid.cells:
                    if c.take.id in known:
                        c.frames = known[c.take.id]
                    elif cheap and self.frames_input.value:
                        c.frames = self.session.take_frames(c.take, self.frames_input.value, seed=grid.seed)
            self.grid = grid
        self._draw()

    def _draw(self) -> None:
        grid = self.grid
        if grid is None:
            self.body.objects = [
                LiveHTML(
                    "<p class='wb-empty' style='color:#6b7280;font:14px system-ui,sans-serif'>No grid for this "
                    "scene yet: name the models and temperatures to compare and press <b>Make the grid</b>. "
                    "Each row is a model at a temperature; each column the same take of one seed.</p>",
                    sizing_mode="stretch_width",
                )
            ]
            return
        cast = [c.name for c in self.project.cast]
        chosen = self.scene.chosen
        chosen_id = chosen.id if chosen else None
        rows: list[Any] = []
        for model, temp in grid.rows:
            cells = grid.row(model, temp)
            if not cells:
                continue
            header = LiveHTML(
                f"<div class='wb-grid-row-head' style='font:600 13px system-ui,sans-serif;margin:10px 0 4px'>"
                f"{esc(model)} <span style='color:#6b7280;font-weight:400'>· temperature {temp:g}</span></div>",
                sizing_mode="stretch_width",
            )
            cards = [self._card(c, cast, chosen_id, grid.seed) for c in cells]
            rows.append(header)
            rows.append(
                pn.FlexBox(*cards, flex_wrap="wrap", sizing_mode="stretch_width", css_classes=["wb-grid-row"])
            )
        self.body.objects = rows

    def _card(self, cell: GridCell, cast: list[str], chosen_id: str | None, seed: int) -> Any:
        take = cell.take
        is_chosen = take.id == chosen_id
        frames = "".join(image_html(a, width=110, css="wb-grid-frame") for a in cell.frames)
        mark = " <b class='wb-grid-chosen' style='color:#16a34a'>✓ chosen</b>" if is_chosen else ""
        html = (
            f"<div class='wb-grid-card' data-take-id='{esc(take.id)}' style='{CARD};{CHOSEN if is_chosen else ''}'>"
            f"<div class='wb-grid-caption' style='font:12px system-ui,sans-serif;color:#6b7280'>take {cell.column + 1}"
            f" of seed {esc(seed)} · its own seed {esc(cell.seed)}{mark}</div>"
            f"<div>{frames}</div>{screenplay_html(take.text, cast)}</div>"
        )
        pane = LiveHTML(html, sizing_mode="stretch_width", css_classes=["wb-grid-cell"])
        pick = pn.widgets.Button(
            label="Chosen" if is_chosen else "Pick",
            disabled=is_chosen,
            color="success",
            width=80,
            css_classes=["wb-grid-pick"],
        )
        pick.on_click(safe_call(self, lambda tid=take.id: self.pick(tid)))
        stars = RadioButtonGroup(
            options={"–": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5},
            value=take.rating or 0,
            css_classes=["wb-grid-rate"],
        )

        def rated(event: Any, tid: str = take.id) -> None:
            if event.new:
                self.attempt(lambda: self.rate(tid, int(event.new)))

        stars.param.watch(rated, "value")
        return pn.Column(
            pane,
            pn.FlexBox(pick, stars, align_items="center"),
            min_width=260,
            max_width=420,
            sizing_mode="stretch_width",
            css_classes=["wb-grid-item"],
        )
