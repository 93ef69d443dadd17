"""CLI: ``workbench report PROJECT -o pitch.html``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render a pitch report (one self-contained HTML file) from a project",
        description="Run the pitch report notebook on PROJECT and write one self-contained HTML file. "
        "Scenes on the branch without a chosen take get one generated take (chosen automatically); "
        "the executed notebook is kept beside the HTML.",
    )
    p.add_argument("project", type=Path, help="the project file")
    p.add_argument("-o", "--out", type=Path, required=True, help="the HTML file to write (e.g. pitch.html)")
    p.add_argument("--branch", default="main", help="the path through the story to pitch (default: main)")
    p.add_argument("--seed", type=int, default=0, help="seed of generated takes and storyboards (default: 0)")
    p.add_argument("--model", default="default", help="text model spec (default: the bundled default model)")
    p.add_argument("--title", default=None, help="report title (default: the project's title)")
    p.add_argument("--no-media", action="store_true", help="leave out portraits and storyboards")
    p.add_argument("--max-new-tokens", type=int, default=None, help="longest generated take, in tokens")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)


def _interrupt_on_sigterm() -> None:
    """SIGTERM (a job runner stopping the report) ends it like Ctrl-C: the kernel is shut down, the
    half-written notebook removed, and the kept notebook and HTML of the last run stay as they were."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def cmd_report(args: argparse.Namespace) -> int:
    from ..report.run import run_report

    _interrupt_on_sigterm()
    out = run_report(
        args.project,
        args.out,
        branch=args.branch,
        seed=args.seed,
        model=args.model,
        title=args.title,
        media=not args.no_media,
        max_new_tokens=args.max_new_tokens,
        progress=not args.quiet,
    )
    print(f"pitch report: {out} (executed notebook: {out.with_suffix('.ipynb')})")
    return 0
