"""Extra views shown as tabs in ``Workbench``: registered at run time or through entry points.

A view factory is ``factory(session) -> viewable`` (anything Panel can show). Third-party
packages add theirs through the entry-point group ``workbench.views``; notebooks and scripts
call :func:`register_view`. This module does not import panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..plugins import Plugin, entry_point_plugins

if TYPE_CHECKING:
    from ..session import Session

ENTRY_POINT_GROUP = "workbench.views"
"""The entry-point group installed packages declare their views in: the name is the tab's label,
the value the factory (``Takes = "my_package.views:takes_view"``)."""

ViewFactory = Callable[[Any], Any]
"""A view: ``factory(session)`` returns anything Panel can show (a pane, a layout, a string).

Each ``Workbench`` calls it once, with its :class:`~workbench.session.Session`. The view reads the
story through ``session.project`` and re-renders on ``session.project.on_change``; it keeps no
story state of its own.
"""

_VIEWS: dict[str, ViewFactory] = {}


def register_view(name: str, factory: ViewFactory) -> ViewFactory:
    """Show ``factory(session)`` as a tab called ``name`` in every ``Workbench`` made from now on.

    Registering a name again replaces the earlier factory. Returns ``factory`` so it can be
    used as a decorator's body. A name that is empty, or a factory that cannot be called, raises
    :class:`~workbench.errors.InvalidInput`. ``workbench.register_view`` is the same function.

    >>> def scene_count(session):
    ...     return f"{len(session.project.scenes)} scenes"
    >>> _ = register_view("Scene count", scene_count)
    >>> registered_views()["Scene count"] is scene_count
    True
    >>> unregister_view("Scene count")
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a view needs a name (the tab's label)")
    if not callable(factory):
        raise InvalidInput(f"the view {name!r} needs a callable factory(session), not {factory!r}")
    _VIEWS[name.strip()] = factory
    return factory


def unregister_view(name: str) -> None:
    """Forget a view registered with :func:`register_view` (no error if there is none).

    ``Workbench`` objects made before keep their tab; views from entry points cannot be forgotten.

    >>> _ = register_view("Notes", lambda session: "Notes for the next draft")
    >>> unregister_view("Notes")
    >>> "Notes" in registered_views()
    False
    >>> unregister_view("Notes")
    """
    _VIEWS.pop(name, None)


def entry_point_views() -> dict[str, ViewFactory]:
    """The factories installed packages offer under ``workbench.views``, loaded when first called.

    A plug-in that fails to load still gets its tab; calling its factory raises
    :class:`~workbench.errors.PluginError` with the cause (the tab shows it), and the other views work.

    A package declares a view in its ``pyproject.toml``:

    ```toml
    [project.entry-points."workbench.views"]
    Takes = "my_package.views:takes_view"
    ```

    ```python
    factory = entry_point_views()["Takes"]
    pane = factory(session)  # my_package.views is imported only now
    ```
    """
    return {name: _lazy(plugin) for name, plugin in entry_point_plugins(ENTRY_POINT_GROUP).items()}


def _lazy(plugin: Plugin) -> ViewFactory:
    def factory(session: Session) -> Any:
        return plugin.load()(session)

    factory.__name__ = f"view_{plugin.name}"
    return factory


def registered_views() -> dict[str, ViewFactory]:
    """All extra views: entry points first, then run-time registrations (which win on a name clash).

    The tabs a new ``Workbench`` shows after its built-in ones, in this order.

    >>> _ = register_view("Scene count", lambda session: f"{len(session.project.scenes)} scenes")
    >>> "Scene count" in registered_views()
    True
    >>> unregister_view("Scene count")
    """
    views = entry_point_views()
    views.update(_VIEWS)
    return views
