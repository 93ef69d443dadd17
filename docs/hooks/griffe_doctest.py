"""A griffe extension for the API reference: docstrings written for ``help()`` read well as Markdown.

The package's docstrings carry runnable ``>>>`` examples (``tests/docs/test_doctests.py`` runs them)
written the plain doctest way, at the docstring's own indentation. Markdown would read a ``>>>`` line
as three nested quotes, so each such run of lines (the prompts, their ``...`` continuations and the
expected output, up to a blank line) is wrapped in a ``pycon`` fence before the docstring is parsed.
Doctest directives (``# doctest: +SKIP``) are dropped from what the reader sees. Examples inside
an indented ``Examples:`` section and text already in a fence are left alone.

Sphinx cross-reference roles (``:class:`~workbench.errors.PluginError```) become code spans naming
the object (``PluginError``), so no ``:class:`` shows on the page.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

FLAGS = re.compile(r"\s*#\s*doctest:.*$")  # directives for the test runner, not the reader
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


def fence_doctests(text: str) -> str:
    """``text`` with each top-level doctest run wrapped in a ```` ```pycon ```` fence."""
    out: list[str] = []
    lines = text.split("\n")
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(FLAGS.sub("", lines[i]))
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Wrap bare doctest examples in fences and turn Sphinx roles into code, for every object loaded."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        text = ROLE.sub(_role, obj.docstring.value)
        obj.docstring.value = fence_doctests(text) if ">>>" in text else text
