"""HTML and SVG for story objects: used by notebook display, reports and views alike.

Every function returns a string of self-contained markup (inline styles, no scripts,
no external URLs), so the same output works in JupyterLab, a Panel view and an
offline HTML report. Story text enters markup only through :func:`esc` (see :mod:`.text`).
"""

from .html import (
    SCREENPLAY_FONT,
    SCREENPLAY_LINE_STYLES,
    character_html,
    project_html,
    scene_html,
    screenplay_html,
    take_html,
    take_origin,
)
from .svg import branch_map_svg, drop_position, layout
from .text import css_color, esc
from .views import (
    audio_html,
    compare_html,
    compare_rows,
    context_html,
    continuity_html,
    data_uri,
    diff_html,
    image_html,
    outline_html,
    stuck_html,
)

__all__ = [
    "SCREENPLAY_FONT",
    "SCREENPLAY_LINE_STYLES",
    "audio_html",
    "branch_map_svg",
    "compare_html",
    "compare_rows",
    "context_html",
    "css_color",
    "continuity_html",
    "data_uri",
    "diff_html",
    "drop_position",
    "esc",
    "image_html",
    "outline_html",
    "character_html",
    "layout",
    "project_html",
    "scene_html",
    "screenplay_html",
    "stuck_html",
    "take_html",
    "take_origin",
]
