"""Fountain (https://fountain.io): export a branch as a screenplay; import a screenplay as scenes.

Export walks one branch (default ``main``) and rebuilds each scene from the
scene-text parser's elements: a title page (Title, Credit, Author, Draft date:
only what is given, so the output is deterministic), scene headings (a forced
``.HEADING`` from the title where the text has none) with the scene title as a
``= synopsis``, action (``!``-forced where it would read as something else),
character cues (``@``-forced where needed, ``^`` for dual dialogue),
parentheticals, dialogue and transitions.

Import splits a screenplay at its scene headings into a linear run of scenes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import FormatError, InvalidInput, WorkbenchError
from ..files import atomic_write_text
from ..story.screenplay import CUE_RE, HEADING_RE, TRANSITION_RE, normalise_cue, parse_scene
from .registry import DEFAULT_MAX_BYTES, Format, ImportResult, read_limited
from .twee import decode_text

__all__ = ["FORMAT", "export_fountain", "import_fountain", "write_fountain", "split_screenplay"]

TITLE_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z ]*):(.*)$")
_FORCE_ACTION = (".", "!", "@", "#", "~", "=", ">", "[[", "/*")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _action_line(line: str) -> str:
    """An action line, forced with ``!`` when a parser would read it as another element."""
    s = line.strip()
    if not s:
        return s
    bare = normalise_cue(s)
    risky = (
        s.startswith(_FORCE_ACTION)
        or HEADING_RE.match(s)
        or TRANSITION_RE.match(s)
        or (bare and CUE_RE.match(bare))
        or s.startswith("(")
    )
    return "!" + s if risky else s


def _heading(text: str) -> str:
    return text if HEADING_RE.match(text) else "." + text


def _scene_lines(scene: Any, cast: list[str]) -> list[str]:
    """A scene as Fountain lines: heading, ``= title`` synopsis, then its elements."""
    elements = list(parse_scene(scene.text, cast).elements)
    if elements and elements[0].kind == "heading":
        out = ["", _heading(elements.pop(0).text)]
    else:
        out = ["", _heading(_one_line(scene.title).upper())]
    out += ["", f"= {_one_line(scene.title)}"]
    dual_second = False
    for el in elements:
        if el.kind == "heading":
            out += ["", _heading(el.text)]
        elif el.kind == "action":
            lines = el.text.split("\n")
            out.append("")
            out += [_action_line(ln) for ln in lines]
        elif el.kind == "character":
            cue = el.text
            if not CUE_RE.match(cue) or cue.startswith(_FORCE_ACTION) or HEADING_RE.match(cue):
                cue = "@" + cue
            if el.dual:
                cue = cue + " ^" if dual_second else cue
                dual_second = not dual_second
            else:
                dual_second = False
            out += ["", cue]
        elif el.kind in ("parenthetical", "dialogue"):
            out.append(el.text)
        elif el.kind == "transition":
            out += ["", el.text if TRANSITION_RE.match(el.text) else "> " + el.text]
    return out


def write_fountain(
    project: Any,
    branch: str | None = None,
    *,
    author: str = "",
    credit: str = "Written by",
    draft_date: str = "",
    contact: str = "",
) -> str:
    """The scenes of ``branch`` (default ``main``) as a Fountain screenplay."""
    name = branch or "main"
    scenes = list(project.branches[name].scenes)
    cast = [c.name for c in project.cast]
    page = [f"Title: {_one_line(project.title)}", f"Credit: {_one_line(credit)}"]
    if author:
        page.append(f"Author: {_one_line(author)}")
    if draft_date:
        page.append(f"Draft date: {_one_line(draft_date)}")
    if contact:
        page.append(f"Contact: {_one_line(contact)}")
    body: list[str] = []
    for scene in scenes:
        body += _scene_lines(scene, cast)
    text = "\n".join(page) + "\n" + "\n".join(body) + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def export_fountain(project: Any, out_path: Path, *, branch: str | None = None, **options: Any) -> list[Path]:
    """Write a branch of the project as a ``.fountain`` screenplay."""
    known = {k: v for k, v in options.items() if k in ("author", "credit", "draft_date", "contact")}
    out = Path(out_path)
    atomic_write_text(out, write_fountain(project, branch, **known))
    return [out]


# --- import ------------------------------------------------------------------
def split_screenplay(text: str) -> tuple[dict[str, str], list[tuple[int, str, str]]]:
    """(title page, [(line, title, scene text)]) from Fountain text, split at scene headings."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise FormatError(
            f"line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL character in the screenplay"
        )
    lines = text.split("\n")
    title_page: dict[str, str] = {}
    i = 0
    if lines and TITLE_KEY_RE.match(lines[0]) and not HEADING_RE.match(lines[0]):
        key = None
        while i < len(lines) and lines[i].strip():
            m = TITLE_KEY_RE.match(lines[i])
            if m and not lines[i].startswith((" ", "\t")):
                key = m.group(1).strip().lower()
                title_page[key] = m.group(2).strip()
            elif key is not None:
                title_page[key] = (title_page[key] + " " + lines[i].strip()).strip()
            i += 1
    scenes: list[tuple[int, str, list[str]]] = []
    prev_blank = True
    for n in range(i, len(lines)):
        line = lines[n]
        s = line.strip()
        is_heading = prev_blank and (HEADING_RE.match(s) or (s.startswith(".") and not s.startswith("..")))
        if is_heading:
            title = s[1:].strip() if s.startswith(".") and not HEADING_RE.match(s) else s
            scenes.append((n + 1, re.sub(r"\s*#[^#]*#\s*$", "", title), [line]))
        elif s == "===" or (
            s.startswith("=") and not s.startswith("==") and scenes and _only_heading(scenes[-1][2])
        ):
            if s != "===":  # a synopsis right after the heading names the scene
                scenes[-1] = (scenes[-1][0], s[1:].strip() or scenes[-1][1], scenes[-1][2])
        elif scenes:
            scenes[-1][2].append(line)
        elif s:
            scenes.append((n + 1, "Opening", [line]))
        prev_blank = not s
    out: list[tuple[int, str, str]] = []
    for line_no, title, body in scenes:
        content = "\n".join(body).strip("\n")
        content = re.sub(r"\n{3,}", "\n\n", content)
        out.append((line_no, _one_line(title) or f"Scene {len(out) + 1}", content))
    return title_page, out


def _only_heading(body: list[str]) -> bool:
    return all(not ln.strip() for ln in body[1:])


def import_fountain(
    path: Path,
    project: Any,
    *,
    after: str | None = None,
    branch: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    **_: Any,
) -> ImportResult:
    """Import a screenplay as a linear run of scenes (into an empty project, or ``after`` a scene)."""
    name = Path(path).name
    text = decode_text(read_limited(path, max_bytes), "screenplay")
    try:
        title_page, scenes = split_screenplay(text)
    except FormatError as exc:
        raise FormatError(f"{name}: {exc}") from None
    if not scenes:
        raise FormatError(f"{name}: no scenes found (a scene starts with a heading like 'INT. HOUSE - DAY')")
    empty = not list(project.scenes)
    if not empty and after is None:
        raise InvalidInput(
            f"{name}: the project already has scenes; say which scene the screenplay follows (after=SCENE)"
        )
    cast = [c.name for c in project.cast]
    created = []
    prev = project.scene(after) if after is not None else None
    for line_no, title, body in scenes:
        speakers = parse_scene(body, cast).speakers
        try:
            scene = project.add_scene(
                project.unique_title(title),
                body,
                after=prev,
                choice=None if prev is None else title,
                characters=speakers,
                branch=branch if prev is not None else None,
            )
        except WorkbenchError as exc:
            raise FormatError(f"{name}: line {line_no}: scene {title!r}: {exc}") from None
        created.append(scene)
        prev = scene
    if empty and title_page.get("title"):
        project.title = _one_line(title_page["title"])
    return ImportResult(format="fountain", scenes=created)


FORMAT = Format(
    name="fountain",
    suffixes=(".fountain", ".spmd"),
    export=export_fountain,
    import_=import_fountain,
    description="Fountain screenplay: export a branch; import a screenplay as a run of scenes",
)
