"""The pitch report: a papermill-run notebook rendered into one self-contained HTML file.

>>> from workbench.report import run_report                   # doctest: +SKIP
>>> run_report("story.story", "pitch.html", branch="main")     # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["read_record", "report_content", "run_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'workbench.report' has no attribute {name!r}")
