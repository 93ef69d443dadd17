"""Twee 3: the plain-text source format of Twine stories (export and import).

Specification: https://github.com/iftechfoundation/twine-specs/blob/master/twee-3-specification.md

Import keeps everything: every passage becomes a scene (those no link reaches too) or, for a
story format's special passages (``StoryInit``, ``[script]``, ``[stylesheet]``, ``[widget]``,
``StoryMenu``...), a special passage kept verbatim; every link, plain or in a macro of
SugarCube, Harlowe, Chapbook or Snowman (see :mod:`.twine`), becomes a choice, a link to a
passage not yet written an open choice; loops stay loops. The scene text is the passage text
as written, up to its trailing block of link lines.

Export writes ``StoryTitle``, ``StoryData`` and one passage per scene. A story imported from
Twee comes back byte for byte: headers, metadata (positions, sizes, unknown keys), the
whitespace between passages, the text before the first passage, ``StoryData`` as read
(unknown keys included) and the order of passages are kept, and each piece is written as read
unless the writer changed what it says. The workbench's own additions (logline, genre, style,
branches) live under one ``StoryData`` key, ``"story-workbench"``.
"""

from __future__ import annotations

import json
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
from .twine import compose_text, entries_from_specials, extract_links, is_special, split_tail
from .twine import parse_link as parse_link

__all__ = [
    "FORMAT",
    "export_twee",
    "import_twee",
    "parse_twee",
    "write_twee",
    "escape_name",
    "link_safe",
    "passage_text",
    "parse_link",
]

DEFAULT_STORY_FORMAT = ("Harlowe", "3.3.9")
WORKBENCH_KEY = "story-workbench"  # our extra StoryData fields (Twine ignores unknown keys)
RESERVED = {"StoryTitle", "StoryData"}
FMT = "twine"  # the key under which Twee and Twine HTML keep what they read

_META = "\\[]{}"


def escape_name(text: str) -> str:
    """Escape Twee metacharacters (``\\ [ ] { }``) in a passage name or tag."""
    return "".join("\\" + ch if ch in _META else ch for ch in text)


def unescape(text: str) -> str:
    """Any escaped character yields itself (the spec's robust decoding rule)."""
    return re.sub(r"\\(.)", r"\1", text)


def link_safe(name: str) -> str:
    """A passage name usable inside ``[[...]]`` links (Twine links cannot escape their separators)."""
    name = " ".join(name.split())  # one line, no stray whitespace
    for bad, good in (("->", "\u2192"), ("<-", "\u2190"), ("|", "\u00a6"), ("[[", "[ ["), ("]]", "] ]")):
        name = name.replace(bad, good)
    if name in RESERVED or name.startswith("::"):
        name = name + " (scene)"
    return name


def format_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def position_text(pos: tuple[float, float]) -> str:
    return f"{format_number(pos[0])},{format_number(pos[1])}"


def parse_position(value: Any, line: int) -> tuple[float, float] | None:
    """``"x,y"`` as numbers (a :class:`FormatError` naming ``line`` when it is not)."""
    if value is None:
        return None
    try:
        x, y = (float(v) for v in str(value).split(","))
    except ValueError:
        raise FormatError(f'line {line}: position must be "x,y" numbers, got {value!r}') from None
    if not all(abs(v) < 1e9 for v in (x, y)):
        raise FormatError(f"line {line}: position {value!r} is out of range")
    return (x, y)


def passage_text(p: Passage, *, story_format: str = "") -> str:
    """A scene passage's Twine text: the scene text, then each choice the text does not hold as a
    link line (the tail read at import comes back as it was while it still fits)."""
    tail = (p.extra.get(FMT) or {}).get("tail") if isinstance(p.extra.get(FMT), dict) else None
    return compose_text(p.text, p.links, tail=tail, story_format=story_format).strip()


def _escape_body(text: str) -> str:
    # a content line that starts with '::' would open a new passage
    return "\n".join(
        "\\" + line if line.startswith("::") or line.startswith("\\::") else line for line in text.split("\n")
    )


def _unescape_body(text: str) -> str:
    return "\n".join(
        line[1:] if line.startswith("\\::") or line.startswith("\\\\::") else line
        for line in text.split("\n")
    )


# --- the story-level data ----------------------------------------------------
def story_format_of(
    doc: StoryDoc, story_format: str | None = None, format_version: str | None = None
) -> tuple[str, str]:
    """The story format to write: the options given, else the one read at import, else Harlowe."""
    story = (doc.formats.get(FMT) or {}).get("story") or {}
    name = story_format or story.get("format") or DEFAULT_STORY_FORMAT[0]
    if format_version:
        version = format_version
    elif story_format and story_format != story.get("format"):
        version = DEFAULT_STORY_FORMAT[1] if story_format == DEFAULT_STORY_FORMAT[0] else ""
    else:
        version = story.get("format-version") or (
            DEFAULT_STORY_FORMAT[1] if name == DEFAULT_STORY_FORMAT[0] else ""
        )
    return str(name), str(version)


def _same_uuid(a: Any, b: Any) -> bool:
    try:
        return uuid.UUID(str(a)) == uuid.UUID(str(b))
    except ValueError:
        return False


def our_data(doc: StoryDoc) -> dict[str, Any]:
    """The workbench's own story fields (under ``"story-workbench"``), only those not at their default."""
    extra: dict[str, Any] = {k: getattr(doc, k) for k in ("logline", "genre", "style") if getattr(doc, k)}
    branches = dict(doc.branches)
    if set(branches) <= {"main"} and branches.get("main", [doc.start]) in ([doc.start], []):
        branches = {}
    if branches:
        extra["branches"] = branches
    return extra


def story_data(doc: StoryDoc, fmt: tuple[str, str]) -> dict[str, Any]:
    """StoryData as it should be now: as read (key order, unknown keys), with what changed updated."""
    tw = doc.formats.get(FMT) or {}
    read = (tw.get("story") or {}).get("data")
    data: dict[str, Any] = dict(read) if isinstance(read, dict) else {}
    if not isinstance(read, dict):
        data = {"ifid": doc.ifid or "", "format": fmt[0], "format-version": fmt[1]}
        story = tw.get("story") or {}
        for key in ("tag-colors", "zoom"):
            if story.get(key) is not None:
                value = story[key]
                if key == "zoom":
                    try:
                        value = float(value)
                        value = int(value) if value.is_integer() else value
                    except (TypeError, ValueError):
                        continue
                data[key] = value
    else:
        if doc.ifid and ("ifid" in data or not tw.get("story", {}).get("no_ifid")):
            if not _same_uuid(data.get("ifid"), doc.ifid):
                data["ifid"] = doc.ifid
        if "format" in data or fmt[0] != DEFAULT_STORY_FORMAT[0]:
            data["format"] = fmt[0]
        if "format-version" in data or (fmt[1] and fmt[1] != DEFAULT_STORY_FORMAT[1]):
            data["format-version"] = fmt[1]
    default_start = (tw.get("story") or {}).get("default_start")
    if doc.start and not ("start" not in data and isinstance(read, dict) and doc.start == default_start):
        data["start"] = doc.start
    elif not doc.start:
        data.pop("start", None)
    ours = our_data(doc)
    if ours:
        data[WORKBENCH_KEY] = ours
    else:
        data.pop(WORKBENCH_KEY, None)
    return data


# --- export ------------------------------------------------------------------
def _header(name: str, tags: list[str], meta: dict[str, Any]) -> str:
    header = ":: " + escape_name(name)
    if tags:
        header += " [" + " ".join(escape_name("_".join(t.split())) for t in tags) + "]"
    if meta:
        header += " " + json.dumps(meta, separators=(",", ":"), ensure_ascii=False)
    return header


def _passage_meta(kept: dict[str, Any], position: tuple[float, float] | None) -> dict[str, Any]:
    """The passage metadata as read, with the position as it is now."""
    meta = dict(kept.get("meta") or {})
    read = meta.get("position")
    try:
        same = read is not None and position is not None and parse_position(read, 0) == position
    except FormatError:
        same = False
    if position is None:
        meta.pop("position", None)
    elif not same:
        meta["position"] = position_text(position)
    return meta


def _chunk(
    name: str, tags: list[str], position: tuple[float, float] | None, text: str, kept: dict[str, Any]
) -> tuple[str, str]:
    """(header line, raw body) for one passage: the pieces read at import where they still fit."""
    tw = kept.get("twee") or {}
    header = tw.get("header")
    meta = _passage_meta(kept, position)
    if isinstance(header, str):
        try:
            h_name, h_tags, h_meta = _split_header(header[2:].strip(), 0)
            fits = h_name == name and h_tags == list(tags) and h_meta == meta
        except FormatError:
            fits = False
        if not fits:
            header = None
    if not isinstance(header, str):
        header = _header(name, list(tags), meta)
    body = str(tw.get("lead", "")) + _escape_body(text) + str(tw.get("gap", "\n"))
    return header, body


def write_twee(doc: StoryDoc, *, story_format: tuple[str, str] | None = None) -> str:
    """Serialise a :class:`StoryDoc` as Twee 3 text (see the module docstring)."""
    tw = doc.formats.get(FMT) or {}
    twee = tw.get("twee") or {}
    fmt = story_format or story_format_of(doc)
    items: list[tuple[float, int, tuple[str, str]]] = []  # (order, tie, chunk)
    title = " ".join(doc.title.split()) or "Untitled Story"
    t = twee.get("title") or {}
    if t.get("text") == title and isinstance(t.get("header"), str):
        chunk = (t["header"], t["raw"])
    else:
        chunk = (t.get("header") or ":: StoryTitle", title + "\n")
    items.append((t.get("order", -2), 0, chunk))
    data = story_data(doc, fmt)
    d = twee.get("data") or {}
    read = (tw.get("story") or {}).get("data")
    if data == read and isinstance(d.get("header"), str):
        chunk = (d["header"], d["raw"])
    else:
        chunk = (d.get("header") or ":: StoryData", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    items.append((d.get("order", -1), 0, chunk))
    tie = 1
    for p in doc.passages:
        kept = kept_data(p.extra, FMT)
        text = passage_text(p, story_format=fmt[0])
        order = (kept.get("twee") or {}).get("order")
        items.append(
            (
                order if order is not None else float("inf"),
                tie,
                _chunk(p.name, p.tags, p.position, text, kept),
            )
        )
        tie += 1
    for x in doc.specials:
        if x.format != FMT:
            continue
        kept = kept_data(x.extra, FMT)
        order = (kept.get("twee") or {}).get("order")
        pos = (
            parse_position((kept.get("meta") or {}).get("position"), 0)
            if (kept.get("meta") or {}).get("position")
            else None
        )
        items.append(
            (
                order if order is not None else float("inf"),
                tie,
                _chunk(x.name, list(x.tags), pos, x.text.strip(), kept),
            )
        )
        tie += 1
    items.sort(key=lambda it: (it[0], it[1]))
    out = "\n".join(h + "\n" + b for _, _, (h, b) in items)
    if twee.get("preamble") is not None:
        out = str(twee["preamble"]) + "\n" + out
    if twee.get("newline") == "\r\n":
        out = out.replace("\n", "\r\n")
    if twee.get("bom"):
        out = "\ufeff" + out
    return out


# --- import ------------------------------------------------------------------
def _split_header(header: str, line: int) -> tuple[str, list[str], dict[str, Any]]:
    """``Name [tags] {json}`` -> parts, honouring backslash escapes."""
    name_chars: list[str] = []
    i, n = 0, len(header)
    while i < n and header[i] not in "[{":
        if header[i] == "\\" and i + 1 < n:
            name_chars.append(header[i : i + 2])
            i += 2
            continue
        name_chars.append(header[i])
        i += 1
    name = unescape("".join(name_chars).strip())
    tags: list[str] = []
    meta: dict[str, Any] = {}
    rest = header[i:]
    if rest.startswith("["):
        j, buf = 1, []
        while j < len(rest) and rest[j] != "]":
            if rest[j] == "\\" and j + 1 < len(rest):
                buf.append(rest[j : j + 2])
                j += 2
                continue
            buf.append(rest[j])
            j += 1
        if j >= len(rest):
            raise FormatError(f"line {line}: the tag list is not closed with ']'")
        tags = [unescape(t) for t in "".join(buf).split() if t]
        rest = rest[j + 1 :].strip()
    if rest.startswith("{"):
        try:
            meta = json.loads(rest)
        except json.JSONDecodeError as exc:
            raise FormatError(f"line {line}: passage metadata is not valid JSON ({exc.msg})") from None
        if not isinstance(meta, dict):
            raise FormatError(f"line {line}: passage metadata must be a JSON object")
    elif rest:
        raise FormatError(f"line {line}: unexpected text after the passage name: {rest[:40]!r}")
    if not name:
        raise FormatError(f"line {line}: the passage header has no name")
    return name, tags, meta


def _strip_parts(raw: str) -> tuple[str, str, str]:
    """(lead, text, gap) with ``lead + text + gap == raw`` and ``text == raw.strip()``."""
    text = raw.strip()
    if not text:
        return "", "", raw
    start = raw.index(text)
    return raw[:start], text, raw[start + len(text) :]


def _kept(header: str, lead: str, gap: str, order: int, meta: dict[str, Any]) -> dict[str, Any]:
    twee: dict[str, Any] = {"header": header, "order": order}
    if lead:
        twee["lead"] = lead
    if gap != "\n":
        twee["gap"] = gap
    out: dict[str, Any] = {"twee": twee}
    if meta:
        out["meta"] = meta
    return out


def parse_twee(text: str, *, loops: str = "keep") -> tuple[StoryDoc, list[str]]:
    """Parse Twee 3 text into a validated :class:`StoryDoc` plus warnings."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise FormatError(f"line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL character in Twee text")
    raw = text.split("\n")
    warnings: list[str] = []
    chunks: list[tuple[int, str, list[str]]] = []  # (line, header line, body lines)
    preamble: list[str] = []
    for i, raw_line in enumerate(raw, start=1):
        if raw_line.startswith("::"):
            chunks.append((i, raw_line, []))
            check_passage_count(len(chunks), i)
        elif chunks:
            chunks[-1][2].append(raw_line)
        else:
            preamble.append(raw_line)
    if not chunks:
        raise FormatError("no passages found (a Twee passage starts with a '::' line)")
    doc = StoryDoc()
    twee: dict[str, Any] = {}
    story: dict[str, Any] = {}
    if preamble:
        twee["preamble"] = "\n".join(preamble)
    if crlf:
        twee["newline"] = "\r\n"
    if bom:
        twee["bom"] = True
    data: dict[str, Any] | None = None
    data_line = 0
    for order, (line, header_line, body_lines) in enumerate(chunks):
        name, tags, meta = _split_header(header_line[2:].strip(), line)
        body_raw = "\n".join(body_lines)
        lead, body, gap = _strip_parts(body_raw)
        if name == "StoryTitle":
            doc.title = " ".join(body.split())
            twee["title"] = {"header": header_line, "raw": body_raw, "text": doc.title, "order": order}
            continue
        if name == "StoryData":
            data_line = line
            try:
                data = json.loads(body or "{}")
            except json.JSONDecodeError as exc:
                raise FormatError(
                    f"line {line + exc.lineno + body_raw[: len(lead)].count(chr(10))}: "
                    f"StoryData is not valid JSON ({exc.msg})"
                ) from None
            if not isinstance(data, dict):
                raise FormatError(f"line {line}: StoryData must be a JSON object")
            twee["data"] = {"header": header_line, "raw": body_raw, "order": order}
            continue
        position = parse_position(meta.get("position"), line)
        kept = _kept(header_line, lead, gap, order, meta)
        content = _unescape_body(body)
        if is_special(name, tags):
            doc.specials.append(
                SpecialPassage(name=name, text=content, tags=tags, format=FMT, extra={FMT: kept}, line=line)
            )
            continue
        scene_text, tail = split_tail(content)
        if tail:
            kept["tail"] = tail
        first = line + 1 + lead.count("\n")
        links = [lk.link(first + content[: lk.start].count("\n")) for lk in extract_links(content)]
        doc.passages.append(
            Passage(
                name=name,
                text=scene_text,
                tags=tags,
                position=position,
                links=links,
                line=line,
                extra={FMT: kept},
            )
        )
    names = doc.names()
    if data is not None:
        story["data"] = data
        ifid = data.get("ifid")
        if ifid is not None:
            try:
                uuid.UUID(str(ifid))
            except ValueError:
                raise FormatError(f"line {data_line}: StoryData ifid {ifid!r} is not a UUID") from None
            doc.ifid = str(ifid).strip()
        else:
            story["no_ifid"] = True
        start = data.get("start")
        if start is not None and not isinstance(start, str):
            raise FormatError(f"line {data_line}: StoryData start must be a passage name")
        doc.start = start
        for key in ("format", "format-version"):
            if isinstance(data.get(key), str):
                story[key] = data[key]
        extra = data.get(WORKBENCH_KEY) or {}
        if not isinstance(extra, dict):
            raise FormatError(f"line {data_line}: StoryData {WORKBENCH_KEY!r} must be a JSON object")
        for key in ("logline", "genre", "style"):
            if isinstance(extra.get(key), str):
                setattr(doc, key, extra[key])
        branches = extra.get("branches") or {}
        if not isinstance(branches, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in branches.values()
        ):
            raise FormatError(
                f"line {data_line}: StoryData branches must map names to lists of passage names"
            )
        doc.branches = {str(k): list(v) for k, v in branches.items()}
    if doc.start is None:
        doc.start = "Start" if "Start" in names else (doc.passages[0].name if doc.passages else None)
        story["default_start"] = doc.start
    for bname, path in doc.branches.items():
        for n in path:
            if n not in names:
                raise FormatError(f"line {data_line}: branch {bname!r} names {n!r}, which is not a passage")
        for a, b in zip(path, path[1:]):
            if not any(lk.target == b for lk in doc.passage(a).links):
                raise FormatError(f"line {data_line}: branch {bname!r}: no choice leads from {a!r} to {b!r}")
    doc.entries = entries_from_specials(doc)
    doc.formats[FMT] = {"twee": twee, "story": story}
    warnings += check_doc(doc, loops=loops)
    return doc, warnings


# --- the format --------------------------------------------------------------
def export_twee(
    project: Any,
    out_path: Path,
    *,
    story_format: str | None = None,
    format_version: str | None = None,
    **_: Any,
) -> list[Path]:
    """Write the project as a ``.twee`` file."""
    doc = doc_from_project(project, link_safe, FMT)
    out = Path(out_path)
    text = write_twee(doc, story_format=story_format_of(doc, story_format, format_version))
    atomic_write_text(out, text)
    return [out]


def decode_text(data: bytes, what: str = "file") -> str:
    """UTF-8 text, or a FormatError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(f"line {line}: the {what} is not UTF-8 text (byte {exc.start})") from None


def import_twee(
    path: Path, project: Any, *, loops: str = "keep", max_bytes: int = DEFAULT_MAX_BYTES, **_: Any
) -> ImportResult:
    """Import a Twee 3 file into an empty project (all or nothing when run by ``import_file``)."""
    text = decode_text(read_limited(path, max_bytes), "Twee file")
    try:
        doc, warnings = parse_twee(text, loops=loops)
        scenes, more = apply_doc(doc, project, FMT)
    except FormatError as exc:
        raise type(exc)(f"{Path(path).name}: {exc}") from None
    return ImportResult(format="twee", scenes=scenes, warnings=warnings + more)


FORMAT = Format(
    name="twee",
    suffixes=(".twee", ".tw", ".tw3"),
    export=export_twee,
    import_=import_twee,
    description="Twee 3 (Twine source): passages, links and macros, special passages; round trips byte for byte",
)
