"""A plain-data view of a story graph, shared by the story formats.

Exporters read a project into a :class:`StoryDoc` (passages with unique names, their text,
tags, position and outgoing links, plus what the formats kept); importers parse a file into
one, validate it completely, and only then write it into a project with :func:`apply_doc`,
which builds the whole graph in memory and writes it with one
:meth:`~workbench.story.project.Project.add_story` (one transaction, one undo step, no undo
row per passage). Keeping the formats on plain data makes them testable without a project
and keeps every import all-or-nothing.

Nothing a file holds is dropped: passages no link reaches become unreachable scenes, links to
passages that do not exist become open choices, loops stay loops, and what a format says that
the workbench does not model is kept under ``Passage.extra[format]`` (per scene) and
``StoryDoc.formats[format]`` (per story) so the same format writes it back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import FormatError, InvalidInput, TooLarge, WorkbenchError
from ..story.graph import ChoiceInfo, GraphSnapshot, SceneInfo, on_loops
from ..story.project import (
    FORMAT_META_PREFIX,
    MAX_STORY_SCENES,
    NewChoice,
    NewScene,
    NewSpecial,
    clean_label,
    clean_title,
)

__all__ = [
    "Link",
    "Passage",
    "SpecialPassage",
    "StoryDoc",
    "apply_doc",
    "check_doc",
    "check_passage_count",
    "doc_from_project",
    "drop_loops",
    "find_loop",
    "kept_data",
    "loop_names",
    "passage_names",
    "unique_names",
]


@dataclass
class Link:
    """A choice: the label a reader sees and the passage it leads to (by name). A target no
    passage has is an open choice (the scene is not written yet)."""

    label: str
    target: str
    kind: str = "choice"  # choice, goto (the story moves on by itself), include (a reference)
    line: int = 0


@dataclass
class Passage:
    """One scene as a format sees it."""

    name: str
    text: str = ""
    tags: list[str] = field(default_factory=list)
    position: tuple[float, float] | None = None
    links: list[Link] = field(default_factory=list)
    line: int = 0  # where it starts in the source file (imports)
    scene_id: str | None = None  # the scene it came from (exports)
    extra: dict[str, Any] = field(default_factory=dict)  # format data kept verbatim, by format


@dataclass
class SpecialPassage:
    """A passage that is not a scene (a script, a stylesheet, StoryInit, an ink function...)."""

    name: str
    text: str = ""
    tags: list[str] = field(default_factory=list)
    format: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass
class StoryDoc:
    """A story: metadata plus passages in creation order; the start passage first on export."""

    title: str = ""
    ifid: str | None = None
    start: str | None = None
    passages: list[Passage] = field(default_factory=list)
    logline: str = ""
    genre: str = ""
    style: str = ""
    branches: dict[str, list[str]] = field(default_factory=dict)
    specials: list[SpecialPassage] = field(default_factory=list)
    formats: dict[str, Any] = field(default_factory=dict)  # story-level data each format kept
    entries: list[str] = field(default_factory=list)  # passages a reader can enter besides the start

    def passage(self, name: str) -> Passage:
        for p in self.passages:
            if p.name == name:
                return p
        raise KeyError(name)

    def names(self) -> set[str]:
        return {p.name for p in self.passages}


def _attr(obj: Any, name: str, default: Any = "") -> Any:
    try:
        value = getattr(obj, name)
    except Exception:
        return default
    return default if value is None else value


def unique_names(titles: list[str], clean=lambda s: s) -> list[str]:  # noqa: ANN001 - small helper
    """Names made from ``titles`` by ``clean``, made unique with `` (2)``, `` (3)`` suffixes."""
    out: list[str] = []
    seen: set[str] = set()
    for title in titles:
        base = clean(title) or "Untitled"
        name = base
        k = 2
        while name in seen:
            name = f"{base} ({k})"
            k += 1
        seen.add(name)
        out.append(name)
    return out


def kept_data(data: Any, fmt: str) -> dict[str, Any]:
    """What format ``fmt`` kept in ``data`` (a passage's ``extra`` or a story's ``formats``), or ``{}``."""
    value = data.get(fmt) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def passage_names(
    scenes: list[Any], fmt: str | None, clean=lambda s: s, *, casefold: bool = False
) -> list[str]:  # noqa: ANN001
    """A unique name per scene for format ``fmt``: the name the file had where the scene came from
    that format and keeps the title it was given then, else ``clean(title)`` made unique."""
    fold = (lambda s: s.casefold()) if casefold else (lambda s: s)
    kept: dict[int, str] = {}
    for i, s in enumerate(scenes):
        data = (s.extra or {}).get(fmt) if fmt else None
        if isinstance(data, dict) and isinstance(data.get("name"), str) and data.get("title") == s.title:
            kept[i] = data["name"]
    seen = {fold(n) for n in kept.values()}
    out = []
    for i, s in enumerate(scenes):
        if i in kept:
            out.append(kept[i])
            continue
        base = clean(s.title) or "Untitled"
        name, k = base, 2
        while fold(name) in seen:
            name = f"{base} ({k})"
            k += 1
        seen.add(fold(name))
        out.append(name)
    return out


def doc_from_project(project: Any, clean_name=lambda s: s, fmt: str | None = None) -> StoryDoc:  # noqa: ANN001
    """The project's story graph as a :class:`StoryDoc`; ``clean_name`` makes titles format-safe.

    ``fmt`` names the format being written: scenes imported from it keep their original names,
    and its kept data (``extra[fmt]``, the story's ``formats[fmt]``) comes along.
    """
    snap = project.snapshot()
    scenes = list(snap.scenes)
    start = snap.start
    if start is not None and scenes and scenes[0].id != start:
        scenes = [s for s in scenes if s.id == start] + [s for s in scenes if s.id != start]
    names = passage_names(scenes, fmt, clean_name)
    by_id = {s.id: n for s, n in zip(scenes, names)}
    passages = []
    for scene, name in zip(scenes, names):
        links = []
        for c in snap.out.get(scene.id, []):
            target = by_id[c.target] if c.target is not None else (c.wanted or c.label)
            links.append(Link(label=c.label or "", target=target, kind=c.kind))
        passages.append(
            Passage(
                name=name,
                text=scene.text,
                tags=list(scene.tags),
                position=(float(scene.position[0]), float(scene.position[1])) if scene.position else None,
                links=links,
                scene_id=scene.id,
                extra=dict(scene.extra),
            )
        )
    branches: dict[str, list[str]] = {}
    for bname in project.branches:
        branches[str(bname)] = [by_id[s] for s in project.branches[bname].scene_ids if s in by_id]
    specials = [
        SpecialPassage(name=x.name, text=x.text, tags=list(x.tags), format=x.format, extra=x.extra)
        for x in project.specials
    ]
    formats = project.format_data()
    return StoryDoc(
        title=_attr(project, "title", ""),
        ifid=_attr(project, "ifid", None),
        start=names[0] if names and start is not None else None,
        passages=passages,
        logline=_attr(project, "logline", ""),
        genre=_attr(project, "genre", ""),
        style=_attr(project, "style", ""),
        branches=branches,
        specials=specials,
        formats=formats,
    )


def find_loop(doc: StoryDoc) -> tuple[Passage, Link] | None:
    """The first link that closes a loop (walking from the first passage), or ``None``."""
    names = doc.names()
    graph = {p.name: p for p in doc.passages}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    order = [doc.start] if doc.start in names else []
    for root in order + [p.name for p in doc.passages]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, i = stack[-1]
            links = [lk for lk in graph[node].links if lk.target in names]
            if i < len(links):
                stack[-1] = (node, i + 1)
                nxt = links[i].target
                if state.get(nxt) == 1:
                    return graph[node], links[i]
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return None


def loop_names(doc: StoryDoc) -> set[str]:
    """Names of the passages a reader can come back to (on a loop), as the story graph sees them."""
    ids = {p.name: i for i, p in enumerate(doc.passages)}
    snap = GraphSnapshot(
        [SceneInfo(p.name, p.name) for p in doc.passages],
        [
            ChoiceInfo(f"{p.name}#{k}", p.name, lk.target, lk.label, None, lk.kind)
            for p in doc.passages
            for k, lk in enumerate(p.links)
            if lk.target in ids
        ],
        doc.start,
    )
    return on_loops(snap)


def drop_loops(doc: StoryDoc) -> list[str]:
    """Remove the choices that close loops (``loops="drop"``); returns a warning for each one.

    Only the choices go: the passage text (where an inline link may remain) is kept."""
    warnings = []
    while (found := find_loop(doc)) is not None:
        passage, link = found
        passage.links = [lk for lk in passage.links if lk is not link]
        warnings.append(
            f"line {link.line or passage.line}: left out the choice {link.label!r} from {passage.name!r} "
            f"back to {link.target!r} (loops='drop')"
        )
    return warnings


def check_passage_count(count: int, line: int) -> None:
    """Refuse a file with more passages than a project takes at once, naming the line."""
    if count > MAX_STORY_SCENES:
        raise TooLarge(
            f"line {line}: more than {MAX_STORY_SCENES:,} passages; Story Workbench imports at most "
            f"{MAX_STORY_SCENES:,} at once (split the story into parts)"
        )


def check_doc(doc: StoryDoc, *, source: str = "", loops: str = "keep") -> list[str]:
    """Validate a parsed document before anything is written (names, start, loops); returns warnings.

    ``loops``: ``"keep"`` (the default: loops are stories too), ``"drop"`` (leave out the choices
    that close loops, with a warning each) or ``"error"`` (refuse a story that loops).
    """
    where = f"{source}: " if source else ""
    if not doc.passages:
        raise FormatError(f"{where}no story passages found")
    seen: dict[str, int] = {}
    for p in doc.passages:
        if p.name in seen:
            raise FormatError(
                f"{where}line {p.line}: a passage named {p.name!r} already exists (line {seen[p.name]})"
            )
        seen[p.name] = p.line
    for x in doc.specials:
        if x.name in seen and x.format == "twine":
            raise FormatError(
                f"{where}line {x.line}: a passage named {x.name!r} already exists (line {seen[x.name]})"
            )
    if doc.start is not None and doc.start not in seen:
        raise FormatError(f"{where}the start passage {doc.start!r} does not exist")
    warnings: list[str] = []
    if loops == "drop":
        warnings += drop_loops(doc)
    elif loops == "error":
        loop = find_loop(doc)
        if loop is not None:
            p, lk = loop
            raise FormatError(
                f"{where}line {lk.line or p.line}: the choice {lk.label!r} in {p.name!r} leads back to "
                f"{lk.target!r}, which makes the story loop (loops='error')"
            )
    elif loops != "keep":
        raise FormatError(f"loops must be 'keep', 'drop' or 'error', not {loops!r}")
    return warnings


MAX_NOTES = 20  # warnings of one kind listed one by one; the rest are counted

_SLUG_RE = re.compile(r"[^0-9A-Za-z]+")


def slug(text: str) -> str:
    """``"The Long Night!"`` -> ``"The_Long_Night"``."""
    return _SLUG_RE.sub("_", text).strip("_")


def apply_doc(doc: StoryDoc, project: Any, fmt: str = "") -> tuple[list[Any], list[str]]:
    """Write a validated document into an empty ``project``; returns (scenes created, warnings).

    Every passage becomes a scene (unreachable ones included), every link a choice (a link to a
    passage that does not exist an open choice), in file order. Passage names that cannot be
    titles as they are (spaces, case-insensitive twins) get a usable title and keep their name
    under ``extra[fmt]`` for export. One :meth:`~workbench.story.project.Project.add_story`: call
    inside ``project.transaction`` (``import_file`` does) so a failure leaves nothing behind.
    """
    if list(project.scenes):
        raise InvalidInput("the project already has scenes; import a story into a new project")
    warnings: list[str] = []
    notes: dict[str, list[str]] = {"open": [], "self": [], "skip": []}
    index: dict[str, int] = {}
    scenes: list[NewScene] = []
    taken: set[str] = set()
    for i, p in enumerate(doc.passages):
        try:
            base = clean_title(p.name)
        except InvalidInput as exc:
            raise FormatError(f"line {p.line}: passage {p.name!r}: {exc}") from None
        title, k = base, 2
        while title.casefold() in taken:
            title = f"{base} ({k})"
            k += 1
        taken.add(title.casefold())
        extra = {key: (dict(v) if isinstance(v, dict) else v) for key, v in p.extra.items()}
        if fmt and title != p.name:
            data = dict(extra.get(fmt) or {})
            data.update(name=p.name, title=title)
            extra[fmt] = data
        index[p.name] = i
        scenes.append(NewScene(title, p.text, tuple(p.tags), p.position, extra=extra, line=p.line))
    choices: list[NewChoice] = []
    for i, p in enumerate(doc.passages):
        seen: set[tuple[str, str, str]] = set()
        for lk in p.links:
            line = lk.line or p.line
            try:
                label = clean_label(lk.label or lk.target)
            except InvalidInput as exc:
                notes["skip"].append(
                    f"line {line}: the link to {lk.target!r} in {p.name!r} is not a choice ({exc})"
                )
                continue
            key = (lk.kind, label.casefold(), lk.target)
            if key in seen:
                continue
            seen.add(key)
            if lk.target in index:
                if lk.target == p.name and lk.kind != "include":
                    notes["self"].append(
                        f"line {line}: {p.name!r} links to itself ({label!r}): a loop the reader can take again and again"
                    )
                choices.append(NewChoice(i, label, target=index[lk.target], kind=lk.kind, line=line))
                continue
            try:
                wanted = clean_title(lk.target)
            except InvalidInput as exc:
                notes["skip"].append(
                    f"line {line}: the link {label!r} in {p.name!r} names no passage ({exc})"
                )
                continue
            notes["open"].append(
                f"line {line}: {p.name!r} links to {lk.target!r}, which is not written yet; "
                "kept as an open choice"
            )
            choices.append(NewChoice(i, label, wanted=wanted, kind=lk.kind, line=line))
    for items in notes.values():
        warnings += items[:MAX_NOTES]
        if len(items) > MAX_NOTES:
            warnings.append(f"... and {len(items) - MAX_NOTES:,} more like the one above")
    specials = [
        NewSpecial(x.name, x.text, tuple(x.tags), x.format or fmt, extra=dict(x.extra), line=x.line)
        for x in doc.specials
    ]
    start = index.get(doc.start or "", 0)
    branches: dict[str, list[int]] = {}
    for bname, names in doc.branches.items():
        missing = [n for n in names if n not in index]
        if missing:
            raise FormatError(f"branch {bname!r} names {missing[0]!r}, which is not a passage")
        branches[bname] = [index[n] for n in names]
    meta: dict[str, str] = {}
    for attr in ("title", "logline", "genre", "style"):
        value = getattr(doc, attr)
        if value:
            meta[attr] = value
    for fmt_name, data in doc.formats.items():
        meta[FORMAT_META_PREFIX + fmt_name] = json.dumps(data, ensure_ascii=False, sort_keys=True)
    entries = [index[n] for n in doc.entries if n in index]
    try:
        made = project.add_story(
            scenes,
            choices,
            specials,
            start=start,
            branches=branches,
            meta=meta,
            entries=entries,
            source="import",
            label=f"import {fmt or 'story'}",
        )
    except FormatError:
        raise
    except WorkbenchError as exc:
        raise FormatError(str(exc)) from None
    if doc.ifid:
        try:
            project.ifid = doc.ifid
        except WorkbenchError as exc:
            raise FormatError(f"ifid: {exc}") from None
    succ: dict[int, list[int]] = {}
    for c in choices:
        if c.target is not None:
            succ.setdefault(c.source, []).append(c.target)
    seen_ids = {start, *entries}
    stack = list(seen_ids)
    while stack:
        for t in succ.get(stack.pop(), ()):
            if t not in seen_ids:
                seen_ids.add(t)
                stack.append(t)
    unreachable = [p.name for i, p in enumerate(doc.passages) if i not in seen_ids]
    if unreachable:
        more = f" and {len(unreachable) - 5:,} more" if len(unreachable) > 5 else ""
        warnings.append(
            f"{len(unreachable):,} passage(s) no link from the start reaches, kept as unreachable scenes: "
            + ", ".join(repr(n) for n in unreachable[:5])
            + more
        )
    return made, warnings
