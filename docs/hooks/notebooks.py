"""The tutorials: the notebooks as the test suite ran them, outputs included, rendered as pages.

The notebook tests keep their executed copies under ``build/notebooks/`` (see
``tests/executed_notebooks.py``); this hook turns each into ``tutorials/NAME.md`` while the site
is built. Markdown cells stay Markdown, code cells become Python blocks, and outputs become what
a reader can see offline: text, pictures and sound as data URIs, and the HTML our renderers
produce. Two kinds of output cannot work on a static page and are left out with a note: Panel's
live views (they need the notebook's kernel) and ipywidgets progress bars. Panel's loader scripts
(megabytes of inline JavaScript) are dropped.

A missing or stale executed copy is a warning, so ``mkdocs build --strict`` fails and says which
test makes it; ``docs/build_docs.py`` (``make docs``) runs those tests first.
"""

from __future__ import annotations

import html
import logging
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.executed_notebooks import SOURCES, executed_path, is_current  # noqa: E402

log = logging.getLogger("mkdocs.hooks.notebooks")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PANEL_LOAD = ("application/vnd.holoviews_load.v0+json", "application/vnd.bokehjs_load.v0+json")
PANEL_VIEW = "application/vnd.holoviews_exec.v0+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGES = ("image/png", "image/jpeg", "image/gif")
# a notebook linking to another notebook links to its tutorial page
NOTEBOOK_LINK = re.compile(r"\]\((?:\.\./notebooks/|\./)?([0-9A-Za-z_]+)\.ipynb\)")
LIVE_VIEW_NOTE = (
    '!!! note "A live view"\n'
    "    Here the notebook shows a Panel view you can click and type in. It needs the notebook's\n"
    "    kernel, so this page cannot show it: run the notebook in JupyterLab (`make lab`).\n"
)


def _fence(text: str, lang: str = "text") -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def _stream_text(text: str) -> str:
    """Terminal text as it looked at the end: colour codes dropped, carriage-return updates collapsed."""
    text = ANSI.sub("", text)
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _raw_html(fragment: str) -> str:
    """An HTML output as a raw block (no Markdown inside), wrapped so the theme can style it."""
    body = "\n".join(line for line in fragment.strip().splitlines() if line.strip())
    return f'<div class="nb-output" markdown="0">\n{body}\n</div>\n'


def render_output(out: Any) -> str:
    """One output of a code cell as Markdown (or '' when a static page cannot show it)."""
    kind = out.get("output_type")
    if kind == "stream":
        text = _stream_text(out.get("text", ""))
        return _fence(text) if text.strip() else ""
    if kind == "error":
        return _fence(_stream_text("\n".join(out.get("traceback", []))), "pytb")
    data = out.get("data", {})
    if not data or any(k in data for k in PANEL_LOAD) or WIDGET_VIEW in data:
        return ""
    if PANEL_VIEW in data:
        return LIVE_VIEW_NOTE
    for mime in IMAGES:
        if mime in data:
            payload = "".join(data[mime].split())
            return _raw_html(f'<img alt="output" src="data:{mime};base64,{payload}">')
    if "image/svg+xml" in data:
        return _raw_html(data["image/svg+xml"])
    if "text/html" in data:
        return _raw_html(data["text/html"])
    if "text/markdown" in data:
        return data["text/markdown"] + "\n"
    if "text/plain" in data:
        return _fence(_stream_text(data["text/plain"]))
    return ""


def render_notebook(nb: Any, source: str) -> str:
    """An executed notebook as one Markdown page."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(NOTEBOOK_LINK.sub(r"](\1.md)", cell.source) + "\n")
        elif cell.cell_type == "code":
            if not cell.source.strip():
                continue
            parts.append(_fence(cell.source, "python"))
            for out in cell.get("outputs", []):
                rendered = render_output(out)
                if rendered:
                    parts.append(rendered)
    parts.append(
        f"\n---\n<small>Rendered from `{html.escape(source)}` as the test suite ran it "
        "(model output capped at a few tokens per take, so the text is short and rough).</small>\n"
    )
    return "\n".join(parts)


def on_files(files: Any, config: Any) -> Any:
    """Add ``tutorials/NAME.md`` for each notebook, from its executed copy."""
    import nbformat
    from mkdocs.structure.files import File

    for name, source in SOURCES.items():
        path = executed_path(name)
        if not is_current(name):
            state = "stale (the notebook changed since it ran)" if path.is_file() else "missing"
            test = (
                "tests/report/test_report.py::test_first_run_is_kept_for_the_documentation"
                if name == "pitch_report"
                else f"tests/notebooks/test_notebooks.py::test_notebook_runs[{name}]"
            )
            log.warning(
                f"tutorial {name}: the executed notebook {path} is {state}; run `make docs` or {test}"
            )
            continue
        nb = nbformat.read(str(path), as_version=4)
        content = render_notebook(nb, str(source.relative_to(REPO)))
        files.append(File.generated(config, f"tutorials/{name}.md", content=content))
    return files
