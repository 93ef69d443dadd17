"""The context viewer: what goes into the prompt for a scene, part by part, with token counts."""

from __future__ import annotations

from html import escape
from typing import Any

import panel as pn
import param

from ..errors import InvalidInput
from ._base import SessionView, safe_call
from .components import LiveHTML


def context_html(ctx: Any) -> str:
    """Parts with token counts and a bar of their share of the budget, the lore that fired, notes."""
    budget = max(1, int(ctx.budget))
    rows = []
    for p in ctx.parts:
        share = min(100.0, 100.0 * p.tokens / budget)
        rows.append(
            f"<tr class='wb-part' data-part='{escape(p.name)}'><td><b>{escape(p.name)}</b></td>"
            f"<td style='text-align:right' class='wb-tokens'>{p.tokens}</td>"
            f"<td>{'prefix' if p.in_prefix else 'suffix'}</td>"
            f"<td style='width:160px'><div style='background:#fde7d9;width:{share:.1f}%;height:10px'></div></td>"
            f"<td style='color:#6b7280'>{escape(p.note)}</td></tr>"
            f"<tr><td colspan='5'><details><summary style='cursor:pointer;color:#6b7280'>text</summary>"
            f"<pre style='white-space:pre-wrap;font-size:11px'>{escape(p.text)}</pre></details></td></tr>"
        )
    lore = ", ".join(escape(x) for x in ctx.lore_fired) or "none"
    notes = "".join(f"<li>{escape(n)}</li>" for n in getattr(ctx, "notes", []))
    return (
        f"<div class='wb-context' style='font:13px system-ui,sans-serif'>"
        f"<div class='wb-context-total'><b>{ctx.total}</b> of {ctx.budget} tokens</div>"
        f"<div class='wb-lore-fired'>Lore entries that fired: {lore}</div>"
        f"<table style='border-collapse:collapse;width:100%'><tr><th>part</th><th>tokens</th><th>where</th>"
        f"<th>share</th><th>note</th></tr>{''.join(rows)}</table>"
        f"{'<ul>' + notes + '</ul>' if notes else ''}</div>"
    )


class ContextViewer(SessionView):
    """Shows ``Session.context(scene)``: recomputed on request (it may summarise older scenes)."""

    scene_id = param.String(default="", doc="The scene whose prompt is shown ('' = the start scene).")

    def __init__(self, session: Any, **params: Any) -> None:
        super().__init__(session, **params)
        self.context: Any = None
        self.scene_select = pn.widgets.Select(
            label="Scene", options={}, width=260, css_classes=["wb-context-scene"]
        )
        self.show_button = pn.widgets.Button(
            label="Show context", color="primary", css_classes=["wb-show-context"]
        )
        self.pane = LiveHTML(
            "<p style='color:#6b7280'>Pick a scene and press Show context.</p>",
            sizing_mode="stretch_width",
            css_classes=["wb-context-view"],
        )
        self.scene_select.param.watch(self._on_select, "value")
        self.show_button.on_click(safe_call(self, lambda: self.assemble()))
        self._layout = pn.Column(
            self._alert,
            pn.Row(self.scene_select, pn.Column(pn.Spacer(height=18), self.show_button)),
            self._status,
            self.pane,
            sizing_mode="stretch_width",
            css_classes=["wb-context-viewer"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def assemble(self, wait: bool = False) -> Any:
        """Assemble the scene's context in a thread and show it."""
        if self.scene_id:
            scene = self.project.scene(self.scene_id)
        else:
            scene = self.project.start
        if scene is None:
            raise InvalidInput("there is no scene yet")

        def done(ctx: Any) -> None:
            self.context = ctx
            self.pane.object = context_html(ctx)
            self.status = f"context for {scene.title}"

        thread = self.in_background(lambda: self.session.context(scene), done, label="assembling the context")
        if wait:
            thread.join()
        return thread

    def _on_select(self, event: Any) -> None:
        if event.new:
            self.scene_id = event.new

    def refresh(self) -> None:
        self.scene_select.options = {s.title: s.id for s in self.project.scenes}
        if self.scene_id in self.scene_select.options.values():
            self.scene_select.value = self.scene_id
