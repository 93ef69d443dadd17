"""``Workbench``: every view of a session in one set of tabs, plus registered extra views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import panel as pn

from ..render import esc
from ..session import Session
from .ab import ABView
from .base import SessionView
from .branch_map import BranchMap
from .cast import CastBoard
from .components import LiveHTML, Tabs
from .context import ContextViewer
from .editor import SceneEditor
from .grid import GridView
from .media import MediaGallery
from .outline import OutlineView
from .registry import registered_views
from .story import StoryView

TABS = ("Write", "Map", "Cast", "Media", "Context", "Outline", "Story", "A/B", "Grid")


class Workbench(SessionView):
    """The whole workbench: scene editor, branch map, cast, media, context, outline, the story's
    settings and files, blind A/B for trainers, the take grid (models × seeds × temperatures),
    and extra views.

    >>> Workbench(Session("story.story"))          # doctest: +SKIP
    """

    def __init__(self, session: Session | Any, **params: Any) -> None:
        if not isinstance(session, Session):
            session = Session(session if not isinstance(session, (str, Path)) else Path(session))
        super().__init__(session, **params)
        user = self.user  # the signed-in writer, for every view
        self.editor = SceneEditor(session, user=user)
        self.map = BranchMap(session, user=user)
        self.cast = CastBoard(session, user=user)
        self.media = MediaGallery(session, user=user)
        self.context = ContextViewer(session, user=user)
        self.outline = OutlineView(session, user=user)
        self.story = StoryView(session, user=user)
        self.ab = ABView(session, user=user)
        self.grid = GridView(session, user=user)
        self.extras: dict[str, Any] = {}
        for name, factory in registered_views().items():
            try:
                self.extras[name] = factory(session)
            except Exception as exc:  # a broken plug-in shows its error in its own tab
                self.extras[name] = pn.pane.Alert(
                    esc(f"The view {name!r} failed: {exc}"), alert_type="danger"
                )
        # a click on the map opens the scene in every view but keeps the map in sight; "Write this
        # scene" (or a fork) shows the editor
        self.map.on_open(lambda sc: self.open(sc, show=False))
        self.map.on_write(self.open)
        self.header = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-header"])
        self.tabs = Tabs(
            *zip(TABS, self.views, strict=True),
            *self.extras.items(),
            dynamic=False,
            sizing_mode="stretch_width",
            css_classes=["wb-tabs"],
        )
        self._layout = pn.Column(
            self.header, self._alert, self.tabs, sizing_mode="stretch_width", css_classes=["wb-workbench"]
        )
        # only the open tab's view follows every change; the others catch up when their tab opens
        # (a served story open on many pages re-renders one view per page, not every view)
        self.tabs.param.watch(lambda _e: self._show_active_tab(), "active")
        self._show_active_tab()
        self.refresh()

    def _tab_views(self) -> list[Any]:
        return [*self.views, *self.extras.values()]

    def _show_active_tab(self) -> None:
        for i, view in enumerate(self._tab_views()):
            if isinstance(view, SessionView):
                view.set_shown(i == self.tabs.active)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def tab_names(self) -> list[str]:
        """The tabs' labels: the built-in views, then the registered extra views."""
        return [*TABS, *self.extras]

    @property
    def views(self) -> list[SessionView]:
        """The built-in views in tab order: editor, map, cast, media, context, outline, story, A/B, grid.

        The registered extra views are in ``extras``, by tab name.
        """
        return [
            self.editor,
            self.map,
            self.cast,
            self.media,
            self.context,
            self.outline,
            self.story,
            self.ab,
            self.grid,
        ]

    def open(self, scene: Any, show: bool = True) -> None:
        """Open ``scene`` in the editor (and the media and context views); ``show``: and show the
        Write tab."""
        sc = self.project.scene(scene)
        self.editor.open(sc)
        self.media.scene_id = sc.id
        self.context.scene_id = sc.id
        self.grid.open(sc)
        if show:
            self.tabs.active = 0

    def refresh(self) -> None:
        """Redraw the header (the story's title and logline) from the project.

        The workbench calls it when the project changes; each tab's view refreshes itself (one
        whose tab is not open catches up when it opens).
        """
        p = self.project
        self.header.object = (
            f"<div style='font-family:system-ui,sans-serif'><span class='wb-title' "
            f"style='font-size:20px;font-weight:700'>{esc(p.title or p.file.stem)}</span>"
            f"<div style='font-style:italic;color:#374151'>{esc(p.logline or '')}</div></div>"
        )

    def close(self) -> None:
        """Stop every view of the workbench from following the project (called when its tab closes).

        The built-in views and the extra views that are ``SessionView`` objects are closed. The
        session and its project stay open:

        ```python
        app = Workbench(Session("story.story"))
        ...
        app.close()
        app.session.close()  # the project file too
        ```
        """
        for v in self.views:
            v.close()
        for v in self.extras.values():
            if isinstance(v, SessionView):
                v.close()
        super().close()

    def ipywidget(self) -> Any:
        """The workbench as an ipywidget (JupyterLab with jupyter_bokeh), else the Panel view itself."""
        return show(self, ipywidget=True)


def show(view: Any, ipywidget: bool = False) -> Any:
    """Display helper for notebooks: the view itself (Panel's own notebook display), or an ipywidget.

    Panel's own display inlines every stylesheet after ``pn.extension(inline=True)``, so it works
    offline. ``ipywidget=True`` wraps the view with ``pn.ipywidget`` (needs jupyter_bokeh) for
    ipywidgets layouts; its stylesheets are inlined when it is made, but components added later
    load their CSS from Panel's CDN.
    """
    if not ipywidget:
        return view
    try:
        import jupyter_bokeh  # noqa: F401
    except ImportError:
        return view
    from bokeh.models.ui import UIElement
    from panel.io.notebook import patch_inline_stylesheets
    from panel.io.resources import set_resource_mode

    with set_resource_mode("inline"):
        widget = pn.ipywidget(view)
    for model in widget._model.select({"type": UIElement}):
        patch_inline_stylesheets(model)
    return widget
