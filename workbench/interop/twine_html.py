"""Twine 2 HTML: the archive Twine's "Library > Archive" writes, and published stories.

Specification: https://github.com/iftechfoundation/twine-specs/blob/master/twine-2-htmloutput-spec.md

One ``<tw-storydata>`` element holds the story: its user stylesheet (``<style>``) and script
(``<script>``), tag colours (``<tw-tag>``) and a ``<tw-passagedata>`` per passage (``pid``,
``name``, ``tags``, ``position``, ``size``; HTML-escaped text). A published story is the same
element inside the story format's page.

Import reads an archive of one story (or the one named with ``story=``) or a published story:
passages become scenes or special passages exactly as for Twee (see :mod:`.twee`), the user
stylesheet and script become special passages (``StoryStylesheet``, ``StoryScript``). Export
writes the archive form; a story imported from Twine HTML comes back as it was read (the page
around a published story, every attribute, pid and the order of elements), each element
written as read unless the writer changed what it says.
"""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..files import atomic_write_text
from .registry import DEFAULT_MAX_BYTES, Format, ImportResult, read_limited
from .storydoc import (
    Passage,
    SpecialPassage,
    StoryDoc,
    apply_doc,
    check_doc,
    check_passage_count,
    doc_from_project,
    kept_data,
)
from .twee import (
    FMT,
    decode_text,
    link_safe,
    parse_position,
    passage_text,
    position_text,
    story_format_of,
)
from .twine import entries_from_specials, extract_links, is_special, split_tail

__all__ = ["FORMAT", "export_twine_html", "import_twine_html", "parse_twine_html", "write_twine_html"]

_STORY_RE = re.compile(r"<tw-storydata\b([^>]*)>(.*?)</tw-storydata\s*>", re.DOTALL | re.IGNORECASE)
_ITEM_RE = re.compile(
    r"<(tw-passagedata|style|script|tw-tag)\b([^>]*?)(/?)>(?:(.*?)</\1\s*>)?", re.DOTALL | re.IGNORECASE
)
_ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def escape(text: str) -> str:
    """HTML-escape as Twine does (``& < > " '``)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("story-workbench")
    except Exception:
        return "0"


def parse_attrs(raw: str) -> list[tuple[str, str | None]]:
    """Attributes of a start tag in order, values unescaped (``None`` for a bare attribute)."""
    out: list[tuple[str, str | None]] = []
    for m in _ATTR_RE.finditer(raw):
        name = m.group(1)
        value = next((g for g in m.group(2, 3, 4) if g is not None), None)
        out.append((name, html.unescape(value) if value is not None else None))
    return out


def _tag(element: str, attrs: list[tuple[str, str | None]]) -> str:
    parts = [element] + [k if v is None else f'{k}="{escape(v)}"' for k, v in attrs]
    return "<" + " ".join(parts) + ">"


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# --- import ------------------------------------------------------------------
def parse_twine_html(
    text: str, *, story: str | None = None, loops: str = "keep"
) -> tuple[StoryDoc, list[str]]:
    """Parse a Twine 2 archive or published story into a validated :class:`StoryDoc` plus warnings."""
    if "\x00" in text:
        raise FormatError(f"line {_line_at(text, text.index(chr(0)))}: NUL character in the HTML file")
    found = list(_STORY_RE.finditer(text))
    if not found:
        raise FormatError("no <tw-storydata> element: this is not a Twine 2 story or archive")
    names = [dict(parse_attrs(m.group(1))).get("name") or "" for m in found]
    if story is not None:
        if story not in names:
            raise FormatError(
                f"no story called {story!r} in this file (it holds: {', '.join(map(repr, names))})"
            )
        match = found[names.index(story)]
    elif len(found) > 1:
        raise FormatError(
            f"this archive holds {len(found)} stories ({', '.join(map(repr, names))}); "
            "import one of them with the option story=NAME"
        )
    else:
        match = found[0]
    attrs = parse_attrs(match.group(1))
    story_attrs = dict(attrs)
    doc = StoryDoc(title=" ".join((story_attrs.get("name") or "").split()))
    ifid = story_attrs.get("ifid")
    if ifid:
        try:
            uuid.UUID(ifid)
        except ValueError:
            raise FormatError(
                f"line {_line_at(text, match.start())}: the story's ifid {ifid!r} is not a UUID"
            ) from None
        doc.ifid = ifid
    inner_start = match.start(2)
    inner = match.group(2)
    layout: dict[str, Any] = {
        "before": text[: match.start()],
        "after": text[match.end() :],
        "tag": text[match.start() : match.start(2)],
        "attrs": [list(a) for a in attrs],
        "close": text[match.end(2) : match.end()],
    }
    tag_colors: dict[str, str] = {}
    tag_items: list[dict[str, Any]] = []
    pids: dict[str, str] = {}
    last = 0
    count = 0
    for order, m in enumerate(_ITEM_RE.finditer(inner)):
        gap = inner[last : m.start()]
        last = m.end()
        element = m.group(1).lower()
        line = _line_at(text, inner_start + m.start())
        item_attrs = parse_attrs(m.group(2))
        a = dict(item_attrs)
        raw = m.group(0)
        body = m.group(4) or ""
        placed = {"raw": raw, "gap": gap, "order": order}
        if element == "tw-tag":
            if a.get("name") and a.get("color"):
                tag_colors[a["name"] or ""] = a["color"] or ""
            tag_items.append({**placed, "name": a.get("name"), "color": a.get("color")})
            continue
        if element in ("style", "script"):
            tag = "stylesheet" if element == "style" else "script"
            doc.specials.append(
                SpecialPassage(
                    name="StoryStylesheet" if element == "style" else "StoryScript",
                    text=body,
                    tags=[tag],
                    format=FMT,
                    extra={FMT: {"html": {**placed, "element": element}}},
                    line=line,
                )
            )
            continue
        count += 1
        check_passage_count(count, line)
        name = a.get("name")
        if not name:
            raise FormatError(f"line {line}: a <tw-passagedata> has no name")
        ptext = html.unescape(body)
        tags = (a.get("tags") or "").split()
        meta = {k: a[k] for k in ("position", "size") if a.get(k) is not None}
        kept: dict[str, Any] = {"html": placed}
        if meta:
            kept["meta"] = meta
        if a.get("pid") is not None:
            pids[a["pid"] or ""] = name
        if is_special(name, tags):
            doc.specials.append(
                SpecialPassage(name=name, text=ptext, tags=tags, format=FMT, extra={FMT: kept}, line=line)
            )
            continue
        scene_text, tail = split_tail(ptext)
        if tail:
            kept["tail"] = tail
        links = [lk.link(line + ptext[: lk.start].count("\n")) for lk in extract_links(ptext)]
        doc.passages.append(
            Passage(
                name=name,
                text=scene_text,
                tags=tags,
                position=parse_position(meta.get("position"), line),
                links=links,
                line=line,
                extra={FMT: kept},
            )
        )
    layout["end_gap"] = inner[last:]
    layout["tags"] = tag_items
    start = story_attrs.get("startnode")
    if start and start in pids:
        doc.start = pids[start]
    elif doc.passages:
        doc.start = doc.passages[0].name
    story_data: dict[str, Any] = {"html": layout}
    for key in ("format", "format-version", "zoom"):
        if story_attrs.get(key) is not None:
            story_data[key] = story_attrs[key]
    if tag_colors:
        story_data["tag-colors"] = tag_colors
    doc.formats[FMT] = {"story": story_data}
    doc.entries = entries_from_specials(doc)
    warnings = check_doc(doc, loops=loops)
    return doc, warnings


# --- export ------------------------------------------------------------------
def _story_fields(doc: StoryDoc) -> dict[str, Any]:
    """format, format-version, zoom and tag colours, from what Twee or Twine HTML read."""
    story = kept_data(kept_data(doc.formats, FMT), "story")
    data = kept_data(story, "data")
    out: dict[str, Any] = {}
    for key in ("zoom", "tag-colors"):
        value = story.get(key, data.get(key))
        if value is not None:
            out[key] = value
    return out


def _passage_element(
    name: str,
    tags: list[str],
    position: tuple[float, float] | None,
    text: str,
    kept: dict[str, Any],
    pid: str,
) -> str:
    """A ``<tw-passagedata>`` element: as read where it still says the same, else written anew."""
    placed = kept.get("html") or {}
    raw = placed.get("raw")
    meta = dict(kept.get("meta") or {})
    read_pos = meta.get("position")
    try:
        same_pos = read_pos is not None and position is not None and parse_position(read_pos, 0) == position
    except FormatError:
        same_pos = False
    pos = read_pos if same_pos else (position_text(position) if position is not None else None)
    old: list[tuple[str, str | None]] = []
    if isinstance(raw, str):
        m = _ITEM_RE.match(raw)
        if m is not None:
            old = parse_attrs(m.group(2))
            a = dict(old)
            if (
                a.get("pid") == pid
                and a.get("name") == name
                and (a.get("tags") or "").split() == list(tags)
                and a.get("position") == pos
                and a.get("size") == meta.get("size")
                and html.unescape(m.group(4) or "") == text
            ):
                return raw
    values: dict[str, str | None] = {
        "pid": pid,
        "name": name,
        "tags": " ".join("_".join(t.split()) for t in tags),
        "position": pos,  # optional in the specification: a scene without one gets none
        "size": meta.get("size"),
    }
    attrs: list[tuple[str, str | None]] = []
    for k, v in old:
        if k in values:
            value = values.pop(k)
            if value is not None:
                attrs.append((k, value))
        else:
            attrs.append((k, v))
    attrs += [(k, v) for k, v in values.items() if v is not None]
    return _tag("tw-passagedata", attrs) + escape(text) + "</tw-passagedata>"


def write_twine_html(doc: StoryDoc, *, story_format: tuple[str, str] | None = None) -> str:
    """Serialise a :class:`StoryDoc` as a Twine 2 archive (or the published page it was read from)."""
    fmt = story_format or story_format_of(doc)
    tw = doc.formats.get(FMT) or {}
    story = tw.get("story") or {}
    layout = story.get("html") if isinstance(story.get("html"), dict) else None
    fields = _story_fields(doc)
    items: list[tuple[float, int, str, str]] = []  # (order, tie, gap before, element)
    # passages: keep the pids read where they are unique, number the rest after them
    entries: list[tuple[str, list[str], tuple[float, float] | None, str, dict[str, Any]]] = []
    for p in doc.passages:
        kept = kept_data(p.extra, FMT)
        entries.append((p.name, list(p.tags), p.position, passage_text(p, story_format=fmt[0]), kept))
    scripts: list[SpecialPassage] = []
    styles: list[SpecialPassage] = []
    for x in doc.specials:
        if x.format != FMT:
            continue
        if "script" in x.tags:
            scripts.append(x)
        elif "stylesheet" in x.tags:
            styles.append(x)
        else:
            kept = kept_data(x.extra, FMT)
            pos = (kept.get("meta") or {}).get("position")
            entries.append((x.name, list(x.tags), parse_position(pos, 0) if pos else None, x.text, kept))
    used: set[str] = set()
    pid_of: list[str | None] = []
    for _, _, _, _, kept in entries:
        m = _ITEM_RE.match(str((kept.get("html") or {}).get("raw") or ""))
        pid = dict(parse_attrs(m.group(2))).get("pid") if m else None
        if pid and pid not in used:
            used.add(pid)
            pid_of.append(pid)
        else:
            pid_of.append(None)
    nxt = max([int(p) for p in used if p.isdigit()] + [0]) + 1
    for i, pid in enumerate(pid_of):
        if pid is None:
            while str(nxt) in used:
                nxt += 1
            pid_of[i] = str(nxt)
            used.add(str(nxt))
    tie = 0
    for (name, tags, pos, text, kept), pid in zip(entries, pid_of):
        placed = kept.get("html") or {}
        order = placed.get("order", float("inf"))
        assert pid is not None
        items.append(
            (
                order,
                tie,
                str(placed.get("gap", "\n" if layout is None else "")),
                _passage_element(name, tags, pos, text, kept, pid),
            )
        )
        tie += 1
    for element, specials in (("style", styles), ("script", scripts)):
        kept_el = None
        if len(specials) == 1:
            kept_el = (specials[0].extra.get(FMT) or {}).get("html")
        body = "\n".join(x.text for x in specials)
        if not specials and layout is not None:
            continue  # the page had no such element
        if isinstance(kept_el, dict) and kept_el.get("element") == element:
            m = _ITEM_RE.match(str(kept_el.get("raw") or ""))
            if m is not None and (m.group(4) or "") == body:
                items.append((kept_el.get("order", -1), -2, str(kept_el.get("gap", "")), str(kept_el["raw"])))
                continue
            if m is not None:
                el = _tag(element, parse_attrs(m.group(2))) + body + f"</{element}>"
                items.append((kept_el.get("order", -1), -2, str(kept_el.get("gap", "")), el))
                continue
        if element == "style":
            el = f'<style role="stylesheet" id="twine-user-stylesheet" type="text/twine-css">{body}</style>'
        else:
            el = f'<script role="script" id="twine-user-script" type="text/twine-javascript">{body}</script>'
        items.append((-1.5 if element == "style" else -1.4, -2, "" if layout else "\n", el))
    colors = fields.get("tag-colors") or {}
    kept_tags = {t.get("name"): t for t in (layout or {}).get("tags", []) if isinstance(t, dict)}
    for name, color in colors.items():
        t = kept_tags.get(name)
        if t is not None and t.get("color") == color:
            items.append((t.get("order", -1), -1, str(t.get("gap", "")), str(t["raw"])))
        else:
            el = _tag("tw-tag", [("name", str(name)), ("color", str(color))]) + "</tw-tag>"
            items.append((t.get("order", -1) if t else -1.3, -1, "" if layout else "\n", el))
    items.sort(key=lambda it: (it[0], it[1]))
    start_pid = "1"
    for (name, *_), pid in zip(entries, pid_of):
        if name == doc.start and pid is not None:
            start_pid = pid
            break
    values: dict[str, str | None] = {
        "name": " ".join(doc.title.split()) or "Untitled Story",
        "startnode": start_pid,
        "creator": "Story Workbench",
        "creator-version": _version(),
        "ifid": doc.ifid or "",
        "zoom": str(fields.get("zoom", "1")),
        "format": fmt[0],
        "format-version": fmt[1],
        "options": "",
    }
    if layout is not None:
        attrs = [(k, v) for k, v in layout.get("attrs", [])]
        read = dict(attrs)
        values.pop("creator")
        values.pop("creator-version")
        if "zoom" not in fields:
            values.pop("zoom")
        if read.get("ifid") and doc.ifid:
            try:
                if uuid.UUID(str(read["ifid"])) == uuid.UUID(doc.ifid):
                    values["ifid"] = read["ifid"]
            except ValueError:
                pass
        new_attrs = [(k, values.pop(k) if k in values else v) for k, v in attrs]
        new_attrs += [(k, v) for k, v in values.items() if k not in ("options",)]
        head = str(layout.get("tag")) if new_attrs == attrs else _tag("tw-storydata", new_attrs)
        inner = "".join(gap + el for _, _, gap, el in items) + str(layout.get("end_gap", ""))
        return (
            str(layout.get("before", ""))
            + head
            + inner
            + str(layout.get("close", "</tw-storydata>"))
            + str(layout.get("after", ""))
        )
    head = _tag("tw-storydata", [*values.items(), ("hidden", None)])
    return head + "".join(gap + el for _, _, gap, el in items) + "\n</tw-storydata>\n"


def export_twine_html(
    project: Any,
    out_path: Path,
    *,
    story_format: str | None = None,
    format_version: str | None = None,
    **_: Any,
) -> list[Path]:
    """Write the project as a Twine 2 archive ``.html`` file (importable in Twine)."""
    doc = doc_from_project(project, link_safe, FMT)
    out = Path(out_path)
    atomic_write_text(
        out, write_twine_html(doc, story_format=story_format_of(doc, story_format, format_version))
    )
    return [out]


def import_twine_html(
    path: Path,
    project: Any,
    *,
    story: str | None = None,
    loops: str = "keep",
    max_bytes: int = DEFAULT_MAX_BYTES,
    **_: Any,
) -> ImportResult:
    """Import a Twine 2 archive or published story into an empty project (all or nothing)."""
    text = decode_text(read_limited(path, max_bytes), "HTML file")
    try:
        doc, warnings = parse_twine_html(text, story=story, loops=loops)
        scenes, more = apply_doc(doc, project, FMT)
    except FormatError as exc:
        raise type(exc)(f"{Path(path).name}: {exc}") from None
    return ImportResult(format="twine-html", scenes=scenes, warnings=warnings + more)


FORMAT = Format(
    name="twine-html",
    suffixes=(".html", ".htm"),
    export=export_twine_html,
    import_=import_twine_html,
    description="Twine 2 HTML: archive (Twine's Library > Archive) or published story; round trips",
)
