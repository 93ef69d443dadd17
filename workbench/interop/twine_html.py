"""Twine 2 archive HTML export: what Twine's "Library > Archive" writes and imports.

Specification: https://github.com/iftechfoundation/twine-specs/blob/master/twine-2-htmloutput-spec.md

One ``<tw-storydata>`` element with a ``<tw-passagedata>`` per scene; passage
text is the same as in the Twee export (scene text, then choice links), and
every attribute and text node is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from .registry import Format
from .storydoc import StoryDoc, doc_from_project
from .twee import DEFAULT_STORY_FORMAT, format_number, link_safe, passage_text

__all__ = ["FORMAT", "export_twine_html", "write_twine_html"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("story-workbench")
    except Exception:
        return "0"


def write_twine_html(doc: StoryDoc, *, story_format: tuple[str, str] = DEFAULT_STORY_FORMAT) -> str:
    """Serialise a :class:`StoryDoc` as a Twine 2 archive (``<tw-storydata>``)."""
    pids = {p.name: i for i, p in enumerate(doc.passages, start=1)}
    start_pid = pids.get(doc.start or "", 1)
    attrs = {
        "name": " ".join(doc.title.split()) or "Untitled Story",
        "startnode": str(start_pid),
        "creator": "Story Workbench",
        "creator-version": _version(),
        "ifid": doc.ifid or "",
        "zoom": "1",
        "format": story_format[0],
        "format-version": story_format[1],
        "options": "",
    }
    head = " ".join(f'{k}="{escape(v, quote=True)}"' for k, v in attrs.items())
    out = [
        f"<tw-storydata {head} hidden>",
        '<style role="stylesheet" id="twine-user-stylesheet" type="text/twine-css"></style>',
        '<script role="script" id="twine-user-script" type="text/twine-javascript"></script>',
    ]
    for p in doc.passages:
        pattrs = {
            "pid": str(pids[p.name]),
            "name": p.name,
            "tags": " ".join("_".join(t.split()) for t in p.tags),
            "position": (
                f"{format_number(p.position[0])},{format_number(p.position[1])}"
                if p.position is not None
                else "0,0"
            ),
            "size": "100,100",
        }
        pa = " ".join(f'{k}="{escape(v, quote=True)}"' for k, v in pattrs.items())
        out.append(f"<tw-passagedata {pa}>{escape(passage_text(p), quote=False)}</tw-passagedata>")
    out.append("</tw-storydata>")
    return "\n".join(out) + "\n"


def export_twine_html(
    project: Any,
    out_path: Path,
    *,
    story_format: str | None = None,
    format_version: str | None = None,
    **_: Any,
) -> list[Path]:
    """Write the project as a Twine 2 archive ``.html`` file (importable in Twine)."""
    doc = doc_from_project(project, link_safe)
    fmt = (story_format or DEFAULT_STORY_FORMAT[0], format_version or DEFAULT_STORY_FORMAT[1])
    out = Path(out_path)
    atomic_write_text(out, write_twine_html(doc, story_format=fmt))
    return [out]


FORMAT = Format(
    name="twine-html",
    suffixes=(".html", ".htm"),
    export=export_twine_html,
    description="Twine 2 archive HTML (<tw-storydata>), for Twine's Library > Import",
)
