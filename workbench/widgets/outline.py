"""The outline view: logline -> title -> characters -> scenes, each level editable and regenerable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from .base import SessionView, safe_call
from .components import LiveHTML, set_text, text_box, typed

if TYPE_CHECKING:
    from ..session import Session

LEVELS = ("title", "characters", "scenes")


class OutlineView(SessionView):
    """Dramatron-style development: edit any level, regenerate the levels below it from your edits."""

    seed = param.String(default="", doc="Seed for outline generation ('' = random).")

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self._signature: tuple[Any, ...] = ()
        self._char_rows: dict[str, tuple[Any, Any]] = {}
        self._scene_rows: dict[str, tuple[Any, Any, Any]] = {}
        self.logline_input = text_box(
            pn.widgets.TextAreaInput(
                label="Logline", height=70, sizing_mode="stretch_width", css_classes=["wb-logline"]
            )
        )
        self.seed_input = text_box(pn.widgets.TextInput(label="Seed", placeholder="random", width=110))
        self.seed_input.link(self, value="seed")
        self.outline_button = pn.widgets.Button(
            label="Outline from logline", color="primary", css_classes=["wb-make-outline"]
        )
        self.save_logline_button = pn.widgets.Button(label="Save logline", css_classes=["wb-save-logline"])
        self.outline_note = LiveHTML("", css_classes=["wb-outline-note"], sizing_mode="stretch_width")
        self.title_input = text_box(pn.widgets.TextInput(label="Title", width=420, css_classes=["wb-title"]))
        self.save_title_button = pn.widgets.Button(label="Save title", css_classes=["wb-save-title"])
        self.regen = {
            lvl: pn.widgets.Button(label=f"Regenerate {lvl}", css_classes=[f"wb-regenerate-{lvl}"])
            for lvl in LEVELS
        }
        self.characters_box = pn.Column(css_classes=["wb-outline-characters"], sizing_mode="stretch_width")
        self.scenes_box = pn.Column(css_classes=["wb-outline-scenes"], sizing_mode="stretch_width")
        self.outline_button.on_click(safe_call(self, lambda: self.make_outline(self._logline())))
        self.save_logline_button.on_click(safe_call(self, lambda: self.save_logline(self._logline())))
        self.save_title_button.on_click(safe_call(self, lambda: self.save_title(typed(self.title_input))))
        for lvl, button in self.regen.items():
            button.on_click(safe_call(self, lambda lvl=lvl: self.regenerate(lvl)))
        self._layout = pn.Column(
            self._alert,
            self.logline_input,
            pn.FlexBox(
                self.seed_input,
                pn.Column(pn.Spacer(height=18), pn.Row(self.outline_button, self.save_logline_button)),
            ),
            self.outline_note,
            self._status,
            pn.pane.Markdown("### Title"),
            pn.FlexBox(
                self.title_input,
                pn.Column(pn.Spacer(height=18), pn.Row(self.save_title_button, self.regen["title"])),
            ),
            pn.pane.Markdown("### Characters"),
            self.characters_box,
            self.regen["characters"],
            pn.pane.Markdown("### Scenes"),
            self.scenes_box,
            self.regen["scenes"],
            sizing_mode="stretch_width",
            css_classes=["wb-outline-view"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def _logline(self) -> str:
        return typed(self.logline_input)

    def _seed(self) -> int | None:
        raw = self.seed.strip()
        if not raw:
            return None
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"a seed is a whole number, not {raw!r}") from None

    # ---- actions
    def make_outline(self, logline: str, seed: int | None = None, wait: bool = False) -> Any:
        """Title, characters and scene list from ``logline`` (the project must have no scenes yet)."""
        seed = self._seed() if seed is None else seed
        thread = self.in_background(
            lambda: self.session.outline(logline, seed=seed),
            lambda _o: setattr(self, "status", "outline written"),
            label="outlining",
        )
        if wait:
            thread.join()
        return thread

    def regenerate(self, level: str, seed: int | None = None, wait: bool = False) -> Any:
        """Regenerate one level from the levels above it, as edited."""
        if level not in LEVELS:
            raise InvalidInput(f"outline levels are {', '.join(LEVELS)}, not {level!r}")
        seed = self._seed() if seed is None else seed
        thread = self.in_background(
            lambda: self.session.regenerate(level, seed=seed),
            lambda _o: setattr(self, "status", f"{level} regenerated"),
            label=f"regenerating {level}",
        )
        if wait:
            thread.join()
        return thread

    def save_logline(self, text: str) -> None:
        if not text.strip():
            raise InvalidInput("the logline is empty")
        self.project.logline = text.strip()
        self.status = "logline saved"

    def save_title(self, text: str) -> None:
        if not text.strip():
            raise InvalidInput("the title is empty")
        self.project.title = text.strip()
        self.status = "title saved"

    def save_character(self, name: str, **fields: Any) -> None:
        self.project.cast[name].update(**fields)
        self.status = f"saved {name}"

    def save_scene(self, scene: Any, title: str | None = None, summary: str | None = None) -> None:
        sc = self.project.scene(scene)
        with self.project.transaction(f"edit outline scene {sc.title}"):
            if title is not None and title.strip() and title.strip() != sc.title:
                self.project.rename(sc, title.strip())
            if summary is not None:
                self.project.set_summary(sc, summary.strip())
        self.status = f"saved {sc.title}"

    # ---- rendering
    def refresh(self) -> None:
        p = self.project
        set_text(self.logline_input, p.logline or "")
        set_text(self.title_input, p.title or "")
        self.outline_button.disabled = bool(p.scenes)
        # a greyed-out button says why: an outline writes a story's scenes, and this one has them
        self.outline_note.object = (
            "<p style='font:12px system-ui,sans-serif;color:#6b7280;margin:0'>Outline from logline "
            "makes a new story's characters and scenes; this story has scenes already. Regenerate a "
            "level below, or start a new project to outline from a logline.</p>"
            if p.scenes
            else ""
        )
        cast, scenes = list(p.cast), p.scenes
        signature = (
            tuple((c.id, c.name, c.version) for c in cast),
            tuple((s.id, s.title, s.summary) for s in scenes),
        )
        if signature == self._signature:  # rebuild the rows only when a level changed
            return
        self._signature = signature
        # rows are kept per character and per scene and updated in place: a new scene (another
        # writer's fork) adds one row instead of rebuilding every row on every open page
        rows = [self._character_row(ch) for ch in cast]
        self._char_rows = {k: v for k, v in self._char_rows.items() if k in {c.id for c in cast}}
        self._set_rows(self.characters_box, rows, "<i>No characters yet.</i>")
        rows = [self._scene_row(i, sc) for i, sc in enumerate(scenes)]
        self._scene_rows = {k: v for k, v in self._scene_rows.items() if k in {s.id for s in scenes}}
        self._set_rows(self.scenes_box, rows, "<i>No scenes yet.</i>")

    @staticmethod
    def _set_rows(box: pn.Column, rows: list[Any], empty: str) -> None:
        if not rows:
            if not (len(box.objects) == 1 and isinstance(box.objects[0], LiveHTML)):
                box.objects = [LiveHTML(empty)]
            return
        if [id(r) for r in box.objects] != [id(r) for r in rows]:
            box.objects = rows

    def _character_row(self, ch: Any) -> Any:
        kept = self._char_rows.get(ch.id)
        if kept is not None:
            row, desc = kept
            desc.name = ch.name  # the label
            if (desc.value or "") != (ch.description or ""):
                set_text(desc, ch.description or "")
            return row
        desc = text_box(
            pn.widgets.TextInput(
                label=ch.name,
                value=ch.description or "",
                sizing_mode="stretch_width",
                css_classes=["wb-outline-character"],
            )
        )
        save = pn.widgets.Button(label="Save", width=70)
        save.on_click(
            safe_call(
                self,
                lambda cid=ch.id, w=desc: self.save_character(
                    self.project.cast[cid].name, description=typed(w)
                ),
            )
        )
        row = pn.Row(desc, pn.Column(pn.Spacer(height=18), save), sizing_mode="stretch_width")
        self._char_rows[ch.id] = (row, desc)
        return row

    def _scene_row(self, i: int, sc: Any) -> Any:
        kept = self._scene_rows.get(sc.id)
        if kept is not None:
            row, title, summary = kept
            title.name = f"Scene {i + 1}"
            if title.value != sc.title:
                set_text(title, sc.title)
            if (summary.value or "") != (sc.summary or ""):
                set_text(summary, sc.summary or "")
            return row
        title = text_box(pn.widgets.TextInput(label=f"Scene {i + 1}", value=sc.title, width=240))
        summary = text_box(
            pn.widgets.TextInput(
                label="Summary",
                value=sc.summary or "",
                sizing_mode="stretch_width",
                css_classes=["wb-outline-summary"],
            )
        )
        save = pn.widgets.Button(label="Save", width=70)
        save.on_click(
            safe_call(
                self,
                lambda s=sc.id, t=title, m=summary: self.save_scene(s, typed(t), typed(m)),
            )
        )
        row = pn.Row(title, summary, pn.Column(pn.Spacer(height=18), save), sizing_mode="stretch_width")
        self._scene_rows[sc.id] = (row, title, summary)
        return row
