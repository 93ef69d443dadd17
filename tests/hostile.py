"""A story whose every field holds a script payload, for the escaping tests of every HTML surface.

Each payload names its field, so a test that finds one live can say where it came from. A page
that runs any of them calls ``alert()`` (seen as a dialog) and sets ``window.__xss``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARK = "xss-"


def payload(field: str) -> str:
    """Markup that runs script in any HTML context that does not escape it: between tags, in a
    quoted attribute (single or double), in ``<title>`` or ``<textarea>``, in SVG."""
    js = f"window.__xss=(window.__xss||[]).concat('{field}');alert('{MARK}{field}')"
    return (
        f'</title></textarea><script>{js}</script><img src=x onerror="{js}">'
        f'\'"><svg onload="{js}"></svg>{MARK}{field}'
    )


def short_payload(field: str) -> str:
    """The same for fields with a length limit (titles: 200 characters)."""
    return f"</title><img src=x onerror=\"alert('{MARK}{field}')\"><script>alert('{MARK}{field}')</script>"


def build_hostile(path: Path) -> Any:
    from workbench import open_project

    p = open_project(path, title=short_payload("title"))
    p.logline = payload("logline")
    p.genre = short_payload("genre")
    p.style = payload("style")
    mara = short_payload("character-name")
    p.cast.add(
        mara,
        description=payload("character-description"),
        personality=payload("character-personality"),
        appearance=payload("character-appearance"),
        speech_style=payload("character-speech"),
        tags=[short_payload("character-tag")],
        palette="red;background:url(javascript:alert('xss-palette'))\"><script>alert('xss-palette')</script>",
    )
    p.lore.add([short_payload("lore-key")], payload("lore-content"), always=True)
    start = p.add_scene(
        short_payload("scene-1"),
        "INT. HARBOUR - NIGHT\n\n" + payload("take-action") + "\n\nMARA\n" + payload("take-dialogue"),
        tags=[short_payload("scene-tag")],
    )
    second = p.add_scene(
        short_payload("scene-2"), payload("take-2"), after=start, choice=short_payload("choice-1")
    )
    p.add_scene(short_payload("scene-3"), payload("take-3"), after=start, choice=short_payload("choice-2"))
    second.takes[0].rate(4)
    p.branches[short_payload("branch")[:80]] = second
    p.forget_undo()
    return p
