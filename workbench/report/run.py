"""Run the pitch report: execute ``pitch_report.ipynb`` with papermill, then write one offline HTML file.

The report notebook ships inside the package (``workbench/report/pitch_report.ipynb``;
``notebooks/pitch_report.ipynb`` in a checkout is a link to it, so writers open the same file in
JupyterLab). The executed notebook is kept beside the HTML (``pitch.ipynb`` for ``pitch.html``). The HTML is
rendered with the package's own Jinja2 template from the notebook's section outputs (never
nbconvert's stock templates, which load MathJax, require.js and the widget manager from
CDNs): no code cells, images inline, no network request when opened.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ReportError
from ..files import atomic_path, atomic_write_text
from .sections import SECTION_TITLES

NOTEBOOK_NAME = "pitch_report.ipynb"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_VOLATILE = re.compile(r"<(?P<tag>[a-zA-Z][\w-]*)\b[^>]*\sdata-volatile\b[^>]*>.*?</(?P=tag)>", re.DOTALL)

__all__ = ["notebook_path", "read_record", "report_content", "run_report"]


def notebook_path() -> Path:
    """The report notebook, shipped in the package beside this module (package data)."""
    path = Path(__file__).resolve().parent / NOTEBOOK_NAME
    if not path.is_file():
        raise ReportError(
            f"the report notebook {NOTEBOOK_NAME} is missing from this installation "
            f"(expected at {path}): reinstall story-workbench"
        )
    return path


def _kernel_manager_class() -> type:
    """A kernel manager that always starts this interpreter's ipykernel (whatever kernelspecs exist)."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class WorkbenchKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[
                        sys.executable,
                        "-m",
                        "ipykernel_launcher",
                        "-f",
                        "{connection_file}",
                        "--IPKernelApp.log_level=ERROR",  # not its warning about local TCP
                    ],
                    display_name="Story Workbench (Python)",
                    language="python",
                    resource_dir="",
                    env={"TQDM_DISABLE": "1"},  # no progress widgets (and their state) in the outputs
                )
            return self._kernel_spec

    return WorkbenchKernelManager


def _strip_widgets(nb: Any) -> None:
    """Drop ipywidgets state and widget views: they would need a widget manager from a CDN."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data and WIDGET_MIME in data:
                data.pop(WIDGET_MIME)
                if not set(data) - {"text/plain"}:
                    continue
            kept.append(out)
        cell["outputs"] = kept


def _collect(nb: Any) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The section HTML outputs (by name, in order) and the provenance record."""
    sections: dict[str, str] = {}
    record = None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = (out.get("metadata") or {}).get("workbench_report") or {}
            data = out.get("data") or {}
            if meta.get("section") and "text/html" in data:
                html = data["text/html"]
                sections[meta["section"]] = "".join(html) if isinstance(html, list) else html
            elif meta.get("record") and "application/json" in data:
                record = dict(data["application/json"])
    return sections, record


def read_record(executed: str | os.PathLike[str]) -> dict[str, Any]:
    """The provenance record (parameters, models, seeds, versions, run facts) of an executed report notebook.

    ``workbench report`` keeps the executed notebook beside the HTML (``pitch.ipynb``):

    >>> record = read_record("pitch.ipynb")                       # doctest: +SKIP
    >>> record["parameters"]["seed"], record["project"]["content_hash"][:12]  # doctest: +SKIP
    (0, '3f1c0a9e5b7d')
    """
    import nbformat

    _, record = _collect(nbformat.read(str(executed), as_version=4))
    if record is None:
        raise ReportError(f"{executed} has no provenance record: the report did not finish")
    return record


def report_content(html: str) -> str:
    """The report without what changes between runs of the same story (times, durations, memory).

    Compare two reports of the same story with it: parts marked ``data-volatile`` are dropped.

    >>> report_content('<h3>Cast</h3><table data-volatile><tr><td>12.5 s</td></tr></table>')
    '<h3>Cast</h3>'
    """
    return _VOLATILE.sub("", html)


def _render(sections: Mapping[str, str], record: Mapping[str, Any], title: str) -> str:
    from jinja2 import Environment, PackageLoader
    from markupsafe import Markup

    # Autoescape on for every template (``select_autoescape()`` only matches names ending in .html,
    # never report.html.j2): the title and every value from the record are escaped. Only the
    # sections, our own fragments built by report.sections with every piece of story text escaped
    # through render.esc, go in as markup.
    env = Environment(
        loader=PackageLoader("workbench.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ordered = [(name, SECTION_TITLES.get(name, name), Markup(html)) for name, html in sections.items()]
    return env.get_template("report.html.j2").render(
        title=title,
        sections=ordered,
        record=record,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _step_name(source: str) -> str:
    first = next((ln for ln in source.splitlines() if ln.strip()), "")
    return first.lstrip("# ").strip() if first.lstrip().startswith("#") else first.strip()[:60]


def run_report(
    project: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    branch: str = "main",
    seed: int = 0,
    model: str = "default",
    title: str | None = None,
    media: bool = True,
    max_new_tokens: int | None = None,
    progress: bool = True,
    timeout: int | None = None,
) -> Path:
    """Run the pitch report notebook on ``project`` and write ``out_html`` (one self-contained file).

    The executed notebook is kept beside it (same name, ``.ipynb``), also when a cell fails. Any
    failure raises :class:`ReportError` naming the cause; no HTML is written then. It starts a
    kernel and may load the model, so the example is not run as a test:

    >>> run_report("skerry.story", "pitch.html", branch="main", seed=0)   # doctest: +SKIP
    PosixPath('pitch.html')
    """
    from .pipeline import check_parameters, open_checked

    check_parameters(project, branch, seed, model, title, media, max_new_tokens)
    if not isinstance(out_html, (str, os.PathLike)) or not str(out_html).strip():
        raise ReportError(f"the output must be a path to an .html file, not {out_html!r}")
    project_path = Path(project).expanduser().resolve()
    # a missing project or an unknown branch fails here, before a kernel starts
    open_checked(project_path, branch).close()
    out = Path(out_html).expanduser()
    out = out.parent.resolve() / out.name  # a link at the output is replaced, not followed
    if not out.parent.is_dir():
        raise ReportError(f"the output folder {str(out.parent)!r} does not exist")
    executed = out.with_suffix(".ipynb")
    if executed == out:
        raise ReportError("the output file needs an .html name (the executed notebook takes .ipynb)")

    import nbformat

    params = {
        "project": str(project_path),
        "branch": branch,
        "seed": seed,
        "model": model,
        "title": title,
        "media": media,
        "max_new_tokens": max_new_tokens,
    }
    failure: ReportError | None = None
    cause: BaseException | None = None
    # papermill writes a temporary file that replaces the kept notebook when it stops (also after
    # a failing cell, so the partial run can be read); an interrupted run leaves the old one
    with atomic_path(executed, keep_suffix=True) as running:
        failure, cause = _execute(running, executed, params, progress, timeout)
        if failure is not None and os.path.getsize(running) == 0:
            raise failure from cause  # nothing ran: keep whatever notebook was there
        if failure is None:
            nb = nbformat.read(str(running), as_version=4)
            _strip_widgets(nb)
            nbformat.write(nb, str(running))
    if failure is not None:
        raise failure from cause
    sections, record = _collect(nb)
    missing = [s for s in ("title", "cast", "branch-map", "screenplay", "provenance") if s not in sections]
    if missing or record is None:
        raise ReportError(
            f"the executed notebook {executed} lacks the report's "
            f"{', '.join(missing) or 'provenance record'}: was the notebook edited?"
        )
    doc_title = title or str(record.get("project", {}).get("title") or "Pitch")
    atomic_write_text(out, _render(sections, record, doc_title))
    return out


def _execute(
    running: Path, executed: Path, params: dict[str, Any], progress: bool, timeout: int | None
) -> tuple[ReportError | None, BaseException | None]:
    """Run the notebook into ``running``; a failure comes back as a ReportError naming ``executed``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook_path()),
            str(running),
            parameters=params,
            progress_bar=progress,
            log_output=progress,  # the kernel's own messages ("writing a take of ...") as they come
            stdout_file=sys.stderr if progress else None,
            stderr_file=sys.stderr if progress else None,
            kernel_name="python3",
            kernel_manager_class=_kernel_manager_class(),
            execution_timeout=timeout,
            start_timeout=120,
        )
    except PapermillExecutionError as exc:
        if exc.ename == "ReportError":
            return ReportError(f"{exc.evalue} (the notebook is kept at {executed})"), None
        return ReportError(
            f"the pitch report failed at step {_step_name(exc.source)!r} (cell {exc.exec_count}): "
            f"{exc.ename}: {exc.evalue}. The partly executed notebook is kept at {executed}"
        ), None
    except Exception as exc:  # kernel died, timed out, could not start
        return ReportError(
            f"the pitch report notebook could not run: {type(exc).__name__}: {exc}. "
            f"Whatever ran is kept at {executed}"
        ), exc
    return None, None
