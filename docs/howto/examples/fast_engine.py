"""Takes on the llama.cpp engine: the same calls, another model spec.

Needs the engine (``make fast``, or the ``fast`` extra: pip builds llama-cpp-python once).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def main(folder: Path) -> dict[str, Any]:
    # --8<-- [start:engine]
    import workbench

    story = workbench.build_sample(folder / "skerry.story")
    session = workbench.Session(story, text="llamacpp:default")  # the default model, on llama.cpp
    first = session.write_scene("A Stranger on the Quay", n=2, seed=7)  # the story is evaluated once
    engine = session.text_generator
    evaluated = engine.stats["prefill_tokens"]
    again = session.write_scene("A Stranger on the Quay", n=2, seed=8)  # the story is kept: none again
    print(first[0].provenance["backend"], first[0].provenance["structure"], engine.stats)
    # --8<-- [end:engine]
    out = {
        "backend": first[0].provenance["backend"],
        "structure": [t.provenance["structure"] for t in first + again],
        "evaluated_first": evaluated,
        "evaluated_again": engine.stats["prefill_tokens"] - evaluated,
        "texts": [t.text for t in first + again],
    }
    story.close()
    return out


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
