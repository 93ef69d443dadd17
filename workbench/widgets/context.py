"""The context viewer: what goes into the prompt for a scene, part by part, with token counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import context_html
from .base import SessionView, safe_call
from .components import LiveHTML, Select

if TYPE_CHECKING:
    from ..session import Session


class ContextViewer(SessionView):
    """Shows ``Session.context(scene)``: recomputed on request (it may summarise older scenes)."""

    scene_id = param.String(default="", doc="The scene whose prompt is shown ('' = the start scene).")

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self.context: Any = None
        self.scene_select = Select(label="Scene", options={}, width=260, css_classes=["wb-context-scene"])
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
            pn.FlexBox(self.scene_select, pn.Column(pn.Spacer(height=18), self.show_button)),
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
        self.scene_select.options = {title: sid for sid, title in self.project.scene_titles()}
        if self.scene_id in self.scene_select.options.values():
            self.scene_select.value = self.scene_id
