"""CLI: ``workbench play PROJECT``: read the story in the terminal, one move at a time."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any, TextIO

QUIT = {"q", "quit", "exit", ":q"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "play",
        help="play the story in the terminal: pick a choice or type what happens",
        description="Read PROJECT one scene at a time. Type a choice's number or what happens "
        "next; new scenes are written (streaming) and saved on the play's branch. q quits. "
        "Reads moves from a pipe too, one a line.",
    )
    p.add_argument("project", type=Path, help="the project file (.story)")
    p.add_argument("--branch", default=None, help="the branch to extend (default: a new branch 'play N')")
    p.add_argument(
        "--start",
        default=None,
        help="the scene to start at (default: the first scene, or the branch's last scene)",
    )
    p.add_argument("--model", default="default", help="text model spec (default: the embedded small model)")
    p.add_argument("--seed", type=int, default=None, help="seed for suggestions and new scenes")
    p.add_argument("--choices", type=int, default=3, help="how many choices to offer where none exist (1-6)")
    p.add_argument(
        "--prefetch",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the offered scenes in the background while you read (default: on in a terminal)",
    )
    p.set_defaults(func=cmd_play)


def _show_scene(play: Any, out: TextIO, text: bool = True) -> None:
    scene = play.scene
    if text:
        out.write(f"\n== {scene.title} ==\n\n{scene.text.strip() or '(no text yet)'}\n")
    state = play.state()
    if state.warnings:
        out.write("".join(f"  ! {w}\n" for w in state.warnings))


def _show_choices(play: Any, out: TextIO) -> list[str]:
    out.write("\n(choosing what could happen next...)\n" if not play.scene.choices else "\n")
    out.flush()
    choices = play.choices
    for i, label in enumerate(choices, 1):
        out.write(f"  {i}. {label}\n")
    if play.notice:
        out.write(f"  ({play.notice})\n")
    out.write("Type a number, or what happens next (q quits).\n")
    out.flush()
    return choices


def run(play: Any, inp: TextIO, out: TextIO) -> int:
    """The read-move loop; returns the number of moves made."""
    from ..errors import WorkbenchError

    moves = 0
    _show_scene(play, out)
    choices = _show_choices(play, out)
    while True:
        out.write("> ")
        out.flush()
        line = inp.readline()
        if not line:  # end of input
            out.write("\n")
            break
        text = line.strip()
        if text.casefold() in QUIT:
            break
        if not text:
            out.write("Type a number, or what happens next (q quits).\n")
            continue
        move: int | str = text
        if text.isdigit():
            if not 1 <= int(text) <= len(choices):
                out.write(
                    f"! there is no choice {text}; pick 1 to {len(choices)} or type what happens\n"
                    if choices
                    else "! there are no choices here; type what happens\n"
                )
                continue
            move = int(text) - 1
        label = choices[move] if isinstance(move, int) else text
        out.write(f"\n== {label} ==\n\n")
        streamed: list[str] = []

        def show(_i: int, piece: str, sink: list[str] = streamed) -> None:
            sink.append(piece)
            out.write(piece)
            out.flush()

        try:
            scene = play.move(move, on_token=show)
        except KeyboardInterrupt:
            play.stop()
            out.write("\n! stopped; nothing was saved\n")
            continue
        except WorkbenchError as exc:
            out.write(f"\n! {exc}\n")
            continue
        moves += 1
        if "".join(streamed).strip() != scene.text.strip():
            out.write(f"\n\n-- {scene.title} (as saved) --\n\n{scene.text.strip()}")
        out.write("\n")
        _show_scene(play, out, text=False)
        choices = _show_choices(play, out)
    return moves


def cmd_play(args: argparse.Namespace) -> int:
    from ..session import Session
    from ..story.project import open_project

    project = open_project(args.project, create=False)
    try:
        session = Session(project, text=args.model)
        prefetch = sys.stdin.isatty() if args.prefetch is None else args.prefetch
        play = session.play(args.start, args.branch, k=args.choices, seed=args.seed, pregenerate=prefetch)
        print(textwrap.shorten(f"{project.title}: playing on branch {play.branch!r}", 100))
        try:
            moves = run(play, sys.stdin, sys.stdout)
        finally:
            play.close()
        where = f"on branch {play.branch!r}" if moves else "(nothing changed)"
        print(f"{moves} move{'s' if moves != 1 else ''} {where}; the project is saved")
    finally:
        project.close()
    return 0
