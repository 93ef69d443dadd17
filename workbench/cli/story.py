"""CLI: ``workbench new``, ``info``, ``backup``, ``demo``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="create a new, empty project file")
    p.add_argument("path", type=Path, help="the project file to create (.story)")
    p.add_argument("--title", default=None, help="the story's title")
    p.add_argument(
        "--sample", action="store_true", help="start from the sample story instead of an empty one"
    )
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("info", help="show a project's scenes, branches, cast and takes")
    p.add_argument("path", type=Path, help="the project file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("backup", help="copy a project safely (even while it is open elsewhere)")
    p.add_argument("path", type=Path, help="the project file")
    p.add_argument("out", type=Path, help="the copy to write (a complete project file)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "demo", help="build the sample project and render its pitch report on the default model"
    )
    p.add_argument(
        "--out", type=Path, default=Path("out"), help="folder for the demo's files (default: out/)"
    )
    p.add_argument("--no-report", action="store_true", help="only build and show the sample project")
    p.add_argument(
        "--model",
        default=None,
        help="text model spec (default: the embedded model, on the llama.cpp engine where it is installed)",
    )
    p.set_defaults(func=cmd_demo)


def cmd_new(args: argparse.Namespace) -> int:
    from ..errors import InvalidInput
    from ..story.project import open_project
    from ..story.sample import build_sample

    if args.path.exists():
        raise InvalidInput(f"{args.path} already exists; open it instead, or pick another name")
    project = build_sample(args.path) if args.sample else open_project(args.path, title=args.title)
    if args.title:
        project.title = args.title
    print(f"created {args.path} ({project.title!r}, IFID {project.ifid})")
    project.close()
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..story.describe import describe
    from ..story.project import open_project

    project = open_project(args.path, create=False)
    try:
        if args.json:
            print(json.dumps(project.summary(), indent=2, ensure_ascii=False))
        else:
            print(describe(project))
    finally:
        project.close()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from ..story.project import open_project

    project = open_project(args.path, create=False)
    try:
        out = project.backup(args.out)
    finally:
        project.close()
    print(f"backed up {args.path} to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..story.describe import describe
    from ..story.sample import build_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "skerry_point.story"
    project = build_sample(path, overwrite=True)
    if not args.no_report:
        # one scene for the model to write during the report, so the demo shows the model at work
        tip = project.branches["main"].tip
        epilogue = project.add_scene(
            "The Ferry at Dawn",
            after=tip,
            choice="The ferry returns at dawn",
            characters=["Mara Quell", "Tomas Reyes", "Ines Quell"],
        )
        project.set_summary(
            epilogue,
            "The first ferry in a week arrives, guided by the light; Tomas must decide whether to leave.",
        )
    print(describe(project))
    project.close()
    print(f"\nsample project: {path}")
    if args.no_report:
        return 0
    try:
        from ..report.run import run_report
    except ModuleNotFoundError:
        return 0
    model = args.model
    if model is None:
        from ..generate.llamacpp import available, how_to_install

        model = "llamacpp:default" if available() else "default"
        print(
            "text engine: llama.cpp (llamacpp:default)"
            if available()
            else f"text engine: transformers (for faster takes, the llama.cpp engine: {how_to_install()})"
        )
    html = run_report(path, out / "pitch.html", model=model)
    print(f"pitch report: {html}")
    return 0
