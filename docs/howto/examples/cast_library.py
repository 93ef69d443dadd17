"""Sharing a cast library in git: the Python side (the shell side is ``cast_library.sh``).

The cast library is a folder of Character Card V3 JSON files, one per character
(``$WORKBENCH_HOME/cast`` unless you name another folder). Every save writes the whole file
atomically, so git sees complete files, and other tools read the cards as they are.
"""

from __future__ import annotations

from pathlib import Path

import workbench


def author_creates() -> workbench.CastLibrary:
    # --8<-- [start:create]
    cast = workbench.open_cast()  # $WORKBENCH_HOME/cast
    cast.add(
        "Mara Quell",
        description="The last keeper of Skerry Point light.",
        personality="Stubborn, dry, kind when nobody is looking.",
        appearance="woman in her fifties, oilskin coat, grey braid",
        speech_style="Short sentences. Never says goodbye.",
    )
    cast.add("Tomas Reyes", description="A stranger who arrives on the supply boat.")
    print(sorted(p.name for p in cast.path.glob("*.json")))
    # --8<-- [end:create]
    return cast


def teammate_uses(project_file: Path) -> workbench.Project:
    # --8<-- [start:use]
    cast = workbench.open_cast()  # the clone, in the teammate's own $WORKBENCH_HOME/cast
    project = workbench.open_project(project_file)
    mara = project.cast.use(cast["Mara Quell"])  # a pinned snapshot: the project stays reproducible
    print(mara.name, mara.library_version)
    # --8<-- [end:use]
    return project


def author_updates() -> None:
    # --8<-- [start:update]
    cast = workbench.open_cast()
    cast.update("Mara Quell", speech_style="Short sentences. Calls everyone 'keeper'.")  # version 2
    # --8<-- [end:update]


def teammate_refreshes(project: workbench.Project) -> list[tuple[str, int]]:
    # --8<-- [start:refresh]
    cast = workbench.open_cast()
    newer = [(character.name, version) for character, version in project.cast.outdated(cast)]
    print(newer)  # [('Mara Quell', 2)]
    for name, _ in newer:
        project.cast.pull(name, cast)  # one undoable step; the project now pins version 2
    # --8<-- [end:refresh]
    return newer
