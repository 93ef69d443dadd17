"""What the writer's room does, from Python: the same calls the app's buttons and keys make.

Undo and redo per surface (a reader's play is not the writer's to undo), the history, the keys
of the Write tab, and a download of the story from the Story tab.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def main(folder: Path) -> dict[str, Any]:
    # --8<-- [start:undo]
    import workbench

    story = workbench.build_sample(folder / "skerry.story")
    story.rename(story.scene("The Sister's Ledger"), "Ines Keeps the Ledger")  # the writer's change
    with story.transaction("play: Mara swims out", surface="play"):  # a reader's move, meanwhile
        story.add_scene("Mara swims out", "Mara swims out.", after=story.start, choice="swim")

    undone = story.undo(surface="write")  # the writer's Undo passes over the reader's move
    history = [(h["label"], h["redo"]) for h in story.history(surface="write")]
    redone = story.redo(surface="write")  # and Redo brings the change back
    # --8<-- [end:undo]

    # --8<-- [start:views]
    from workbench.widgets import SceneEditor, StoryView

    session = workbench.Session(story)
    editor = SceneEditor(session)
    shortcuts = {k["combo"]: k["label"] for k in editor.keys.keys}  # what the "Keys" popover lists
    editor.keys.press("ctrl+z")  # Ctrl+Z outside a text box: undo the writer's last change

    files = StoryView(session)
    data, name = files.export_bytes("fountain")  # the Story tab's Download, as bytes
    # --8<-- [end:views]
    files.close()
    editor.close()
    return {
        "undone": undone,
        "history": history,
        "redone": redone,
        "shortcuts": shortcuts,
        "after_key": [s.title for s in story.scenes],
        "export": (name, data),
    }


def grid(folder: Path, text: str = "default") -> dict[str, Any]:
    """The Grid tab's calls: one scene's takes at two temperatures, two seeds each; pick and rate."""
    # --8<-- [start:grid]
    import workbench

    story = workbench.build_sample(folder / "grid.story")
    session = workbench.Session(story, text=text)
    grid = session.take_grid("The Lamp Goes Dark", temperatures=(0.6, 1.0), takes=2, seed=4, frames=1)
    for model, temperature in grid.rows:  # a row per model and temperature
        for cell in grid.row(model, temperature):  # a column per take of seed 4
            print(model, temperature, cell.seed, cell.take.text[:40], len(cell.frames))
    best = grid.cell(grid.models[0], 1.0, 1)
    session.choose(best.take)  # the Grid tab's Pick
    session.rate(best.take, 5)  # and its stars: feedback for training, as from the editor
    again = session.grid_of("The Lamp Goes Dark")  # the grid, rebuilt from the project
    # --8<-- [end:grid]
    out = {
        "cells": len(grid.cells),
        "rows": grid.rows,
        "chosen": story.scene("The Lamp Goes Dark").chosen.id == best.take.id,
        "rating": best.take.rating,
        "again": [c.take.id for c in again.cells] if again else [],
        "ids": [c.take.id for c in grid.cells],
    }
    story.close()
    return out


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        out = main(Path(tmp))
        print(out["undone"], out["redone"], sorted(out["shortcuts"]), out["export"][0])
