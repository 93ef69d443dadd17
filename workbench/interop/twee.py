"""Twee 3: the plain-text source format of Twine stories (export and import).

Specification: https://github.com/iftechfoundation/twine-specs/blob/master/twee-3-specification.md

Export writes ``StoryTitle``, a ``StoryData`` JSON chunk (a stable ``ifid``,
``format``, ``format-version``, ``start``) and one passage per scene::

    :: Name [tag1 tag2] {"position":"100,200"}
    scene text

    [[choice label->Target]]

Choice links follow the scene text. Import also reads ``[[Target<-label]]``,
``[[label|Target]]`` and ``[[Target]]`` links anywhere in a passage. Export ->
import -> export gives the same bytes.
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
from .storydoc import Link, Passage, StoryDoc, apply_doc, check_doc, doc_from_project, drop_loops

__all__ = [
    "FORMAT",
    "export_twee",
    "import_twee",
    "parse_twee",
    "write_twee",
    "escape_name",
    "link_safe",
    "passage_text",
]

DEFAULT_STORY_FORMAT = ("Harlowe", "3.3.9")
WORKBENCH_KEY = "story-workbench"  # our extra StoryData fields (Twine ignores unknown keys)
SPECIAL_TAGS = {"script", "stylesheet", "Twine.private"}
RESERVED = {"StoryTitle", "StoryData"}

_META = "\\[]{}"
LINK_RE = re.compile(r"\[\[(.*?)\]\](?!\])", re.DOTALL)


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


def _label(label: str) -> str:
    label = " ".join(label.split())
    return label.replace("]]", "] ]").replace("[[", "[ [")


def write_twee(doc: StoryDoc, *, story_format: tuple[str, str] = DEFAULT_STORY_FORMAT) -> str:
    """Serialise a :class:`StoryDoc` as Twee 3 text."""
    data: dict[str, Any] = {
        "ifid": doc.ifid or "",
        "format": story_format[0],
        "format-version": story_format[1],
    }
    if doc.start:
        data["start"] = doc.start
    extra: dict[str, Any] = {k: getattr(doc, k) for k in ("logline", "genre", "style") if getattr(doc, k)}
    if doc.branches:
        extra["branches"] = doc.branches
    if extra:
        data[WORKBENCH_KEY] = extra
    chunks = [
        f":: StoryTitle\n{' '.join(doc.title.split()) or 'Untitled Story'}",
        ":: StoryData\n" + json.dumps(data, indent=2, ensure_ascii=False),
    ]
    for p in doc.passages:
        header = ":: " + escape_name(p.name)
        if p.tags:
            header += " [" + " ".join(escape_name("_".join(t.split())) for t in p.tags) + "]"
        if p.position is not None:
            pos = f"{format_number(p.position[0])},{format_number(p.position[1])}"
            header += " " + json.dumps({"position": pos}, separators=(",", ":"))
        body = passage_text(p, escape_lines=True)
        chunks.append(header + ("\n" + body if body else ""))
    return "\n\n".join(chunks) + "\n"


def passage_text(p: Passage, *, escape_lines: bool = False) -> str:
    """A passage's text: the scene text, a blank line, then one choice link per line."""
    body = p.text.strip("\n").rstrip()
    if escape_lines:
        body = _escape_body(body)
    links = []
    for lk in p.links:
        label = _label(lk.label)
        links.append(f"[[{lk.target}]]" if label in ("", lk.target) else f"[[{label}->{lk.target}]]")
    if links:
        body = (body + "\n\n" if body else "") + "\n".join(links)
    return body


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


def _position(meta: dict[str, Any], line: int) -> tuple[float, float] | None:
    pos = meta.get("position")
    if pos is None:
        return None
    try:
        x, y = (float(v) for v in str(pos).split(","))
    except ValueError:
        raise FormatError(f'line {line}: position must be "x,y" numbers, got {pos!r}') from None
    if not all(map(lambda v: abs(v) < 1e9, (x, y))):
        raise FormatError(f"line {line}: position {pos!r} is out of range")
    return (x, y)


def parse_link(inner: str) -> Link:
    """The label and target of a link's inside (``a->B``, ``B<-a``, ``a|B``, ``B``)."""
    if "][" in inner:  # SugarCube setter links: [[text|Target][$x to 1]]
        inner = inner.split("][", 1)[0]
    if "->" in inner:
        label, target = inner.rsplit("->", 1)
    elif "<-" in inner:
        target, label = inner.split("<-", 1)
    elif "|" in inner:
        label, target = inner.rsplit("|", 1)
    else:
        label = target = inner
    return Link(label=" ".join(label.split()), target=target.strip())


def _split_links(text: str) -> tuple[str, list[Link]]:
    """Scene text without its links, and the links in order of appearance."""
    lines = text.split("\n")
    # the trailing block of link-only lines holds the choices
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or LINK_RE.sub("", lines[end - 1]).strip() == ""):
        end -= 1
    body = "\n".join(lines[:end]).rstrip()
    tail = "\n".join(lines[end:])
    links = [parse_link(m.group(1)) for m in LINK_RE.finditer(body)]
    body = LINK_RE.sub(lambda m: parse_link(m.group(1)).label, body)
    links += [parse_link(m.group(1)) for m in LINK_RE.finditer(tail)]
    return body, links


def parse_twee(text: str, *, loops: str = "error") -> tuple[StoryDoc, list[str]]:
    """Parse Twee 3 text into a validated :class:`StoryDoc` plus warnings."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise FormatError(f"line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL character in Twee text")
    raw = text.split("\n")
    warnings: list[str] = []
    chunks: list[tuple[int, str, list[str]]] = []  # (line, header, body lines)
    for i, raw_line in enumerate(raw, start=1):
        if raw_line.startswith("::"):
            chunks.append((i, raw_line[2:].strip(), []))
        elif chunks:
            chunks[-1][2].append(raw_line)
    if not chunks:
        raise FormatError("no passages found (a Twee passage starts with a '::' line)")
    doc = StoryDoc()
    data: dict[str, Any] | None = None
    data_line = 0
    for line, header, body_lines in chunks:
        name, tags, meta = _split_header(header, line)
        body = "\n".join(body_lines).strip("\n").rstrip()
        if name == "StoryTitle":
            doc.title = " ".join(body.split())
            continue
        if name == "StoryData":
            data_line = line
            try:
                data = json.loads(body or "{}")
            except json.JSONDecodeError as exc:
                raise FormatError(
                    f"line {line + exc.lineno}: StoryData is not valid JSON ({exc.msg})"
                ) from None
            if not isinstance(data, dict):
                raise FormatError(f"line {line}: StoryData must be a JSON object")
            continue
        if SPECIAL_TAGS & set(tags):
            warnings.append(
                f"line {line}: skipped {name!r} (a story {'/'.join(sorted(SPECIAL_TAGS & set(tags)))} "
                "passage, not a scene)"
            )
            continue
        content, links = _split_links(_unescape_body(body))
        doc.passages.append(
            Passage(
                name=name, text=content, tags=tags, position=_position(meta, line), links=links, line=line
            )
        )
    if data is not None:
        ifid = data.get("ifid")
        if ifid is not None:
            try:
                uuid.UUID(str(ifid))
            except ValueError:
                raise FormatError(f"line {data_line}: StoryData ifid {ifid!r} is not a UUID") from None
            doc.ifid = str(ifid).strip()
        start = data.get("start")
        if start is not None and not isinstance(start, str):
            raise FormatError(f"line {data_line}: StoryData start must be a passage name")
        doc.start = start
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
    names = doc.names()
    if doc.start is None:
        doc.start = "Start" if "Start" in names else (doc.passages[0].name if doc.passages else None)
    for p in doc.passages:
        kept = []
        for lk in p.links:
            if lk.target in names:
                kept.append(lk)
            else:
                warnings.append(
                    f"line {p.line}: {p.name!r} links to {lk.target!r}, which does not exist; "
                    "the link was left out"
                )
        p.links = kept
    for bname, path in doc.branches.items():
        for n in path:
            if n not in names:
                raise FormatError(f"line {data_line}: branch {bname!r} names {n!r}, which is not a passage")
        for a, b in zip(path, path[1:]):
            if not any(lk.target == b for lk in doc.passage(a).links):
                raise FormatError(f"line {data_line}: branch {bname!r}: no choice leads from {a!r} to {b!r}")
    if loops == "drop":
        warnings += drop_loops(doc)
    elif loops != "error":
        raise FormatError(f"loops must be 'error' or 'drop', not {loops!r}")
    check_doc(doc)
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
    doc = doc_from_project(project, link_safe)
    fmt = (story_format or DEFAULT_STORY_FORMAT[0], format_version or DEFAULT_STORY_FORMAT[1])
    out = Path(out_path)
    atomic_write_text(out, write_twee(doc, story_format=fmt))
    return [out]


def decode_text(data: bytes, what: str = "file") -> str:
    """UTF-8 text, or a FormatError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(f"line {line}: the {what} is not UTF-8 text (byte {exc.start})") from None


def import_twee(
    path: Path, project: Any, *, loops: str = "error", max_bytes: int = DEFAULT_MAX_BYTES, **_: Any
) -> ImportResult:
    """Import a Twee 3 file into an empty project (all or nothing when run by ``import_file``)."""
    text = decode_text(read_limited(path, max_bytes), "Twee file")
    try:
        doc, warnings = parse_twee(text, loops=loops)
    except FormatError as exc:
        raise FormatError(f"{Path(path).name}: {exc}") from None
    scenes, more = apply_doc(doc, project)
    return ImportResult(format="twee", scenes=scenes, warnings=warnings + more)


FORMAT = Format(
    name="twee",
    suffixes=(".twee", ".tw", ".tw3"),
    export=export_twee,
    import_=import_twee,
    description="Twee 3 (Twine source): scenes as passages, choices as links; round trips",
)
