"""HTML and SVG for story objects: used by notebook display, reports and views alike.

Every function returns a string of self-contained markup (inline styles, no scripts,
no external URLs), so the same output works in JupyterLab, a Panel view and an
offline HTML report.
"""

from .html import character_html, project_html, scene_html, screenplay_html, take_html
from .svg import branch_map_svg, layout

__all__ = [
    "branch_map_svg",
    "character_html",
    "layout",
    "project_html",
    "scene_html",
    "screenplay_html",
    "take_html",
]
