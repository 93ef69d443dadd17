"""The ``workbench`` command.

Each area contributes its sub-commands through a ``commands`` module with a
``register(subparsers)`` function; a sub-command sets ``func=handler`` where
``handler(args) -> int``. Heavy libraries load only inside handlers, so
``workbench --help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import WorkbenchError

COMMAND_MODULES = [
    "workbench.story.commands",  # new, info, backup, demo
    "workbench.generate.commands",  # write, outline, media
    "workbench.interop.commands",  # export, import
    "workbench.report.commands",  # report
    "workbench.app.commands",  # serve
    "workbench.play.commands",  # play
    "workbench.training.commands",  # train
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench", description="Story Workbench: prototype branching stories with generative AI."
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that area is not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
