"""The custom front-ends: the clickable branch map and the takes carousel (with its in-place editor).

Each is a ``pn.custom.JSComponent`` whose ES module sits beside this file and imports
nothing, so both work offline in JupyterLab and under ``workbench serve``. Beside them, the
Panel controls the views use (``Select``, ``RadioButtonGroup``, ``Checkbox``, ``Tabs``), made
to act on a click at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import panel as pn
import param
from panel.custom import JSComponent

from ..render import SCREENPLAY_FONT, SCREENPLAY_LINE_STYLES

HERE = Path(__file__).parent


def text_box(box: Any) -> Any:
    """Make ``box`` (a Panel text input or text area) answer :func:`typed` truly and return it.

    The page sends ``value_input`` on every key and ``value`` on Enter or leaving the box; a
    ``value`` set in Python is not copied into ``value_input``, so reading ``value_input`` after
    the box was emptied or refilled from Python returned the old text (a second click on Fork
    sent the previous fork again). Here every new ``value`` is copied into ``value_input``.
    """
    if getattr(box, "_wb_tracked", False):
        return box
    box.value_input = box.value or ""
    box.param.watch(lambda e: setattr(box, "value_input", e.new or ""), "value")
    box._wb_tracked = True
    return box


def typed(box: Any) -> str:
    """What a text box made with :func:`text_box` holds now: what was typed, or set last."""
    return str(box.value_input or "") if getattr(box, "_wb_tracked", False) else str(box.value or "")


def set_text(box: Any, text: str) -> None:
    """Put ``text`` in a text box (``""`` empties it): what it shows and what :func:`typed` reads."""
    box.value = text
    if getattr(box, "_wb_tracked", False):
        box.value_input = text


# Panel waits 50 ms after a change made on the page for more changes before acting on it; a
# choice from a list or a button group is one click, so these act on it at once.
class Select(pn.widgets.Select):
    """Panel's ``Select``; a pick is acted on at once."""

    _priority_changes: ClassVar[list[str]] = ["value"]


class RadioButtonGroup(pn.widgets.RadioButtonGroup):
    """Panel's ``RadioButtonGroup``; a click is acted on at once."""

    _priority_changes: ClassVar[list[str]] = ["value"]


class Checkbox(pn.widgets.Checkbox):
    """Panel's ``Checkbox``; a click is acted on at once."""

    _priority_changes: ClassVar[list[str]] = ["value"]


class Tabs(pn.Tabs):
    """Panel's ``Tabs``; opening a tab is acted on at once (a view catches up as it is shown)."""

    _priority_changes: ClassVar[list[str]] = ["active"]


class ClickableMap(JSComponent):
    """An SVG branch map; clicking a scene box sets ``selected`` to its ``data-scene-id``; dragging
    one sets ``moved`` (and counts ``moves``)."""

    svg = param.String(default="", doc="The branch map SVG (from workbench.render.branch_map_svg).")
    selected = param.String(default="", doc="The id of the scene clicked last.")
    clicks = param.Integer(default=0, doc="Counts clicks, so clicking the same scene again is seen.")
    moved = param.String(
        default="", doc='The scene dragged last, as JSON: {"id": ..., "x": ..., "y": ...} (its new top-left).'
    )
    moves = param.Integer(default=0, doc="Counts drags, so each one is seen.")

    _esm = HERE / "branch_map.js"
    # what the page sets is acted on at once (Panel otherwise waits 50 ms for more changes)
    _priority_changes: ClassVar[list[str]] = ["selected", "clicks", "moved", "moves"]


class TakeCarousel(JSComponent):
    """One take at a time with previous/next (buttons, arrow keys, swipe); ``index`` is the take shown.

    The take shown can be edited in place: ``editing`` turns its card into a screenplay editor
    that formats each line by its kind as it is typed (the rules of
    :func:`~workbench.story.screenplay.parse_scene`, mirrored in ``carousel.js``; the look of
    :func:`~workbench.render.screenplay_html`). The page sends what the writer does with
    ``{"action": "save", "id": ..., "text": ...}`` and ``{"action": "regenerate", "id": ...}``;
    :meth:`on` names what each does, and :meth:`act` does it (a test or a script may call it too).

    >>> carousel = TakeCarousel()
    >>> carousel.on("save", lambda take_id, text: print(take_id, text))
    >>> carousel.act("save", id="t_1", text="INT. QUAY - NIGHT")
    t_1 INT. QUAY - NIGHT
    """

    takes = param.List(default=[], doc="Takes to show: dicts with id, label, html and text (plain).")
    index = param.Integer(default=0, bounds=(0, None), doc="The index of the take shown.")
    editing = param.Boolean(default=False, doc="Whether the take shown is being edited in place.")
    busy = param.Boolean(default=False, doc="While a take is written: no editing or regenerating.")
    line_styles = param.Dict(
        default=dict(SCREENPLAY_LINE_STYLES), doc="CSS of each kind of screenplay line (as on the page)."
    )
    font = param.String(default=SCREENPLAY_FONT, doc="CSS of the screenplay font.")

    _esm = HERE / "carousel.js"
    _priority_changes: ClassVar[list[str]] = ["index", "editing"]  # acted on at once, as the map's

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._handlers: dict[str, Callable[..., Any]] = {}

    def on(self, action: str, handler: Callable[..., Any]) -> None:
        """What ``action`` does: ``"save"`` calls ``handler(take_id, text)``, ``"regenerate"``
        calls ``handler(take_id)``."""
        self._handlers[action] = handler

    def act(self, action: str, id: str = "", text: str | None = None) -> Any:  # noqa: A002 - the page's name
        """Do ``action`` for the take ``id`` (what a message from the page does)."""
        handler = self._handlers.get(action)
        if handler is None:
            return None
        return handler(id, text if text is not None else "") if action == "save" else handler(id)

    def _handle_msg(self, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("action"), str):
            text = data.get("text")
            self.act(data["action"], str(data.get("id") or ""), text if isinstance(text, str) else None)


class LiveHTML(JSComponent):
    """HTML replaced from Python; unlike ``pn.pane.HTML`` an update sends only the new markup
    (no stylesheet links), so it stays offline in notebooks too."""

    object = param.String(default="", doc="The HTML shown.")

    _esm = HERE / "live_html.js"

    def __init__(self, object: str = "", **params: Any) -> None:  # noqa: A002 - Panel's name
        super().__init__(object=object, **params)


class KeyShortcuts(JSComponent):
    """Keyboard shortcuts of a view, and a "Keys" button listing them in a popover.

    >>> keys = KeyShortcuts()
    >>> keys.bind("ctrl+enter", "Generate takes", lambda: print("generate"))
    >>> keys.press("ctrl+enter")
    generate

    A combination is sent from the page only while the view is shown; ``text=False`` leaves it to
    a text box that has the focus (Ctrl+Z there undoes typing, not the story).
    """

    keys = param.List(
        default=[], doc="The shortcuts: dicts with combo ('ctrl+shift+z'), label and text (bool)."
    )
    scope = param.String(
        default="",
        doc="The CSS class of the view the keys belong to: with several views on a page, the keys "
        "go to the one clicked last.",
    )

    _esm = HERE / "shortcuts.js"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._actions: dict[str, Callable[[], Any]] = {}

    def bind(self, combo: str, label: str, action: Callable[[], Any], text: bool = True) -> None:
        """Run ``action`` on ``combo`` (lower case, modifiers first: ``"alt+arrowleft"``)."""
        combo = combo.lower()
        self._actions[combo] = action
        self.keys = [
            *(k for k in self.keys if k["combo"] != combo),
            {"combo": combo, "label": label, "text": text},
        ]

    def describe(self, combo: str, label: str) -> None:
        """List ``combo`` in the help without catching it here: a key a part of the view handles
        itself (the in-place editor's Ctrl+S)."""
        combo = combo.lower()
        self.keys = [
            *(k for k in self.keys if k["combo"] != combo),
            {"combo": combo, "label": label, "text": True, "help_only": True},
        ]

    def press(self, combo: str) -> Any:
        """What pressing ``combo`` does (the page calls it; so may a test or a script)."""
        action = self._actions.get(combo.lower())
        return action() if action is not None else None

    def _handle_msg(self, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("combo"), str):
            self.press(data["combo"])
