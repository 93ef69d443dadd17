"""Export writers' feedback as TRL datasets, then fine-tune a LoRA adapter on it and write with it.

Every pick, rating and edit is an event in the project's feedback log. ``trl-sft`` exports the
takes writers accepted, ``trl-dpo`` the preference pairs (chosen over rejected), ``ratings`` the
stars; ``workbench.training.train`` runs TRL on them and saves a LoRA adapter, which is a model
spec (``BASE+ADAPTER``) like any other. Choices the report made by itself (rater ``auto``) are
never exported as a writer's preference.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import workbench
from workbench.interop.registry import export_project


def main(folder: Path, model: str = "default", steps: int = 10) -> tuple[list[Path], str]:
    # --8<-- [start:feedback]
    project = workbench.build_sample(folder / "sample.story", overwrite=True)
    session = workbench.Session(project, text=model)
    takes = session.write_scene("The Lamp Goes Dark", n=2, seed=11)
    takes[1].choose()  # preferred over takes[0]: a preference pair
    takes[1].rate(5)
    takes[0].rate(2)
    # --8<-- [end:feedback]

    # --8<-- [start:export]
    written = []
    for kind in ("trl-sft", "trl-dpo", "ratings"):
        written += export_project(project, kind, folder / f"{kind}.jsonl")
    first = json.loads((folder / "trl-dpo.jsonl").read_text().splitlines()[0])
    print(sorted(first))  # ['chosen', 'metadata', 'prompt', 'rejected']
    # --8<-- [end:export]

    # --8<-- [start:train]
    from workbench.training.train import train

    result = train(project, folder / "adapter", "dpo", steps=steps, model=model, progress=False)
    print(f"{result.steps} steps on {result.rows} pairs; use it as --model {result.spec!r}")
    tuned = workbench.Session(project, text=result.spec)  # BASE+ADAPTER: the base model with the adapter
    tuned.write_scene("The Lamp Goes Dark", n=1, seed=12)
    # --8<-- [end:train]
    project.close()
    return written, result.spec


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
