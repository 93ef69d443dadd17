"""The one rule of the architecture, checked from the code (docs/architecture.md).

Imports go down the layer list, never up and never in a circle; nothing outside story/
runs SQL or reaches a private name of another module.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "workbench"
BASE = (
    "errors",
    "config",
    "seeding",
    "plugins",
    "files",
    "version",
)  # the foundation: imports only each other
LAYERS = [
    "story",
    "render",
    "generate",
    "interop",
    "training",
    "play",
    "session",
    "report",
    "widgets",
    "app",
    "cli",
]
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|WITH RECURSIVE)\b")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "workbench":
        return None
    if len(parts) == 1:
        return len(LAYERS) + 1  # the package itself re-exports from everywhere, lazily
    if parts[1] in BASE:
        return -1
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
    pkg = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(pkg + ([node.module] if node.module else []))


def _files() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, int, bool, list[str]]]:
    """(target module, line, at module level?, imported names) for every import in the file."""
    module = _module(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for n in tree.body:  # ``if TYPE_CHECKING:`` blocks are not run: not edges of the import graph
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            top.discard(id(n))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(module, path.name == "__init__.py", node)
            names = [a.name for a in node.names]
            subs = [n for n in names if (ROOT.parent / base.replace(".", "/") / f"{n}.py").exists()]
            if subs and len(subs) == len(names):  # ``from .. import config``: the submodules themselves
                out += [(f"{base}.{n}", node.lineno, id(node) in top, []) for n in subs]
            else:
                out.append((base, node.lineno, id(node) in top, names))
        elif isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name, node.lineno, id(node) in top, []))
    return out


def test_imports_go_down_the_layers_never_up() -> None:
    upward = []
    for path in _files():
        module = _module(path)
        src = _rank(module)
        if src is None:
            continue
        for target, line, _, _ in _imports(path):
            dst = _rank(target)
            if dst is None or dst <= src:
                continue
            if module.startswith("workbench.story") and target.startswith("workbench.render"):
                continue  # the one named exception: story's lazy _repr_html_ calls render/
            upward.append(f"{path.relative_to(ROOT.parent)}:{line}: {module} -> {target}")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_circle_between_modules() -> None:
    """Module-level imports (what runs at import time) form no cycle."""
    graph: dict[str, set[str]] = defaultdict(set)
    known = {_module(p) for p in _files()}
    for path in _files():
        module = _module(path)
        for target, _, top_level, names in _imports(path):
            if not top_level or not target.startswith("workbench"):
                continue
            for candidate in [f"{target}.{n}" for n in names] + [target]:
                if candidate in known and candidate != module:
                    graph[module].add(candidate)
                    break
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(known):
        if v not in index:
            visit(v)
    # a package importing its own submodules is not a circle unless a submodule imports the package back
    real = [c for c in cycles if not all(m.startswith(min(c, key=len)) for m in c) or len(c) > 2]
    assert not real, f"import circles: {real}"


def test_no_private_name_reached_across_modules() -> None:
    found = []
    for path in _files():
        module = _module(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: set[str] = set()
        for target, line, _, names in _imports(path):
            if target.startswith("workbench") and target != module:
                for n in names:
                    if n.startswith("_") and not n.startswith("__"):
                        found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports {n} from {target}")
                    aliases.add(n)
            if re.search(r"\._[a-z]", target) and target.startswith("workbench"):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: imports private module {target}")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")) or node.attr.startswith(
                "__"
            ):
                continue
            v = node.value
            owner = v.id if isinstance(v, ast.Name) else v.attr if isinstance(v, ast.Attribute) else None
            if owner in aliases or owner in {"project", "session", "writer", "play", "db"}:
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {owner}.{node.attr}")
    assert not found, "private names reached across modules:\n" + "\n".join(found)


def test_sql_stays_in_the_story_layer() -> None:
    found = []
    for path in _files():
        if path.relative_to(ROOT).parts[0] == "story":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {node.value[:40]!r}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("db", "conn")
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: .{node.attr}")
    assert not found, "SQL or the database outside story/:\n" + "\n".join(found)


@pytest.mark.parametrize("layer", ["commands"])
def test_no_commands_modules_below_the_cli(layer: str) -> None:
    assert not [p for p in _files() if p.name == f"{layer}.py"]
