"""The examples in the docstrings run: every ``>>>`` in ``workbench/`` that needs no model.

Each module's examples share one namespace, the module docstring's examples first, so a module can
set up a scratch folder or a sample story once (as ``workbench.errors`` does) and its classes'
examples use it. An example that needs a model or a server is marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def modules_with_examples() -> list[str]:
    out = []
    for path in sorted((REPO / "workbench").rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append(".".join(parts))
    return out


def test_the_modules_with_examples_are_found() -> None:
    found = modules_with_examples()
    assert {
        "workbench.errors",
        "workbench.seeding",
        "workbench.story.screenplay",
        "workbench.plugins",
    } <= set(found)


@pytest.mark.parametrize("name", modules_with_examples())
def test_docstring_examples(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # an example that writes a relative path writes here
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    tests = [
        t for t in tests if t.examples and (t.filename is None or Path(t.filename) == Path(module.__file__))
    ]
    tests.sort(key=lambda t: (t.name != name, t.lineno or 0))  # the module's own examples first
    shared = dict(module.__dict__)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    ran = 0
    for test in tests:
        test.globs = shared
        runner.run(test, clear_globs=False)
        ran += sum(1 for ex in test.examples if not ex.options.get(doctest.SKIP))
    result = runner.summarize(verbose=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
    )
    assert ran > 0 or all(ex.options.get(doctest.SKIP) for t in tests for ex in t.examples)
