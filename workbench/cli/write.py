"""CLI: ``workbench write``, ``plan``, ``outline``, ``media``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InvalidInput


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("write", help="generate takes of a scene (saved with provenance)")
    p.add_argument("project", type=Path, help="the project file")
    p.add_argument("scene", help="scene title or id")
    p.add_argument("--takes", type=int, default=3, help="how many takes to write (default 3)")
    p.add_argument(
        "--seed", type=int, default=None, help="seed of the takes (default: a fresh one, recorded)"
    )
    p.add_argument("--branch", default=None, help="the branch whose story so far leads to the scene")
    p.add_argument("--model", default="default", help="text model spec (default, a path, openai:MODEL@URL)")
    p.add_argument("--max-new-tokens", type=int, default=200, help="longest take, in tokens (default 200)")
    p.add_argument("--quiet", action="store_true", help="don't stream the text while it is written")
    p.add_argument(
        "--structure",
        choices=("auto", "screenplay", "free"),
        default="auto",
        help="a plan, then the screenplay under a grammar (auto where the model allows), or free text",
    )
    p.add_argument(
        "--plan",
        type=Path,
        default=None,
        help="write every take from this plan (JSON, e.g. `workbench plan` output, edited)",
    )
    p.set_defaults(func=cmd_write)

    p = sub.add_parser("plan", help="print the plan a scene's take was written from (JSON, to edit)")
    p.add_argument("project", type=Path, help="the project file")
    p.add_argument("scene", help="scene title or id")
    p.add_argument(
        "--take",
        type=int,
        default=None,
        help="which take (1 = first; default: the chosen one, or the newest written from a plan)",
    )
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("outline", help="outline a new story from a logline (title, characters, scenes)")
    p.add_argument("project", type=Path, help="the project file (created if missing)")
    p.add_argument("logline", help="the story in one sentence")
    p.add_argument("--seed", type=int, default=None, help="seed of the outline (default: a fresh one)")
    p.add_argument("--model", default="default", help="text model spec")
    p.set_defaults(func=cmd_outline)

    p = sub.add_parser("media", help="portraits, storyboards and table reads, written to files and stored")
    p.add_argument("project", type=Path, help="the project file")
    p.add_argument("--portraits", action="store_true", help="a portrait of each character (the default)")
    p.add_argument("--storyboard", metavar="BRANCH_OR_SCENE", help="storyboard frames of each scene")
    p.add_argument(
        "--table-read", metavar="SCENE_OR_BRANCH", help="the dialogue read in each character's voice"
    )
    p.add_argument("--frames", type=int, default=3, help="storyboard frames per scene (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the frames and voices (default 0)")
    p.add_argument("--image", default="sketch", help="image model spec (sketch, or a diffusers model path)")
    p.add_argument("--voice", default="default", help="voice model spec")
    p.add_argument(
        "-o", "--out", type=Path, default=Path("media"), help="folder for the files (default: media/)"
    )
    p.set_defaults(func=cmd_media)


def cmd_write(args: argparse.Namespace) -> int:
    from ..session import Session
    from ..story.project import open_project

    session = Session(open_project(args.project, create=False), text=args.model)
    try:
        current = {"i": -1}

        def stream(i: int, delta: str) -> None:
            if args.quiet:
                return
            if i != current["i"]:
                current["i"] = i
                sys.stdout.write(f"\n--- take {i + 1} ---\n")
            sys.stdout.write(delta)
            sys.stdout.flush()

        plan = None
        if args.plan is not None:
            try:
                plan = json.loads(args.plan.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInput(f"cannot read the plan {str(args.plan)!r}: {exc}") from None
        takes = session.write_scene(
            args.scene,
            n=args.takes,
            seed=args.seed,
            branch=args.branch,
            on_token=stream,
            max_new_tokens=args.max_new_tokens,
            structure=args.structure,
            plan=plan,
        )
        print()
        for i, t in enumerate(takes, 1):
            p = t.provenance
            print(
                f"saved take {i}: {t.id} (seed {p.get('seed')}, take seed {p.get('take_seed')}, "
                f"{p.get('completion_tokens')} tokens, {p.get('seconds')} s)"
            )
    finally:
        session.close()
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from ..story.project import open_project

    project = open_project(args.project, create=False)
    try:
        scene = project.scene(args.scene)
        takes = list(scene.takes)
        if not takes:
            raise InvalidInput(f"the scene {scene.title!r} has no takes yet: write it first")
        if args.take is None:  # the chosen take, or else the newest one written from a plan
            planned = [t for t in [scene.chosen, *reversed(takes)] if t and (t.provenance or {}).get("plan")]
            take = planned[0] if planned else takes[-1]
        elif 1 <= args.take <= len(takes):
            take = takes[args.take - 1]
        else:
            raise InvalidInput(f"the scene {scene.title!r} has takes 1 to {len(takes)}, not {args.take}")
        plan = (take.provenance or {}).get("plan")
        if not plan:
            raise InvalidInput(
                "that take was not written from a plan (free text or a hand edit): write it with "
                "--structure screenplay first"
            )
        print(json.dumps(plan, ensure_ascii=False, indent=2))
    finally:
        project.close()
    return 0


def cmd_outline(args: argparse.Namespace) -> int:
    from ..session import Session
    from ..story.project import open_project

    session = Session(open_project(args.project), text=args.model)
    try:
        o = session.outline(args.logline, seed=args.seed)
        print(o.title)
        print()
        for c in o.characters:
            print(f"  {c['name']}: {c['description']}")
        print()
        for i, s in enumerate(o.scenes, 1):
            print(f"  {i}. {s['title']}: {s['summary']}")
    finally:
        session.close()
    return 0


def _ext(mime: str) -> str:
    return {"image/png": ".png", "image/jpeg": ".jpg", "audio/wav": ".wav", "audio/x-wav": ".wav"}.get(
        mime, ".bin"
    )


def cmd_media(args: argparse.Namespace) -> int:
    from ..files import atomic_write_bytes
    from ..session import Session
    from ..story.cast import slug
    from ..story.project import open_project

    session = Session(open_project(args.project, create=False), image=args.image, voice=args.voice)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        if not (args.portraits or args.storyboard or args.table_read):
            args.portraits = True
        if args.portraits:
            for c in session.project.cast:
                a = session.portrait(c)
                f = out / f"portrait-{slug(c.name)}{_ext(a.mime)}"
                atomic_write_bytes(f, a.data)
                written.append(f)
        if args.storyboard:
            target = args.storyboard
            scenes = session.scenes_of(target)
            for sc in scenes:
                for i, a in enumerate(session.storyboard(sc, frames=args.frames, seed=args.seed), 1):
                    f = out / f"board-{slug(sc.title)}-{i}{_ext(a.mime)}"
                    atomic_write_bytes(f, a.data)
                    written.append(f)
        if args.table_read:
            a = session.table_read(args.table_read, seed=args.seed)
            f = out / f"table-read-{slug(args.table_read)}{_ext(a.mime)}"
            atomic_write_bytes(f, a.data)
            written.append(f)
    finally:
        session.close()
    for f in written:
        print(f)
    print(f"{len(written)} file(s) written to {out} and stored in {args.project}")
    return 0
