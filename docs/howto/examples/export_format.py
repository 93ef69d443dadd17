"""An interchange format plug-in: a story as a spreadsheet of scenes (``.scenes.csv``), both ways.

One row per choice-free scene line: ``title``, ``text`` (the chosen take), ``choices`` (``label ->
target`` pairs separated by `` | ``). The exporter writes the file; the importer adds the scenes
to a project (``import_file`` runs it inside one transaction, so a bad file changes nothing).
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import workbench
from workbench.errors import FormatError
from workbench.files import atomic_write_text
from workbench.interop.registry import (
    Format,
    ImportResult,
    export_project,
    import_file,
    read_limited,
    register_format,
)

# --8<-- [start:format]
COLUMNS = ["title", "text", "choices"]


def export_scenes_csv(project: Any, out_path: Path, **options: Any) -> list[Path]:
    """Write every scene of ``project`` to ``out_path``; return the files written."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for scene in project.scenes:
        choices = " | ".join(f"{choice.label} -> {target.title}" for choice, target in scene.children)
        writer.writerow({"title": scene.title, "text": scene.text, "choices": choices})
    atomic_write_text(out_path, buffer.getvalue())  # a crash never leaves half a file
    return [Path(out_path)]


def import_scenes_csv(path: Path, project: Any, max_bytes: int = 1_000_000, **options: Any) -> ImportResult:
    """Add the scenes and choices of a ``.scenes.csv`` file to ``project`` (the first row is the start)."""
    name = Path(path).name
    text = read_limited(path, max_bytes).decode("utf-8")  # refuses a file over the limit before reading
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(rows[0]) != set(COLUMNS):
        raise FormatError(f"{name}: expected the columns {', '.join(COLUMNS)}")
    links: dict[str, list[tuple[str, str]]] = {}
    texts: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        if not row["title"].strip():
            raise FormatError(f"{name}: line {line}: a scene needs a title")
        texts[row["title"]] = row["text"]
        pairs = filter(None, (p.strip() for p in row["choices"].split(" | ")))
        links[row["title"]] = [tuple(p.rsplit(" -> ", 1)) for p in pairs]  # (label, target)
    result = ImportResult(format="scenes-csv")
    first = rows[0]["title"]
    made = {first: project.add_scene(first, text=texts[first])}
    queue = [first]
    while queue:  # scenes in story order, each linked from the scene that leads to it first
        title = queue.pop(0)
        for label, target in links[title]:
            if target not in texts:
                raise FormatError(f"{name}: {title!r} leads to {target!r}, which is not in the file")
            if target in made:
                project.connect(made[title], made[target], label)  # a merge or a loop
            else:
                made[target] = project.add_scene(target, text=texts[target], after=made[title], choice=label)
                queue.append(target)
    unreachable = [t for t in texts if t not in made]
    if unreachable:
        raise FormatError(f"{name}: no choice leads to {', '.join(map(repr, unreachable))}")
    result.scenes = list(made.values())
    return result


FORMAT = Format(
    name="scenes-csv",
    suffixes=(".scenes.csv",),
    export=export_scenes_csv,
    import_=import_scenes_csv,
    description="every scene as a spreadsheet row: title, text, choices",
)
# --8<-- [end:format]


def main(folder: Path) -> tuple[workbench.Project, Path]:
    # --8<-- [start:use]
    register_format(FORMAT, replace=True)  # or install a package with the entry point

    sample = workbench.build_sample(folder / "sample.story", overwrite=True)
    (written,) = export_project(sample, "scenes-csv", folder / "skerry.scenes.csv")

    copy = workbench.open_project(folder / "copy.story")
    result = import_file(written, copy)  # the format is found by the file's suffix
    print(result.summary())
    print([scene.title for scene in copy.scenes][:3])
    # --8<-- [end:use]
    return copy, written


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
