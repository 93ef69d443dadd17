"""The ``workbench`` command.

The top layer: one module per command group (``story``, ``write``, ``interop``, ``report``,
``serve``, ``play``, ``train``), each with a ``register(subparsers)`` function; a sub-command
sets ``func=cmd_<command>`` where ``cmd_<command>(args) -> int``. Heavy libraries (torch,
transformers, panel, papermill, the ``Session``) load only inside handlers, so
``workbench --help`` starts fast.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import WorkbenchError
from . import interop, play, report, serve, story, train, write

__all__ = ["build_parser", "main"]

COMMAND_GROUPS = [
    story,  # new, info, backup, demo
    write,  # write, outline, media
    interop,  # export, import
    report,  # report
    serve,  # serve
    play,  # play
    train,  # train
]


def build_parser() -> argparse.ArgumentParser:
    """The ``workbench`` argument parser: every command and flag (the CLI reference is generated from it).

    Building it imports no heavy library.

    >>> args = build_parser().parse_args(["write", "my.story", "The Lamp Goes Dark", "--takes", "2"])
    >>> args.command, args.scene, args.takes
    ('write', 'The Lamp Goes Dark', 2)
    """
    parser = argparse.ArgumentParser(
        prog="workbench", description="Story Workbench: prototype branching stories with generative AI."
    )
    from ..version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``workbench`` with ``argv`` (default: the command line); returns the exit status.

    A :class:`~workbench.errors.WorkbenchError` is printed as one line for the writer and
    returns 1; an interrupt returns 130.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> main(["new", f"{folder}/night.story", "--title", "Night Ferry"])
    created .../night.story ('Night Ferry', IFID ...)
    0
    >>> main(["info", f"{folder}/missing.story"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"workbench {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; committed work is saved", file=sys.stderr)
        return 130
