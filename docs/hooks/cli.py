"""The command-line reference, generated from the ``workbench`` argument parser while the site is built.

``workbench.cli.build_parser()`` is the one description of the command line: the page lists each
command with its usage line, what it does, and every argument with its default, from that parser,
so the reference cannot drift from the program.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PAGE = "reference/cli.md"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public walk of its sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            name = ", ".join(f"`{o}`" for o in action.option_strings)
            if action.nargs != 0:
                name += f" `{action.metavar or action.dest.upper()}`"
        else:
            name = f"`{action.metavar or action.dest}`"
        if action.choices and not isinstance(action.choices, dict):
            name += " (" + " \\| ".join(f"`{c}`" for c in action.choices) + ")"
        default = action.default
        shown = (
            ""
            if default in (None, argparse.SUPPRESS, False) or action.nargs == 0
            else f"`{default}`"
            if not isinstance(default, list)
            else ", ".join(f"`{d}`" for d in default)
        )
        required = "yes" if (action.required or not action.option_strings) else ""
        rows.append(f"| {name} | {_cell(action.help or '')} | {shown} | {required} |")
    if not rows:
        return []
    return ["| Argument | Meaning | Default | Required |", "|---|---|---|---|", *rows, ""]


def cli_markdown() -> str:
    """The page: every ``workbench`` command, from ``build_parser()``."""
    from workbench.cli import build_parser

    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "Generated from `workbench.cli.build_parser()` when this site is built, so it always matches",
        "the installed program. `workbench COMMAND --help` prints the same.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        _cell(parser.description or ""),
        "",
        "| Command | What it does |",
        "|---|---|",
    ]
    helps = _helps(parser)
    subs = _subcommands(parser)
    lines += [f"| [`{name}`](#workbench-{name}) | {_cell(helps.get(name, ''))} |" for name in subs]
    lines.append("")
    for name, sub in subs.items():
        lines += [
            f"## workbench {name} {{#workbench-{name}}}",
            "",
            _cell(sub.description or helps.get(name, "")),
            "",
            "```text",
            sub.format_usage().strip(),
            "```",
            "",
            *_arguments(sub),
        ]
    return "\n".join(lines) + "\n"


def on_files(files: Any, config: Any) -> Any:
    """Add the generated command-line page."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=cli_markdown()))
    return files
