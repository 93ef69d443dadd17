"""A plain-data view of a story graph, shared by the story formats.

Exporters read a project into a :class:`StoryDoc` (passages with unique names,
their text, tags, position and outgoing links); importers parse a file into one,
validate it completely, and only then write it into a project with
:func:`apply_doc`. Keeping the formats on plain data makes them testable
without a project and keeps every import all-or-nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import FormatError, InvalidInput, WorkbenchError

__all__ = [
    "Link",
    "Passage",
    "StoryDoc",
    "apply_doc",
    "doc_from_project",
    "find_loop",
    "unique_names",
]


@dataclass
class Link:
    """A choice: the label a reader sees and the passage it leads to."""

    label: str
    target: str


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


@dataclass
class StoryDoc:
    """A story: metadata plus passages in creation order; the start passage first."""

    title: str = ""
    ifid: str | None = None
    start: str | None = None
    passages: list[Passage] = field(default_factory=list)
    logline: str = ""
    genre: str = ""
    style: str = ""
    branches: dict[str, list[str]] = field(default_factory=dict)

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


def doc_from_project(project: Any, clean_name=lambda s: s) -> StoryDoc:  # noqa: ANN001
    """The project's story graph as a :class:`StoryDoc`; ``clean_name`` makes titles format-safe."""
    scenes = list(project.scenes)
    start = _attr(project, "start", None)
    if start is not None and scenes and scenes[0].id != start.id:
        scenes = [start] + [s for s in scenes if s.id != start.id]
    names = unique_names([s.title for s in scenes], clean_name)
    by_id = {s.id: n for s, n in zip(scenes, names)}
    passages = []
    for scene, name in zip(scenes, names):
        links = []
        for choice, child in scene.children:
            links.append(Link(label=choice.label or "", target=by_id[child.id]))
        pos = _attr(scene, "position", None)
        passages.append(
            Passage(
                name=name,
                text=_attr(scene, "text", ""),
                tags=list(_attr(scene, "tags", [])),
                position=(float(pos[0]), float(pos[1])) if pos else None,
                links=links,
                scene_id=scene.id,
            )
        )
    branches: dict[str, list[str]] = {}
    try:
        items = list(project.branches.items())
    except Exception:
        items = []
    for bname, branch in items:
        branches[str(bname)] = [by_id[s.id] for s in branch.scenes if s.id in by_id]
    return StoryDoc(
        title=_attr(project, "title", ""),
        ifid=_attr(project, "ifid", None),
        start=names[0] if names else None,
        passages=passages,
        logline=_attr(project, "logline", ""),
        genre=_attr(project, "genre", ""),
        style=_attr(project, "style", ""),
        branches=branches,
    )


def find_loop(doc: StoryDoc) -> tuple[Passage, Link] | None:
    """The first link that closes a loop (the story graph must be acyclic), or ``None``."""
    names = doc.names()
    graph = {p.name: p for p in doc.passages}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in [p.name for p in doc.passages]:
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


def drop_loops(doc: StoryDoc) -> list[str]:
    """Remove links that close loops; returns a warning for each one removed."""
    warnings = []
    while (found := find_loop(doc)) is not None:
        passage, link = found
        passage.links.remove(link)
        warnings.append(
            f"line {passage.line}: dropped the choice {link.label!r} from {passage.name!r} "
            f"back to {link.target!r} (stories here cannot loop)"
        )
    return warnings


def check_doc(doc: StoryDoc, *, source: str = "") -> None:
    """Validate a parsed document before anything is written (names, links, loops)."""
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
    if doc.start is not None and doc.start not in seen:
        raise FormatError(f"{where}the start passage {doc.start!r} does not exist")
    loop = find_loop(doc)
    if loop is not None:
        p, lk = loop
        raise FormatError(
            f"{where}line {p.line}: the choice {lk.label!r} in {p.name!r} leads back to {lk.target!r}, "
            "which makes the story loop; Story Workbench stories cannot loop (import with loops='drop' "
            "to leave such choices out)"
        )


_SLUG_RE = re.compile(r"[^0-9A-Za-z]+")


def slug(text: str) -> str:
    """``"The Long Night!"`` -> ``"The_Long_Night"``."""
    return _SLUG_RE.sub("_", text).strip("_")


def apply_doc(doc: StoryDoc, project: Any) -> tuple[list[Any], list[str]]:
    """Write a validated document into an empty ``project``; returns (scenes created, warnings).

    The start passage is created first (it becomes the project's start); every other
    passage is created from a parent that links to it, in file order where the graph
    allows, and each passage's choices keep their order. Passages no path from the
    start reaches cannot be scenes and are reported in the warnings. Call inside
    ``project.transaction`` so a failure leaves nothing behind.
    """
    if list(project.scenes):
        raise InvalidInput("the project already has scenes; import a story into a new project")
    by_name = {p.name: p for p in doc.passages}
    start = doc.start if doc.start in by_name else doc.passages[0].name
    parents: dict[str, list[str]] = {n: [] for n in by_name}
    for p in doc.passages:
        for lk in _unique_links(p):
            parents[lk.target].append(p.name)
    order = {p.name: i for i, p in enumerate(doc.passages)}
    scenes: dict[str, Any] = {}
    next_link: dict[str, int] = {n: 0 for n in by_name}  # per source: choices made so far

    def fail(p: Passage, exc: Exception) -> FormatError:
        return FormatError(f"line {p.line}: passage {p.name!r}: {exc}")

    def flush(source: str) -> None:
        links = _unique_links(by_name[source])
        while next_link[source] < len(links) and links[next_link[source]].target in scenes:
            lk = links[next_link[source]]
            try:
                project.connect(scenes[source], scenes[lk.target], lk.label or lk.target)
            except WorkbenchError as exc:
                raise fail(by_name[source], exc) from None
            next_link[source] += 1

    def create(p: Passage) -> None:
        kwargs: dict[str, Any] = {"text": p.text, "tags": tuple(p.tags)}
        if p.position is not None:
            kwargs["position"] = p.position
        if scenes:
            ready = [a for a in parents[p.name] if a in scenes]
            # prefer a parent whose next choice is this one: its choice order stays intact
            good = [a for a in ready if _unique_links(by_name[a])[next_link[a]].target == p.name]
            src = (good or ready)[0]
            label = next(lk.label for lk in _unique_links(by_name[src]) if lk.target == p.name)
            kwargs.update(after=scenes[src], choice=label or p.name)
        try:
            scenes[p.name] = project.add_scene(p.name, **kwargs)
        except WorkbenchError as exc:
            raise fail(p, exc) from None
        if "after" in kwargs:
            src_links = _unique_links(by_name[src])
            idx = next(i for i, lk in enumerate(src_links) if lk.target == p.name)
            if idx == next_link[src]:
                next_link[src] += 1
            else:  # order could not be kept; the choice exists already
                src_links.pop(idx)
                by_name[src].links = src_links
            flush(src)
        flush(p.name)
        for a in parents[p.name]:
            if a in scenes:
                flush(a)

    import heapq

    create(by_name[start])
    heap: list[tuple[int, str]] = []
    queued: set[str] = {start}

    def enqueue_children(name: str) -> None:
        for lk in _unique_links(by_name[name]):
            if lk.target not in queued:
                queued.add(lk.target)
                heapq.heappush(heap, (order[lk.target], lk.target))

    enqueue_children(start)
    while heap:
        _, name = heapq.heappop(heap)
        create(by_name[name])
        enqueue_children(name)
    warnings = [
        f"line {p.line}: {p.name!r} cannot be reached from the start {start!r}; it was left out"
        for p in doc.passages
        if p.name not in scenes
    ]
    for attr in ("title", "logline", "genre", "style"):
        value = getattr(doc, attr)
        if value:
            setattr(project, attr, value)
    if doc.ifid:
        try:
            project.ifid = doc.ifid
        except WorkbenchError as exc:
            raise FormatError(f"ifid: {exc}") from None
    for bname, names in doc.branches.items():
        path = [scenes[n] for n in names if n in scenes]
        if not path or path[0] is not scenes[start]:
            continue
        try:
            project.set_branch(bname, path[0])
            for scene in path[1:]:
                project.extend_branch(bname, scene)
        except WorkbenchError as exc:
            raise FormatError(f"branch {bname!r}: {exc}") from None
    return [scenes[p.name] for p in doc.passages if p.name in scenes], warnings


def _unique_links(p: Passage) -> list[Link]:
    """A passage's links without repeats of the same target (the first one counts)."""
    seen: set[str] = set()
    out = []
    for lk in p.links:
        if lk.target not in seen:
            seen.add(lk.target)
            out.append(lk)
    if len(out) != len(p.links):
        p.links = out
    return out
