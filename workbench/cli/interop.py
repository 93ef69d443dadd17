"""``workbench export`` and ``workbench import``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _options(pairs: list[str] | None) -> dict[str, Any]:
    from ..errors import InvalidInput

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--option takes KEY=VALUE, not {pair!r}")
        out[key.strip().replace("-", "_")] = value
    return out


def register(subparsers: Any) -> None:
    """Add the ``export`` and ``import`` sub-commands."""
    ex = subparsers.add_parser(
        "export", help="export a project (Twee, Twine HTML, ink, Yarn, Fountain, cards)"
    )
    ex.add_argument("project", help="the project file")
    ex.add_argument(
        "--format",
        "-f",
        required=True,
        help="twee, twine-html, ink, yarn, fountain, card-v2, card-v3, trl-sft, trl-dpo, ratings",
    )
    ex.add_argument("--branch", "-b", help="the branch to export (Fountain; default main)")
    ex.add_argument("-o", "--out", required=True, help="output file (a folder for card formats)")
    ex.add_argument("--png", action="store_true", help="card formats: write PNG cards instead of JSON")
    ex.add_argument("--min-rating", type=int, help="training formats: only takes rated at least N stars")
    ex.add_argument("--since", help="training formats: only feedback given on or after this date")
    ex.add_argument("--rater", help="training formats: only this rater's feedback")
    ex.add_argument("--split", type=float, help="training formats: hold out this fraction of scenes as test")
    ex.add_argument(
        "--option", "-O", action="append", metavar="KEY=VALUE", help="a format option (repeatable)"
    )
    ex.set_defaults(func=cmd_export)

    im = subparsers.add_parser("import", help="import a story, screenplay or character card into a project")
    im.add_argument(
        "file", help="the file to import (.twee, Twine 2 .html, .ink, .yarn, .fountain, .json/.png card)"
    )
    im.add_argument("--into", required=True, help="the project file (created if missing)")
    im.add_argument("--format", "-f", help="the format (default: from the file suffix)")
    im.add_argument(
        "--to-library", action="store_true", help="cards: also add the character to the cast library"
    )
    im.add_argument("--after", help="Fountain: the scene the imported screenplay follows")
    im.add_argument(
        "--option", "-O", action="append", metavar="KEY=VALUE", help="a format option (repeatable)"
    )
    im.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from ..interop.registry import export_project, get_format
    from ..story import open_project

    fmt = get_format(args.format, need="export")
    opts = _options(args.option)
    if args.branch:
        opts["branch"] = args.branch
    if args.png:
        opts["png"] = True
    for key in ("min_rating", "since", "rater", "split"):
        if getattr(args, key, None) is not None:
            opts[key] = getattr(args, key)
    with open_project(args.project, create=False) as project:
        written = export_project(project, fmt, Path(args.out), **opts)
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..interop.registry import import_file
    from ..story import open_project

    opts = _options(args.option)
    if args.to_library:
        opts["to_library"] = True
    if args.after:
        opts["after"] = args.after
    with open_project(args.into) as project:
        result = import_file(Path(args.file), project, args.format, **opts)
        print(f"imported {result.summary()} from {args.file} into {args.into}")
    for path in result.library:
        print(f"wrote {path}")
    for note in result.warnings:
        print(f"warning: {note}")
    return 0
