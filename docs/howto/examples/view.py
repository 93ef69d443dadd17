"""A view plug-in: a "Takes" tab that lists, per scene of the main branch, how many takes it has.

A view is a function ``factory(session)`` returning anything Panel can show. It reads the story
through the session (views hold no story state of their own) and re-renders when the project
changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

# --8<-- [start:view]
import panel as pn

import workbench


def takes_table(session: Any, branch: str = "main") -> str:
    """The table as Markdown: one row per scene of ``branch``."""
    rows = ["| Scene | Takes | Rating of the chosen take |", "|---|---|---|"]
    for scene in session.project.branches[branch].scenes:
        chosen = scene.chosen
        rating = chosen.rating if chosen is not None and chosen.rating is not None else "–"
        rows.append(f"| {scene.title} | {len(scene.takes)} | {rating} |")
    return "\n".join(rows)


def takes_view(session: Any) -> Any:
    """The factory: called once per ``Workbench``, with its session."""
    pane = pn.pane.Markdown(takes_table(session), sizing_mode="stretch_width")

    def refresh(*_: Any) -> None:
        pane.object = takes_table(session)

    session.project.on_change(refresh)  # every change to the story, from any view or the CLI
    return pane


# --8<-- [end:view]


def main(folder: Path) -> Any:
    # --8<-- [start:use]
    workbench.register_view("Takes", takes_view)  # or install a package with the entry point

    project = workbench.build_sample(folder / "sample.story", overwrite=True)
    app = workbench.Workbench(workbench.Session(project))
    print(app.tab_names)
    # --8<-- [end:use]
    return app


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
