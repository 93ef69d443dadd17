"""The one way story text enters HTML: escaped.

Every HTML surface the workbench makes (render/'s fragments, the pitch report, the views and
the web app) builds its markup from story text through :func:`esc`. Story text is data from
writers, models, cards and imported files; none of it may become markup, because a report or
an app page that ran it would run it with the reader's access to the story. ``esc`` escapes
``& < > " '``, so its output is safe between tags and inside quoted attribute values.

Values placed inside a ``style`` attribute go through :func:`css_color` instead, which lets
only a colour through. Text given to a Bokeh widget property that the browser shows as text
(a widget's label, a button's label, a select's options) needs no escaping; an HTML property
(a ``pn.Card`` title, an HTML pane, ``LiveHTML``) always does.
"""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["css_color", "esc", "safe_mime"]

_COLOR = re.compile(
    r"#[0-9a-fA-F]{3,4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|[a-zA-Z]{3,24}"
    r"|(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%]+(?:\s*[, ]\s*[0-9.%]+){2,3}\s*(?:/\s*[0-9.%]+\s*)?\)"
)


def esc(value: Any) -> str:
    """``value`` as text for HTML (between tags or in a quoted attribute); ``None`` is empty."""
    if value is None:
        return ""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


_MIME = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]{0,60}")


def safe_mime(value: Any) -> str:
    """A media type fit for a ``data:`` URI (``image/png``), else ``application/octet-stream``."""
    if isinstance(value, str) and _MIME.fullmatch(value.strip().lower()):
        return value.strip().lower()
    return "application/octet-stream"


def css_color(value: Any, default: str = "#888888") -> str:
    """``value`` when it is a plain CSS colour (``#rgb``, ``#rrggbb``, a colour name, ``rgb()``/``hsl()``),
    else ``default``: a colour from a card can never add other CSS (a background image, a URL)."""
    if isinstance(value, str) and _COLOR.fullmatch(value.strip()):
        return value.strip()
    return default
