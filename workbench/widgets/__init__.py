"""The views: Panel components that take a ``Session`` and re-render from its project.

In a notebook, call :func:`extension` once (``pn.extension(inline=True)``: no CDN), then
display a view, e.g. ``Workbench(session)``. The same views make up ``workbench serve``.
Panel is imported on first use of a view, so ``workbench.widgets.registry`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import register_view, registered_views, unregister_view

_LAZY = {
    "SessionView": ".base",
    "safe_call": ".base",
    "BranchMap": ".branch_map",
    "compare_html": "..render",  # compatible aliases: the HTML lives in render/
    "compare_rows": "..render",
    "CastBoard": ".cast",
    "ClickableMap": ".components",
    "TakeCarousel": ".components",
    "ContextViewer": ".context",
    "context_html": "..render",
    "SceneEditor": ".editor",
    "PlayerView": ".player",
    "MediaGallery": ".media",
    "OutlineView": ".outline",
    "StoryView": ".story",
    "ABView": ".ab",
    "GridView": ".grid",
    "Workbench": ".workbench",
    "show": ".workbench",
}


def extension(**kwargs: Any) -> None:
    """Load Panel for notebooks with its JavaScript inlined, so it works offline."""
    import panel as pn

    kwargs.setdefault("inline", True)
    pn.extension(**kwargs)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ABView",
    "BranchMap",
    "CastBoard",
    "ClickableMap",
    "ContextViewer",
    "GridView",
    "MediaGallery",
    "OutlineView",
    "StoryView",
    "PlayerView",
    "SceneEditor",
    "SessionView",
    "TakeCarousel",
    "Workbench",
    "compare_html",
    "compare_rows",
    "context_html",
    "extension",
    "register_view",
    "registered_views",
    "safe_call",
    "show",
    "unregister_view",
]
