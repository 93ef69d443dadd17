"""Ink (inkle's narrative scripting language): export and import.

Export writes global tags (title, ifid), a divert to the start knot, then one knot per scene:
``// Title``, a ``# tag`` line, the scene text (ink metacharacters escaped), then its choices
as ``* [label] -> knot`` (``+``, sticky, for scenes a reader can come back to: a hub keeps its
choices), a goto as a divert, or ``-> END`` at a leaf. An open choice (its scene not written
yet) ends the story for now: ``* [label] -> END // open choice: "Title" is not written yet``.
Knot names are ink identifiers made from the titles, unique, never reserved words.

Import reads knots and stitches as scenes (``knot`` and ``knot.stitch``), choices and diverts
as choices (a divert is a goto; a tunnel ``-> x ->`` or thread ``<- x`` a reference), loops as
loops, and a divert to a knot that does not exist as an open choice. A knot in the shape the
exporter writes gives its scene text back; any other knot (weaves, glue, conditions, variables,
logic) keeps its ink source, byte for byte, as the scene text. Functions are kept as special
passages; declarations and global tags before the first knot are kept as read. Exporting an
imported story writes every unchanged knot as it was read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..files import atomic_write_text
from .registry import DEFAULT_MAX_BYTES, Format, ImportResult, read_limited
from .storydoc import (
    Link,
    Passage,
    SpecialPassage,
    StoryDoc,
    apply_doc,
    check_doc,
    check_passage_count,
    doc_from_project,
    kept_data,
    loop_names,
)
from .twee import decode_text

__all__ = ["FORMAT", "export_ink", "import_ink", "parse_ink", "write_ink", "knot_name", "escape_ink"]

FMT = "ink"
RESERVED = {
    "END", "DONE", "else", "not", "and", "or", "true", "false", "return", "temp", "VAR", "CONST", "LIST",
    "INCLUDE", "EXTERNAL", "function", "stopping", "cycle", "shuffle", "once", "ref", "mod", "has", "hasnt",
}  # fmt: skip
_RESERVED_LOWER = {r.lower() for r in RESERVED}
IDENT = r"[^\W\d]\w*"
_KNOT_RE = re.compile(r"^\s*={2,}\s*(function\s+)?(\S+?)\s*(\([^)]*\))?\s*=*\s*$")
_STITCH_RE = re.compile(r"^\s*=(?!=)\s*(\S+?)\s*(\([^)]*\))?\s*$")
_IDENT_RE = re.compile(rf"^{IDENT}$")
_DIVERT_RE = re.compile(rf"(?<![\\-])->\s*({IDENT}(?:\.{IDENT})*)(\s*->)?")
_THREAD_RE = re.compile(rf"(?<!\\)<-\s*({IDENT}(?:\.{IDENT})*)")
_CHOICE_RE = re.compile(r"^\s*((?:[*+]\s*)+)(.*)$")
_GATHER_RE = re.compile(r"^\s*((?:-(?!>)\s*)+)(.*)$")
_LABEL_RE = re.compile(rf"^\s*\(\s*({IDENT})\s*\)")
_DECLARATION_RE = re.compile(r"^\s*(VAR|CONST|LIST|EXTERNAL|INCLUDE)\b")
_OPEN_NOTE = re.compile(r'^(?P<head>.*?) // open choice: "(?P<want>.*)" is not written yet$')


def knot_name(title: str) -> str:
    """An ink identifier from a scene title (``"The Cliff [path]"`` -> ``The_Cliff_path``)."""
    name = re.sub(r"\W+", "_", title, flags=re.ASCII).strip("_")
    if not name or name[0].isdigit() or name in RESERVED or name.lower() in _RESERVED_LOWER:
        name = "scene_" + name
    return name


def escape_ink(line: str) -> str:
    """Escape ink's metacharacters so a line of scene text prints as written."""
    out = []
    n = len(line)
    for i, ch in enumerate(line):
        nxt = line[i + 1] if i + 1 < n else ""
        at_start = not line[:i].strip()
        if (
            ch in "\\{}|#[]~/*"  # '/' and '*' always: comments are stripped before escapes are read
            or (ch in "+-=" and at_start)
            or (ch == "-" and nxt == ">")
            or (ch == "<" and nxt in "->")
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def unescape_ink(line: str) -> str:
    return re.sub(r"\\(.)", r"\1", line)


def _escape_text(text: str) -> list[str]:
    """Scene text as ink lines; blank lines stay (ink prints none for them; a screenplay needs them)."""
    text = text.strip("\n")
    return [escape_ink(raw.strip()) for raw in text.split("\n")] if text.strip() else []


# --- export ------------------------------------------------------------------
def knot_lines(
    name: str,
    title: str,
    tags: list[str],
    text: str,
    links: list[Link],
    knots: dict[str, str],
    sticky: bool,
) -> list[str]:
    """A scene as a knot in the exporter's own shape (header line included)."""
    bullet = "+" if sticky else "*"
    out = [f"=== {name} ===", f"// {' '.join(title.split())}"]
    leaf = not any(lk.kind in ("choice", "goto") for lk in links)
    shown = [t for t in tags if not (leaf and t.casefold() == "ending")]
    if shown:
        out.append("# " + " # ".join(escape_ink("_".join(t.split())) for t in shown))
    out += _escape_text(text)
    choices = [lk for lk in links if lk.kind == "choice"]
    for lk in choices:
        label = escape_ink(" ".join((lk.label or lk.target).split()))
        if lk.target in knots:
            out.append(f"{bullet} [{label}] -> {knots[lk.target]}")
        else:
            out.append(f'{bullet} [{label}] -> END // open choice: "{lk.target}" is not written yet')
    for lk in links:
        if lk.kind == "goto":
            lead = "- " if choices else ""
            if lk.target in knots:
                out.append(f"{lead}-> {knots[lk.target]}")
            else:
                out.append(f'{lead}-> END // open choice: "{lk.target}" is not written yet')
        elif lk.kind == "include":
            out.append(f'// shows "{lk.target}"')
    if leaf:
        out.append("-> END")
    return out


def _knot_names(doc: StoryDoc) -> dict[str, str]:
    """Passage name -> knot (or ``knot.stitch``) name: as read where it came from ink, else made up."""
    made: dict[str, str] = {}
    kept: dict[str, str] = {}
    for p in doc.passages:
        data = kept_data(p.extra, FMT)
        if data.get("root"):
            continue
        if isinstance(data.get("knot"), str):  # a knot read from ink keeps its name: diverts use it
            kept[p.name] = data["knot"]
    taken = {v.casefold() for v in kept.values()}
    for p in doc.passages:
        if p.name in kept or (isinstance(p.extra.get(FMT), dict) and p.extra[FMT].get("root")):
            continue
        base = knot_name(p.name)
        name, k = base, 2
        while name.casefold() in taken:
            name = f"{base}_{k}"
            k += 1
        taken.add(name.casefold())
        made[p.name] = name
    return {**made, **kept}


def _retitle(pre: str, title: str, start: str | None) -> str:
    """Preamble text with its ``# title:`` tag and first divert brought up to date."""
    lines = pre.split("\n")
    have_title = False
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*#\s*title\s*:\s*)(.*?)(\s*)$", line)
        if m and not have_title:
            have_title = True
            if m.group(2) != title:
                lines[i] = m.group(1) + title + m.group(3)
    if start is not None:
        for i, line in enumerate(lines):
            m = re.match(rf"^(\s*->\s*)({IDENT}(?:\.{IDENT})*)(.*)$", line)
            if m:
                if m.group(2) != start:
                    lines[i] = m.group(1) + start + m.group(3)
                break
    return "\n".join(lines)


def write_ink(doc: StoryDoc, *, sticky: bool = False, author: str = "") -> str:
    """Serialise a :class:`StoryDoc` as ink source (see the module docstring)."""
    kept_story = kept_data(doc.formats, FMT)
    knots = _knot_names(doc)
    loops = loop_names(doc)
    title = " ".join(doc.title.split())
    root = next(
        (p for p in doc.passages if isinstance(p.extra.get(FMT), dict) and p.extra[FMT].get("root")), None
    )
    start_knot = knots.get(doc.start or "") if doc.start else None
    pre: str | None
    if root is not None:
        pre = _retitle(root.text, title, None) + str(root.extra[FMT].get("gap", "\n"))
    elif "preamble" in kept_story:
        pre = (
            None
            if kept_story["preamble"] is None
            else _retitle(str(kept_story["preamble"]), title, start_knot)
        )
    else:
        lines = [f"# title: {title}"]
        if author:
            lines.append(f"# author: {' '.join(author.split())}")
        if doc.ifid:
            lines.append(f"# ifid: {doc.ifid}")
        first = start_knot or (knots[doc.passages[0].name] if doc.passages else None)
        lines += ["", f"-> {first}" if first else "-> END", ""]
        pre = "\n".join(lines)
    items: list[tuple[float, int, str]] = []
    for tie, p in enumerate(doc.passages):
        data = kept_data(p.extra, FMT)
        if data.get("root"):
            continue
        name = knots[p.name]
        bullet = data.get("sticky")
        hub = bool(bullet) if bullet is not None else (sticky or p.name in loops)
        if data.get("raw"):
            items.append((data.get("order", float("inf")), tie, _raw_knot(p, data, name, knots, hub)))
        else:
            lines = knot_lines(name, p.name, p.tags, p.text, list(p.links), knots, hub)
            if "." in name:  # a stitch keeps its stitch header
                lines[0] = str(data.get("header") or f"= {name.split('.', 1)[1]}")
            elif isinstance(data.get("header"), str) and data.get("knot") == name:
                lines[0] = data["header"]
            items.append(
                (data.get("order", float("inf")), tie, "\n".join(lines) + str(data.get("gap", "\n")))
            )
    for tie, x in enumerate(doc.specials, start=len(doc.passages)):
        if x.format != FMT:
            continue
        data = kept_data(x.extra, FMT)
        header = data.get("header") or f"=== function {x.name} ==="
        body = "" if data.get("bare") and not x.text else "\n" + x.text + str(data.get("gap", "\n"))
        items.append((data.get("order", float("inf")), tie, str(header) + body))
    items.sort(key=lambda it: (it[0], it[1]))
    chunks = ([] if pre is None else [pre]) + [text for _, _, text in items]
    out = "\n".join(chunks)
    if kept_story.get("newline") == "\r\n":
        out = out.replace("\n", "\r\n")
    if kept_story.get("bom"):
        out = "\ufeff" + out
    return out


def _raw_knot(p: Passage, data: dict[str, Any], name: str, knots: dict[str, str], sticky: bool) -> str:
    """A knot kept as ink source: its header, its text, and a line for each choice added since."""
    header = data.get("header")
    if not isinstance(header, str) or data.get("knot") != name:
        header = f"= {name.split('.', 1)[1]}" if "." in name else f"=== {name} ==="
    own = {
        (lk.kind, lk.label.casefold(), lk.target) for lk in ink_links(p.text, name, set(knots.values()), data)
    }
    implicit = {(k, lab.casefold(), t) for k, lab, t in data.get("implicit", [])}
    bullet = "+" if sticky else "*"
    extra_lines = []
    for lk in p.links:
        target = knots.get(lk.target, lk.target)
        key = (lk.kind, " ".join(lk.label.split()).casefold(), target)
        if key in own or key in implicit:
            continue
        label = escape_ink(" ".join((lk.label or lk.target).split()))
        if lk.kind == "goto":
            extra_lines.append(
                f"-> {target}"
                if lk.target in knots
                else f'-> END // open choice: "{lk.target}" is not written yet'
            )
        elif lk.kind == "choice":
            if lk.target in knots:
                extra_lines.append(f"{bullet} [{label}] -> {target}")
            else:
                extra_lines.append(
                    f'{bullet} [{label}] -> END // open choice: "{lk.target}" is not written yet'
                )
    text = p.text + ("\n" + "\n".join(extra_lines) if extra_lines else "")
    if data.get("bare") and not text:
        return header  # a header with no line after it (a knot that flows into its first stitch)
    return header + "\n" + text + str(data.get("gap", "\n"))


# --- import ------------------------------------------------------------------
@dataclass
class _Item:
    kind: str  # knot, stitch, function
    name: str  # knot or knot.stitch
    header: str
    line: int
    body: list[str] = field(default_factory=list)
    order: int = 0


def _code(line: str) -> str:
    """A line without its ``//`` comment (escaped slashes stay)."""
    m = re.search(r"(?<!\\)//", line)
    return line[: m.start()] if m else line


def _labels(text: str) -> set[str]:
    """Names of labelled choices and gathers in a knot (``* (name)``, ``- (name)``): internal targets."""
    out = set()
    for line in text.split("\n"):
        m = _CHOICE_RE.match(line) or _GATHER_RE.match(line)
        if m:
            lm = _LABEL_RE.match(m.group(2))
            if lm:
                out.add(lm.group(1))
    return out


def _choice_label(content: str) -> str:
    """What the reader sees of a choice: the text before ``[`` plus the text inside."""
    s = _code(content)
    m = _LABEL_RE.match(s)
    if m:
        s = s[m.end() :]
    while True:
        s = s.lstrip()
        if s.startswith("{"):
            depth, end = 0, 0
            while end < len(s):
                depth += s[end] == "{"
                depth -= s[end] == "}"
                end += 1
                if depth == 0:
                    break
            s = s[end:]
            continue
        break
    s = re.split(r"(?<!\\)->|(?<!\\)#", s, maxsplit=1)[0]
    m2 = re.match(r"^(.*?)(?<!\\)\[(.*?)(?<!\\)\]", s)
    shown = (m2.group(1) + m2.group(2)) if m2 else s
    return " ".join(unescape_ink(shown).split())


def _resolve(target: str, knot: str, names: set[str]) -> str | None:
    """A divert target as a scene's ink name, or None when it is internal (END, a label, a variable)."""
    if target in ("END", "DONE"):
        return None
    if "." in target:
        return target
    base = knot.split(".", 1)[0]
    if f"{base}.{target}" in names:
        return f"{base}.{target}"
    return target


def ink_links(text: str, knot: str, names: set[str], data: dict[str, Any] | None = None) -> list[Link]:
    """The choices in a knot's ink source, targets as ink names (see the module docstring)."""
    labels = _labels(text)
    out: list[Link] = []
    pending: list[tuple[int, str]] = []  # open choices waiting for their divert: (depth, label)
    for line in text.split("\n"):
        code = _code(line)
        open_note = _OPEN_NOTE.match(line)
        m = _CHOICE_RE.match(code)
        if m:
            depth = m.group(1).count("*") + m.group(1).count("+")
            pending = [pc for pc in pending if pc[0] < depth]
            label = _choice_label(m.group(2))
            d = _DIVERT_RE.search(m.group(2))
            if open_note and d and d.group(1) == "END":
                out.append(Link(label=label, target=open_note.group("want"), kind="choice"))
                continue
            if d is not None and not d.group(2):
                t = _resolve(d.group(1), knot, names)
                if t is not None and d.group(1) not in labels:
                    out.append(Link(label=label, target=t, kind="choice"))
                continue
            if d is not None:  # a tunnel: the choice visits it, then goes on where its next divert says
                t = _resolve(d.group(1), knot, names)
                if t is not None and d.group(1) not in labels:
                    out.append(Link(label=t, target=t, kind="include"))
            pending.append((depth, label))
            continue
        g = _GATHER_RE.match(code)
        if g and g.group(1).strip():
            depth = g.group(1).count("-")
            pending = [pc for pc in pending if pc[0] < depth]
            code = g.group(2)
        for d in _DIVERT_RE.finditer(code):
            if open_note and d.group(1) == "END":
                want = open_note.group("want")
                if pending:
                    out.append(Link(label=pending.pop()[1], target=want, kind="choice"))
                else:
                    out.append(Link(label=want, target=want, kind="goto"))
                continue
            t = _resolve(d.group(1), knot, names)
            if t is None or d.group(1) in labels:
                continue
            if d.group(2):
                out.append(Link(label=t, target=t, kind="include"))
            elif pending:
                out.append(Link(label=pending.pop()[1], target=t, kind="choice"))
            else:
                out.append(Link(label=t, target=t, kind="goto"))
        for th in _THREAD_RE.finditer(code):
            t = _resolve(th.group(1), knot, names)
            if t is not None and th.group(1) not in labels:
                out.append(Link(label=t, target=t, kind="include"))
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for lk in out:
        key = (lk.kind, lk.label.casefold(), lk.target)
        if key not in seen:
            seen.add(key)
            unique.append(lk)
    return unique


def _ends(text: str) -> bool:
    return any(
        d.group(1) in ("END", "DONE") for line in text.split("\n") for d in _DIVERT_RE.finditer(_code(line))
    )


def _simple(item: _Item, text: str, names: set[str]) -> tuple[str, list[str], str, list[Link]] | None:
    """(title, tags, text, links) of a knot in the exporter's own shape, else None."""
    lines = text.split("\n")
    if not lines or not lines[0].startswith("// "):
        return None
    title = lines[0][3:]
    rest = lines[1:]
    tags: list[str] = []
    if rest and rest[0].startswith("# "):
        tags = [unescape_ink(t.strip()) for t in re.split(r"(?<!\\) # ", rest[0][2:])]
        rest = rest[1:]
    body: list[str] = []
    links: list[Link] = []
    leaf = False
    for line in rest:
        m = re.match(r"^[*+] \[(.*)\] -> (\S+)(?: // open choice: \"(.*)\" is not written yet)?$", line)
        g = re.match(r"^(?:- )?-> (\S+)(?: // open choice: \"(.*)\" is not written yet)?$", line)
        inc = re.match(r'^// shows "(.*)"$', line)
        if m:
            target = m.group(3) if m.group(3) is not None else _resolve(m.group(2), item.name, names)
            if target is None:
                return None
            links.append(Link(label=unescape_ink(m.group(1)), target=target, kind="choice"))
        elif g:
            if g.group(1) == "END" and g.group(2) is None:
                leaf = True
                continue
            target = g.group(2) if g.group(2) is not None else _resolve(g.group(1), item.name, names)
            if target is None:
                return None
            links.append(Link(label=target, target=target, kind="goto"))
        elif inc:
            links.append(Link(label=inc.group(1), target=inc.group(1), kind="include"))
        elif links or leaf:
            return None  # text after the choices: not the exporter's shape
        else:
            body.append(unescape_ink(line))
    if leaf and "ending" not in [t.casefold() for t in tags]:
        tags.append("ending")
    return title, tags, "\n".join(body), links


def _split_gap(raw: str) -> tuple[str, str]:
    text = raw.rstrip()
    return text, raw[len(text) :]


def parse_ink(text: str, *, loops: str = "keep") -> tuple[StoryDoc, list[str]]:
    """Parse ink source into a validated :class:`StoryDoc` plus warnings."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise FormatError(
            f"line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL character in the ink file"
        )
    lines = text.split("\n")
    root: list[str] = []
    items: list[_Item] = []
    in_comment = 0  # the line where an open /* comment started
    knot = ""
    for i, line in enumerate(lines, start=1):
        if in_comment:
            if "*/" in line:
                in_comment = 0 if line.rfind("/*") < line.rfind("*/") else in_comment
            (items[-1].body if items else root).append(line)
            continue
        code = _code(line)
        if re.search(r"(?<!\\)/\*", code) and code.rfind("*/") < code.rfind("/*"):
            in_comment = i
        if re.match(r"^\s*INCLUDE\b", code):
            raise FormatError(
                f"line {i}: INCLUDE {code.split(None, 1)[1].strip() if len(code.split()) > 1 else ''}: "
                "this importer reads one ink file; put the included files into it first"
            )
        if re.match(r"^\s*==", code):
            m = _KNOT_RE.match(code)
            if m is None or not _IDENT_RE.match(m.group(2)) or m.group(2) in RESERVED:
                raise FormatError(f"line {i}: {line.strip()!r} is not a knot header ink accepts")
            knot = m.group(2)
            kind = "function" if m.group(1) else "knot"
            items.append(_Item(kind, knot, line, i, order=len(items)))
            check_passage_count(len(items), i)
            continue
        if re.match(r"^\s*=(?!=)", code):
            m = _STITCH_RE.match(code)
            if m is None or not _IDENT_RE.match(m.group(1)):
                raise FormatError(f"line {i}: {line.strip()!r} is not a stitch header ink accepts")
            if not knot or (items and items[-1].kind == "function" and items[-1].name == knot):
                raise FormatError(f"line {i}: the stitch {m.group(1)!r} is not inside a knot")
            items.append(_Item("stitch", f"{knot}.{m.group(1)}", line, i, order=len(items)))
            check_passage_count(len(items), i)
            continue
        (items[-1].body if items else root).append(line)
    if in_comment:
        raise FormatError(f"line {in_comment}: this /* comment is never closed with */")
    seen: dict[str, int] = {}
    for it in items:
        if it.name in seen:
            raise FormatError(f"line {it.line}: {it.name!r} is defined twice (first at line {seen[it.name]})")
        seen[it.name] = it.line
    for it in items:
        _check_braces(it)
    names = {it.name for it in items if it.kind != "function"}
    doc = StoryDoc()
    story: dict[str, Any] = {}
    if crlf:
        story["newline"] = "\r\n"
    if bom:
        story["bom"] = True
    root_text = "\n".join(root)
    for line in root:
        m = re.match(r"^\s*#\s*(title|ifid)\s*:\s*(.*?)\s*$", line)
        if m and m.group(1) == "title" and not doc.title:
            doc.title = m.group(2)
        elif m and m.group(1) == "ifid" and not doc.ifid:
            doc.ifid = m.group(2)
    content = [
        ln
        for ln in root
        if _code(ln).strip()
        and not _code(ln).strip().startswith("#")
        and not _DECLARATION_RE.match(ln)
        and not _code(ln).strip().startswith("~")
        and not re.match(rf"^\s*->\s*{IDENT}(?:\.{IDENT})*\s*$", _code(ln))
    ]
    first_divert = next(
        (
            d.group(1)
            for ln in root
            for d in _DIVERT_RE.finditer(_code(ln))
            if d.group(1) not in ("END", "DONE")
        ),
        None,
    )
    if content:
        body, gap = _split_gap(root_text)
        title = "Beginning"
        while title in names:
            title += " (top)"
        doc.passages.append(
            Passage(
                name=title,
                text=body,
                links=ink_links(body, "", names),
                line=1,
                extra={FMT: {"root": True, "raw": True, "gap": gap}},
            )
        )
        doc.start = title
    else:
        story["preamble"] = root_text if root else None
        if first_divert is not None and first_divert in names:
            doc.start = first_divert
    used: set[str] = {p.name for p in doc.passages}
    first_stitch: dict[str, str] = {}
    for it in items:
        if it.kind == "stitch":
            first_stitch.setdefault(it.name.split(".", 1)[0], it.name)
    for it in items:
        raw_body = "\n".join(it.body)
        body, gap = _split_gap(raw_body)
        data: dict[str, Any] = {"knot": it.name, "header": it.header, "order": it.order}
        if not it.body:
            data["bare"] = True
        if it.kind == "function":
            doc.specials.append(
                SpecialPassage(
                    name=it.name,
                    text=raw_body[: len(body)],
                    format=FMT,
                    extra={FMT: {**data, "gap": gap}},
                    line=it.line,
                )
            )
            continue
        # a knot with stitches and no text of its own flows into its first stitch
        implicit: list[list[str]] = []
        if it.kind == "knot" and not body.strip() and it.name in first_stitch:
            implicit = [["goto", first_stitch[it.name], first_stitch[it.name]]]
        simple = _simple(it, body, names) if body and it.kind == "knot" else None
        bullet = None
        if simple is not None:
            title, tags, stext, links = simple
            same = {n: n for n in names}
            if "\n".join(knot_lines("X", title, tags, stext, links, same, False)[1:]) == body:
                bullet = False
            elif "\n".join(knot_lines("X", title, tags, stext, links, same, True)[1:]) == body:
                bullet = True
            made = knot_name(title)
            if (
                bullet is None
                or title in used
                or title in names - {it.name}
                or not re.fullmatch(re.escape(made) + r"(_\d+)?", it.name)
            ):
                simple = None
        if simple is not None:
            title, tags, stext, links = simple
            used.add(title)
            data.update(gap=gap, title=title, sticky=bullet)
            doc.passages.append(
                Passage(name=title, text=stext, tags=tags, links=links, line=it.line, extra={FMT: data})
            )
            continue
        links = ink_links(body, it.name, names)
        links += [Link(label=lab, target=t, kind=k) for k, lab, t in implicit]
        tags = ["ending"] if _ends(body) else []
        data.update(gap=gap, raw=True)
        if implicit:
            data["implicit"] = implicit
        used.add(it.name)
        doc.passages.append(
            Passage(name=it.name, text=body, tags=tags, links=links, line=it.line, extra={FMT: data})
        )
    # links name ink knots; passages are named by title: map one onto the other
    by_knot = {str(p.extra[FMT].get("knot")): p.name for p in doc.passages if p.extra[FMT].get("knot")}
    for p in doc.passages:
        for lk in p.links:
            lk.target = by_knot.get(lk.target, lk.target)
    if doc.start in by_knot:
        doc.start = by_knot[doc.start]
    if doc.start is None and doc.passages:
        doc.start = doc.passages[0].name
    doc.formats[FMT] = story
    warnings = check_doc(doc, loops=loops)
    return doc, warnings


def _check_braces(it: _Item) -> None:
    """Every ``{`` of a knot's logic closes within the knot (an unclosed one would swallow the rest)."""
    depth = 0
    opened = 0
    in_comment = False
    for k, line in enumerate(it.body, start=it.line + 1):
        code = line
        if in_comment:
            end = code.find("*/")
            if end < 0:
                continue
            code = code[end + 2 :]
            in_comment = False
        code = _code(code)
        i = 0
        while i < len(code):
            ch = code[i]
            if ch == "\\":
                i += 2
                continue
            if code.startswith("/*", i):
                end = code.find("*/", i + 2)
                if end < 0:
                    in_comment = True
                    break
                i = end + 2
                continue
            if ch == "{":
                if depth == 0:
                    opened = k
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth < 0:
                    raise FormatError(
                        f"line {k}: a '}}' closes nothing (an unknown construct in {it.name!r})"
                    )
            i += 1
    if depth > 0:
        raise FormatError(f"line {opened}: this '{{' in {it.name!r} is never closed with '}}'")


# --- the format --------------------------------------------------------------
def export_ink(
    project: Any, out_path: Path, *, sticky: bool = False, author: str = "", **_: Any
) -> list[Path]:
    """Write the project as an ``.ink`` file."""
    out = Path(out_path)
    atomic_write_text(out, write_ink(doc_from_project(project, fmt=FMT), sticky=sticky, author=author))
    return [out]


def import_ink(
    path: Path, project: Any, *, loops: str = "keep", max_bytes: int = DEFAULT_MAX_BYTES, **_: Any
) -> ImportResult:
    """Import an ink file into an empty project (all or nothing when run by ``import_file``)."""
    text = decode_text(read_limited(path, max_bytes), "ink file")
    try:
        doc, warnings = parse_ink(text, loops=loops)
        scenes, more = apply_doc(doc, project, FMT)
    except FormatError as exc:
        raise type(exc)(f"{Path(path).name}: {exc}") from None
    return ImportResult(format="ink", scenes=scenes, warnings=warnings + more)


FORMAT = Format(
    name="ink",
    suffixes=(".ink",),
    export=export_ink,
    import_=import_ink,
    description="ink (inkle): knots and stitches as scenes, choices and diverts; for Unity/inkjs games",
)
