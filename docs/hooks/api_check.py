"""Every public object of the documented API has a docstring, and every public class and function an example.

The documented API is ``workbench.__all__`` plus the sub-packages the reference shows
(:data:`DOCUMENTED_MODULES`). For each module the public objects are its ``__all__`` (or, without
one, the public names it defines). The rules:

* a public class, function or constant has a docstring;
* a public class or function has an example in it (a ``>>>`` doctest or a fenced code block);
* the public methods and properties a public class defines have a docstring.

Names that break a rule today and live in files that are being reworked are listed, each with the
rule it breaks, in ``undocumented.txt`` beside this file: the allow-list, to be emptied. Anything
else that breaks a rule, and any allow-listed name that no longer breaks it, is a problem.

As a MkDocs hook this logs each problem as a warning, which ``mkdocs build --strict`` turns into
a failed build; ``tests/docs`` calls :func:`problems` directly.
"""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ALLOW_LIST = HERE / "undocumented.txt"
DOCUMENTED_MODULES = (
    "workbench",
    "workbench.generate",
    "workbench.story.project",
    "workbench.interop.registry",
    "workbench.widgets.registry",
    "workbench.plugins",
    "workbench.errors",
    "workbench.cli",
    "workbench.report",
)
# the three rules, as the allow-list names them
NO_DOCSTRING = "no-docstring"
NO_EXAMPLE = "no-example"
EXAMPLE = re.compile(r"^\s*(>>> |```|~~~)", re.M)

log = logging.getLogger("mkdocs.hooks.api_check")


def _load() -> Any:
    import griffe

    return griffe.load("workbench", search_paths=[str(REPO)], resolve_aliases=False)


def _lookup(package: Any, path: str) -> Any | None:
    """The griffe object at ``path`` (``workbench.x.y``), aliases followed; None when griffe cannot see it."""
    rel = path.split(".", 1)[1] if "." in path else ""
    try:
        obj = package[rel] if rel else package
        while getattr(obj, "is_alias", False):
            obj = obj.final_target
        return obj
    except Exception:  # griffe raises several kinds for names it cannot resolve statically
        return None


def _runtime_path(module: str, name: str) -> str | None:
    """Where ``module.name`` is defined, from the running object (for names bound lazily)."""
    obj = getattr(importlib.import_module(module), name, None)
    owner, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{owner}.{qual}" if owner and qual else None


def public_objects() -> dict[str, Any]:
    """The documented public objects, by the path where each is defined (griffe objects)."""
    package = _load()
    found: dict[str, Any] = {}
    for module_path in DOCUMENTED_MODULES:
        module = _lookup(package, module_path)
        if module is None:
            raise LookupError(f"{module_path} cannot be read")
        exports = module.exports
        if not exports:  # no __all__, or one computed at run time (errors.py): the public names defined there
            names = [n for n, m in module.members.items() if not n.startswith("_") and not m.is_alias]
        else:
            names = [str(n) for n in exports]
        for name in names:
            obj = _lookup(package, f"{module_path}.{name}")
            if obj is None:
                where = _runtime_path(module_path, name)
                obj = _lookup(package, where) if where else None
            if obj is None:
                raise LookupError(f"{module_path}.{name} cannot be found")
            if obj.kind.value == "module":
                continue  # a sub-module named in __all__ is documented as its own entry
            found[obj.path] = obj
    return dict(sorted(found.items()))


def _doc(obj: Any) -> str:
    return obj.docstring.value.strip() if obj.docstring else ""


def findings() -> dict[str, set[str]]:
    """``{object path: rules it breaks}`` for the documented API as it is now."""
    out: dict[str, set[str]] = {}

    def flag(path: str, rule: str) -> None:
        out.setdefault(path, set()).add(rule)

    for path, obj in public_objects().items():
        kind = obj.kind.value
        doc = _doc(obj)
        if not doc:
            flag(path, NO_DOCSTRING)
        if kind in ("class", "function") and not EXAMPLE.search(doc):
            flag(path, NO_EXAMPLE)
        if kind != "class":
            continue
        for name, member in obj.members.items():
            if name.startswith("_") or member.is_alias:
                continue
            is_method = member.kind.value == "function"
            is_property = member.kind.value == "attribute" and "property" in member.labels
            if (is_method or is_property) and not _doc(member):
                flag(member.path, NO_DOCSTRING)
    return out


def read_allow_list(path: Path = ALLOW_LIST) -> dict[str, set[str]]:
    """The allow-list: ``{object path: rules}`` from lines ``PATH RULE[,RULE]`` (``#`` comments)."""
    allowed: dict[str, set[str]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        rules = set(parts[1].split(",")) if len(parts) == 2 else set()
        if len(parts) != 2 or not rules <= {NO_DOCSTRING, NO_EXAMPLE}:
            raise ValueError(f"{path.name}:{number}: write `PATH {NO_DOCSTRING}|{NO_EXAMPLE}[,...]`: {raw!r}")
        allowed[parts[0]] = rules
    return allowed


def problems(allowed: dict[str, set[str]] | None = None) -> list[str]:
    """Every rule broken outside the allow-list, and every allow-list entry that is no longer needed."""
    allowed = read_allow_list() if allowed is None else allowed
    found = findings()
    out = []
    for path, rules in sorted(found.items()):
        extra = rules - allowed.get(path, set())
        for rule in sorted(extra):
            what = "has no docstring" if rule == NO_DOCSTRING else "has no example (>>> or a code block)"
            out.append(f"{path} {what}")
    for path, rules in sorted(allowed.items()):
        fixed = rules - found.get(path, set())
        if fixed:
            out.append(
                f"{path} is allow-listed for {','.join(sorted(fixed))} in docs/hooks/{ALLOW_LIST.name} "
                "but no longer needs it: remove the entry"
            )
    return out


def on_pre_build(config: Any) -> None:
    """MkDocs hook: each problem is a warning (an error under ``--strict``)."""
    for problem in problems():
        log.warning(f"undocumented public API: {problem}")
