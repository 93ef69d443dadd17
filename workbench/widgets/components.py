"""The custom front-ends: the clickable branch map and the takes carousel.

Each is a ``pn.custom.JSComponent`` whose ES module sits beside this file and imports
nothing, so both work offline in JupyterLab and under ``workbench serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import param
from panel.custom import JSComponent

HERE = Path(__file__).parent


class ClickableMap(JSComponent):
    """An SVG branch map; clicking a scene box sets ``selected`` to its ``data-scene-id``."""

    svg = param.String(default="", doc="The branch map SVG (from workbench.render.branch_map_svg).")
    selected = param.String(default="", doc="The id of the scene clicked last.")
    clicks = param.Integer(default=0, doc="Counts clicks, so clicking the same scene again is seen.")

    _esm = HERE / "branch_map.js"


class TakeCarousel(JSComponent):
    """One take at a time with previous/next (buttons, arrow keys, swipe); ``index`` is the take shown."""

    takes = param.List(default=[], doc="Takes to show: dicts with id, label and html.")
    index = param.Integer(default=0, bounds=(0, None), doc="The index of the take shown.")

    _esm = HERE / "carousel.js"


class LiveHTML(JSComponent):
    """HTML replaced from Python; unlike ``pn.pane.HTML`` an update sends only the new markup
    (no stylesheet links), so it stays offline in notebooks too."""

    object = param.String(default="", doc="The HTML shown.")

    _esm = HERE / "live_html.js"

    def __init__(self, object: str = "", **params: Any) -> None:  # noqa: A002 - Panel's name
        super().__init__(object=object, **params)
