"""Yarn Spinner 2: export and import, one node per scene.

Export writes each node's headers (``title:``, a Yarn identifier made from the scene title;
``workbench_title:`` with the scene's own title where the two differ; ``tags:``;
``position:``), ``---``, the scene text with Yarn's metacharacters escaped, the choices as
``-> label`` options each followed by an indented ``<<jump Node>>`` (an open choice, whose
scene is not written yet, by ``<<stop>>`` and a note), gotos as ``<<jump Node>>``, and ``===``.
A node without options ends the dialogue.

Import reads every node as a scene: options with their ``<<jump>>`` (and Yarn 1
``[[label|Node]]`` links) as choices, other jumps as gotos, ``<<detour>>`` as a reference, a
jump to a node that does not exist as an open choice, ``<<stop>>`` as an ending. Every header
is kept (unknown ones, such as ``colorID:``, are written back). A node in the shape the
exporter writes gives its scene text back; any other node keeps its Yarn source (commands,
conditions, variables, line tags) byte for byte as the scene text. Exporting an imported story
writes every unchanged node as it was read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import FormatError
from ..files import atomic_write_text
from .registry import DEFAULT_MAX_BYTES, Format, ImportResult, read_limited
from .storydoc import (
    Link,
    Passage,
    StoryDoc,
    apply_doc,
    check_doc,
    check_passage_count,
    doc_from_project,
    kept_data,
)
from .twee import decode_text

__all__ = ["FORMAT", "export_yarn", "import_yarn", "parse_yarn", "write_yarn", "node_title", "escape_yarn"]

FMT = "yarn"
TITLE_KEY = "workbench_title"  # the scene title, where the node title (an identifier) cannot hold it
_ESCAPE = set("\\{}<>[]#/")
_HEADER_RE = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*:\s?(.*)$")
_OPTION_RE = re.compile(r"^(\s*)->\s?(.*)$")
_JUMP_RE = re.compile(r"<<\s*jump\s+([A-Za-z_][\w.]*)\s*>>")
_DETOUR_RE = re.compile(r"<<\s*detour\s+([A-Za-z_][\w.]*)\s*>>")
_STOP_RE = re.compile(r"<<\s*stop\s*>>")
_LEGACY_RE = re.compile(r"\[\[(?!\[)(.*?)\]\]")
_OPEN_NOTE = re.compile(r'^(?P<head>.*?)\s*// open choice: "(?P<want>.*)" is not written yet$')
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def node_title(title: str) -> str:
    """A Yarn node title (letters, digits, underscores; never starting with a digit)."""
    name = re.sub(r"\W+", "_", title, flags=re.ASCII).strip("_")
    if not name or name[0].isdigit():
        name = "Scene_" + name
    return name


def escape_yarn(line: str) -> str:
    """Escape Yarn's metacharacters so a line prints as written."""
    out = "".join("\\" + ch if ch in _ESCAPE else ch for ch in line)
    if out.startswith("==="):  # would end the node
        out = '{"="}' + out[1:]
    return out


def unescape_yarn(line: str) -> str:
    if line.startswith('{"="}'):
        line = "=" + line[5:]
    return re.sub(r"\\(.)", r"\1", line)


# --- export ------------------------------------------------------------------
def node_lines(
    node: str,
    title: str,
    tags: list[str],
    position: tuple[float, float] | None,
    text: str,
    links: list[Link],
    nodes: dict[str, str],
) -> list[str]:
    """A scene as a node in the exporter's own shape, from ``title:`` to ``===``."""
    out = [f"title: {node}"]
    if " ".join(title.split()) != node:
        out.append(f"{TITLE_KEY}: {' '.join(title.split())}")
    if tags:
        out.append("tags: " + " ".join(node_title(t) for t in tags))
    if position is not None:
        out.append(f"position: {_num(position[0])},{_num(position[1])}")
    out.append("---")
    body = text.strip("\n")  # blank lines stay: Yarn shows none for them, a screenplay needs them
    out += [escape_yarn(raw.strip()) for raw in body.split("\n")] if body.strip() else []
    for lk in links:
        if lk.kind == "choice":
            label = escape_yarn(" ".join((lk.label or lk.target).split()))
            if lk.target in nodes:
                out += [f"-> {label}", f"    <<jump {nodes[lk.target]}>>"]
            else:
                out += [f"-> {label}", f'    <<stop>> // open choice: "{lk.target}" is not written yet']
    for lk in links:
        if lk.kind == "goto":
            if lk.target in nodes:
                out.append(f"<<jump {nodes[lk.target]}>>")
            else:
                out.append(f'<<stop>> // open choice: "{lk.target}" is not written yet')
        elif lk.kind == "include":
            out.append(f'// shows "{lk.target}"')
    if out[-1] == "---":
        out.append("<<stop>>")  # a node needs a body: an empty scene ends the dialogue
    out.append("===")
    return out


def _node_names(doc: StoryDoc) -> dict[str, str]:
    kept = {
        p.name: str(p.extra[FMT]["node"])
        for p in doc.passages
        if isinstance(p.extra.get(FMT), dict) and isinstance(p.extra[FMT].get("node"), str)
    }
    taken = set(kept.values())
    out: dict[str, str] = {}
    for p in doc.passages:
        if p.name in kept:
            out[p.name] = kept[p.name]
            continue
        base = node_title(p.name)
        name, k = base, 2
        while name in taken:
            name = f"{base}_{k}"
            k += 1
        taken.add(name)
        out[p.name] = name
    return out


def _headers(
    data: dict[str, Any], node: str, title: str, tags: list[str], position: tuple[float, float] | None
) -> list[str]:
    """The node's header lines: as read where they still say the same, else brought up to date
    (unknown headers kept in their places)."""
    read = data.get("headers")
    if not isinstance(read, list):
        return node_lines(node, title, tags, position, "", [], {})[:-2]
    parsed = _parse_headers([str(x) for x in read])
    want_tags = " ".join(node_title(t) for t in tags)
    want_pos = f"{_num(position[0])},{_num(position[1])}" if position is not None else None
    have_pos = parsed.get("position")
    try:
        same_pos = (
            have_pos is not None
            and position is not None
            and tuple(float(v) for v in str(have_pos).split(",")) == (float(position[0]), float(position[1]))
        )
    except ValueError:
        same_pos = False
    out: list[str] = []
    seen: set[str] = set()
    for line in read:
        m = _HEADER_RE.match(str(line))
        key = m.group(1) if m else ""
        seen.add(key)
        if key == "title":
            out.append(line if parsed.get("title") == node else f"title: {node}")
        elif key == TITLE_KEY:
            if title != node:
                out.append(line if parsed.get(TITLE_KEY) == title else f"{TITLE_KEY}: {title}")
        elif key == "tags":
            if tags:
                out.append(
                    line if (parsed.get("tags") or "").split() == want_tags.split() else f"tags: {want_tags}"
                )
        elif key == "position":
            if position is not None:
                out.append(line if same_pos else f"position: {want_pos}")
        else:
            out.append(line)
    if title != node and TITLE_KEY not in seen:
        out.insert(1, f"{TITLE_KEY}: {title}")
    if tags and "tags" not in seen:
        out.append(f"tags: {want_tags}")
    if position is not None and "position" not in seen:
        out.append(f"position: {want_pos}")
    return out


def write_yarn(doc: StoryDoc) -> str:
    """Serialise a :class:`StoryDoc` as a Yarn Spinner 2 script (see the module docstring)."""
    story = kept_data(doc.formats, FMT)
    nodes = _node_names(doc)
    items: list[tuple[float, int, list[str]]] = []
    for tie, p in enumerate(doc.passages):
        data = kept_data(p.extra, FMT)
        node = nodes[p.name]
        title = " ".join(p.name.split())
        gap = [str(x) for x in data.get("gap", [])]
        tags = [t for t in p.tags if not (data.get("ending_from_stop") and t == "ending")]
        if data.get("raw"):
            lines = _headers(data, node, title, tags, p.position) + ["---", *_raw_body(p, data, nodes), "==="]
        else:
            lines = node_lines(node, title, p.tags, p.position, p.text, p.links, nodes)
            if isinstance(data.get("headers"), list):
                lines = _headers(data, node, title, p.tags, p.position) + lines[lines.index("---") :]
        items.append((data.get("order", float("inf")), tie, lines + gap))
    items.sort(key=lambda it: (it[0], it[1]))
    out: list[str] = [] if story.get("preamble") is None else str(story["preamble"]).split("\n")
    for _, _, lines in items:
        out += lines
    if not out or out[-1] != "" and not story.get("no_final_newline"):
        out.append("")
    text = "\n".join(out)
    if story.get("newline") == "\r\n":
        text = text.replace("\n", "\r\n")
    if story.get("bom"):
        text = "\ufeff" + text
    return text


def _raw_body(p: Passage, data: dict[str, Any], nodes: dict[str, str]) -> list[str]:
    """A node kept as Yarn source: its text, and an option for each choice added since."""
    own = {(lk.kind, " ".join(lk.label.split()).casefold(), lk.target) for lk in yarn_links(p.text)}
    extra: list[str] = []
    for lk in p.links:
        target = nodes.get(lk.target, lk.target)
        if (lk.kind, " ".join(lk.label.split()).casefold(), target) in own:
            continue
        if lk.kind == "choice":
            label = escape_yarn(" ".join((lk.label or lk.target).split()))
            if lk.target in nodes:
                extra += [f"-> {label}", f"    <<jump {target}>>"]
            else:
                extra += [f"-> {label}", f'    <<stop>> // open choice: "{lk.target}" is not written yet']
        elif lk.kind == "goto":
            extra.append(
                f"<<jump {target}>>"
                if lk.target in nodes
                else f'<<stop>> // open choice: "{lk.target}" is not written yet'
            )
    return (p.text.split("\n") if p.text or not extra else []) + extra


# --- import ------------------------------------------------------------------
def _parse_headers(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        m = _HEADER_RE.match(line)
        if m:
            out.setdefault(m.group(1), m.group(2).strip())
    return out


def _option_label(text: str) -> str:
    text = _OPEN_NOTE.sub(lambda m: m.group("head"), text)
    text = re.sub(r"<<\s*if\b.*?>>", "", text)
    text = re.sub(r"(?<!\\)//.*$", "", text)
    text = re.sub(r"(?<!\\)#\S+", "", text)
    return " ".join(unescape_yarn(text.strip()).split())


def yarn_links(body: str) -> list[Link]:
    """The choices in a node's Yarn source (targets are node titles)."""
    lines = body.split("\n")
    out: list[Link] = []
    claimed: set[int] = set()
    for i, line in enumerate(lines):
        m = _OPTION_RE.match(line)
        if not m:
            continue
        indent = len(m.group(1).expandtabs(4))
        label = _option_label(m.group(2))
        for j in range(i + 1, len(lines)):
            nxt = lines[j]
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            if _OPTION_RE.match(nxt):
                break  # it leads to more options in this node, not to another node
            jm = _JUMP_RE.search(re.sub(r"(?<!\\)//.*$", "", nxt))
            if jm:
                out.append(Link(label=label, target=jm.group(1), kind="choice"))
                claimed.add(j)
                break
            note = _OPEN_NOTE.match(nxt)
            if note and _STOP_RE.search(note.group("head")):
                out.append(Link(label=label, target=note.group("want"), kind="choice"))
                claimed.add(j)
                break
    for i, line in enumerate(lines):
        if i in claimed:
            continue
        note = _OPEN_NOTE.match(line)
        if note and _STOP_RE.search(line) and not _OPTION_RE.match(line):
            out.append(Link(label=note.group("want"), target=note.group("want"), kind="goto"))
            continue
        code = re.sub(r"(?<!\\)//.*$", "", line)
        for jm in _JUMP_RE.finditer(code):
            out.append(Link(label=jm.group(1), target=jm.group(1), kind="goto"))
        for dm in _DETOUR_RE.finditer(code):
            out.append(Link(label=dm.group(1), target=dm.group(1), kind="include"))
        for lm in _LEGACY_RE.finditer(code):
            inner = lm.group(1)
            label, _, target = inner.rpartition("|")
            target = target.strip()
            out.append(Link(label=label.strip() or target, target=target, kind="choice"))
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for lk in out:
        key = (lk.kind, lk.label.casefold(), lk.target)
        if key not in seen:
            seen.add(key)
            unique.append(lk)
    return unique


def _simple(
    headers: dict[str, str], body: list[str], names: set[str]
) -> tuple[str, list[str], str, list[Link]] | None:
    """(title, tags, text, links) of a node in the exporter's own shape, else None."""
    node = headers.get("title", "")
    title = headers.get(TITLE_KEY, node)
    tags = (headers.get("tags") or "").split()
    text: list[str] = []
    links: list[Link] = []
    if body == ["<<stop>>"]:
        return title, tags, "", []
    i = 0
    while i < len(body):
        line = body[i]
        opt = re.match(r"^-> (.*)$", line)
        if opt:
            nxt = body[i + 1] if i + 1 < len(body) else ""
            note = _OPEN_NOTE.match(nxt)
            jm = re.match(r"^    <<jump ([A-Za-z_][\w.]*)>>$", nxt)
            if note and note.group("head") == "    <<stop>>":
                links.append(
                    Link(label=unescape_yarn(opt.group(1)), target=note.group("want"), kind="choice")
                )
            elif jm:
                links.append(Link(label=unescape_yarn(opt.group(1)), target=jm.group(1), kind="choice"))
            else:
                return None
            i += 2
            continue
        g = re.match(r"^<<jump ([A-Za-z_][\w.]*)>>$", line)
        gn = _OPEN_NOTE.match(line)
        inc = re.match(r'^// shows "(.*)"$', line)
        if g:
            links.append(Link(label=g.group(1), target=g.group(1), kind="goto"))
        elif gn and gn.group("head") == "<<stop>>":
            links.append(Link(label=gn.group("want"), target=gn.group("want"), kind="goto"))
        elif inc:
            links.append(Link(label=inc.group(1), target=inc.group(1), kind="include"))
        elif links:
            return None
        else:
            text.append(unescape_yarn(line))
        i += 1
    return title, tags, "\n".join(text), links


def parse_yarn(text: str, *, loops: str = "keep") -> tuple[StoryDoc, list[str]]:
    """Parse a Yarn Spinner 2 script into a validated :class:`StoryDoc` plus warnings."""
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise FormatError(
            f"line {text[: text.index(chr(0))].count(chr(10)) + 1}: NUL character in the Yarn file"
        )
    lines = text.split("\n")
    story: dict[str, Any] = {}
    if crlf:
        story["newline"] = "\r\n"
    if bom:
        story["bom"] = True
    if not text.endswith("\n"):
        story["no_final_newline"] = True
    # nodes: headers from the first "key:" line to "---", body to "==="
    nodes: list[dict[str, Any]] = []
    pending: list[str] = []  # lines between nodes (kept as the previous node's gap, or the preamble)
    i = 0
    n = len(lines)
    preamble: list[str] | None = None
    while i < n:
        line = lines[i]
        if not _HEADER_RE.match(line) or line.strip().startswith("//"):
            if line.strip() and not line.strip().startswith(("//", "#")):
                raise FormatError(
                    f"line {i + 1}: expected a node header such as 'title: Name' here, not {line.strip()[:40]!r}"
                )
            pending.append(line)
            i += 1
            continue
        if nodes:
            nodes[-1]["gap"] = pending
        else:
            preamble = pending
        pending = []
        start = i
        headers: list[str] = []
        while i < n and lines[i].strip() != "---":
            if lines[i].strip() == "===":
                raise FormatError(
                    f"line {start + 1}: this node has no '---' line between its headers and its body"
                )
            if lines[i].strip() and not _HEADER_RE.match(lines[i]):
                raise FormatError(
                    f"line {i + 1}: expected a header 'key: value' or '---', not {lines[i].strip()[:40]!r}"
                )
            headers.append(lines[i])
            i += 1
        if i >= n:
            raise FormatError(
                f"line {start + 1}: this node has no '---' line between its headers and its body"
            )
        i += 1  # ---
        body_start = i
        while i < n and lines[i].strip() != "===":
            i += 1
        if i >= n:
            raise FormatError(f"line {start + 1}: this node is not closed with '==='")
        body = lines[body_start:i]
        i += 1  # ===
        parsed = _parse_headers(headers)
        if not parsed.get("title"):
            raise FormatError(f"line {start + 1}: a node has no title (add a 'title: Name' header)")
        if not _IDENT_RE.match(parsed["title"]):
            raise FormatError(f"line {start + 1}: {parsed['title']!r} is not a node title Yarn accepts")
        nodes.append({"line": start + 1, "headers": headers, "parsed": parsed, "body": body, "gap": []})
        check_passage_count(len(nodes), start + 1)
    if nodes:
        nodes[-1]["gap"] = pending
    elif any(x.strip() for x in pending):
        raise FormatError("no Yarn nodes found (a node starts with 'title: Name')")
    story["preamble"] = "\n".join(preamble) if preamble else None
    if not nodes:
        raise FormatError("no Yarn nodes found (a node starts with 'title: Name')")
    seen: dict[str, int] = {}
    for nd in nodes:
        t = nd["parsed"]["title"]
        if t in seen:
            raise FormatError(f"line {nd['line']}: a node titled {t!r} already exists (line {seen[t]})")
        seen[t] = nd["line"]
    names = set(seen)
    doc = StoryDoc()
    used: set[str] = set()
    for order, nd in enumerate(nodes):
        parsed = nd["parsed"]
        node = parsed["title"]
        position = None
        if parsed.get("position"):
            try:
                x, y = (float(v) for v in parsed["position"].split(","))
                position = (x, y)
            except ValueError:
                raise FormatError(
                    f"line {nd['line']}: position must be 'x,y' numbers, got {parsed['position']!r}"
                ) from None
        data: dict[str, Any] = {"node": node, "headers": nd["headers"], "order": order}
        if nd["gap"]:
            data["gap"] = nd["gap"]
        simple = _simple(parsed, nd["body"], names)
        if simple is not None:
            title, tags, stext, links = simple
            same = {k: k for k in names}
            mine = node_lines(node, title, tags, position, stext, links, same)
            read = [*nd["headers"], "---", *nd["body"], "==="]
            if mine == read and (title == node or title not in names) and title not in used:
                used.add(title)
                doc.passages.append(
                    Passage(
                        name=title,
                        text=stext,
                        tags=tags,
                        position=position,
                        links=links,
                        line=nd["line"],
                        extra={FMT: data},
                    )
                )
                continue
        source = "\n".join(nd["body"])
        tags = (parsed.get("tags") or "").split()
        if (
            _STOP_RE.search(re.sub(r'// open choice: ".*" is not written yet', "", source))
            and "ending" not in tags
        ):
            tags.append("ending")
            data["ending_from_stop"] = True
        data["raw"] = True
        used.add(node)
        doc.passages.append(
            Passage(
                name=node,
                text=source,
                tags=tags,
                position=position,
                links=yarn_links(source),
                line=nd["line"],
                extra={FMT: data},
            )
        )
    by_node = {str(p.extra[FMT]["node"]): p.name for p in doc.passages}
    for p in doc.passages:
        for lk in p.links:
            lk.target = by_node.get(lk.target, lk.target)
    first = "Start" if "Start" in by_node else str(nodes[0]["parsed"]["title"])
    doc.start = by_node[first]
    doc.formats[FMT] = story
    doc.entries = []
    warnings = check_doc(doc, loops=loops)
    return doc, warnings


# --- the format --------------------------------------------------------------
def export_yarn(project: Any, out_path: Path, **_: Any) -> list[Path]:
    """Write the project as a ``.yarn`` file."""
    out = Path(out_path)
    atomic_write_text(out, write_yarn(doc_from_project(project, fmt=FMT)))
    return [out]


def import_yarn(
    path: Path, project: Any, *, loops: str = "keep", max_bytes: int = DEFAULT_MAX_BYTES, **_: Any
) -> ImportResult:
    """Import a Yarn Spinner 2 script into an empty project (all or nothing when run by ``import_file``)."""
    text = decode_text(read_limited(path, max_bytes), "Yarn file")
    try:
        doc, warnings = parse_yarn(text, loops=loops)
        scenes, more = apply_doc(doc, project, FMT)
    except FormatError as exc:
        raise type(exc)(f"{Path(path).name}: {exc}") from None
    return ImportResult(format="yarn", scenes=scenes, warnings=warnings + more)


FORMAT = Format(
    name="yarn",
    suffixes=(".yarn",),
    export=export_yarn,
    import_=import_yarn,
    description="Yarn Spinner 2: a node per scene, options with <<jump>>; for Unity/Godot games",
)
