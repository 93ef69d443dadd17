"""A text backend plug-in: model specs ``phrasebook:NAME`` write takes from a phrase book.

It stands in for your own model or service: the parts the workbench relies on are the same
(a factory from a model spec, and a generator with ``spec``, ``fingerprint``, ``context_window``,
``count_tokens`` and ``generate``). Run it as a script to see two takes written with it.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import workbench
from workbench.generate import ModelSpec, TextRequest, TextResult, register_backend
from workbench.seeding import local_take_seed

# --8<-- [start:generator]
PHRASES = {
    "harbour": ["The tide turns against the quay.", "A gull cries over the empty boats."],
    "storm": ["Rain hammers the lamp-room glass.", "The wind finds every crack in the door."],
}


class PhrasebookGenerator:
    """A text generator: ``generate`` returns one :class:`TextResult` per take asked for."""

    def __init__(self, spec: ModelSpec) -> None:
        if spec.model not in PHRASES:
            raise workbench.ModelUnavailable(
                f"no phrase book called {spec.model!r}; try one of {', '.join(PHRASES)}"
            )
        self.spec = spec.raw  # the model spec string, as the writer typed it
        self.book = spec.model

    @property
    def fingerprint(self) -> dict[str, object]:
        """What makes two outputs comparable: it is part of every take's provenance and cache key."""
        return {"backend": "phrasebook", "model": self.book, "revision": 1}

    @property
    def context_window(self) -> int:
        return 4096  # tokens: the story-so-far budget is planned within it

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, request: TextRequest) -> list[TextResult]:
        results = []
        for i in range(request.n):
            index = request.take_offset + i
            # take i of seed s is the same whatever n is: derive each take's own seed
            seed = local_take_seed(request.seed, index, request.attempt)
            rng = random.Random(seed)
            started = time.perf_counter()
            words: list[str] = []
            for sentence in rng.sample(PHRASES[self.book], k=len(PHRASES[self.book])):
                for word in sentence.split():
                    if request.stop is not None and request.stop.is_set():
                        break
                    words.append(word)
                    if request.on_token is not None:
                        request.on_token(i, word + " ")  # stream: (take index in this request, new text)
            text = " ".join(words[: request.max_new_tokens])
            results.append(
                TextResult(
                    text=text,
                    seed=seed,
                    take_index=index,
                    attempt=request.attempt,
                    prompt_tokens=self.count_tokens(request.prefix + request.suffix),
                    completion_tokens=len(text.split()),
                    seconds=time.perf_counter() - started,
                    finish_reason="stop",
                    rendered_prompt=request.prefix + "\n\n" + request.suffix,
                )
            )
        return results


def factory(spec: ModelSpec) -> PhrasebookGenerator:
    """The entry point: called with the parsed model spec ``phrasebook:NAME``."""
    return PhrasebookGenerator(spec)


# --8<-- [end:generator]


def main(folder: Path) -> list[workbench.Take]:
    # --8<-- [start:use]
    register_backend("text", "phrasebook", factory)  # or install a package with the entry point

    project = workbench.build_sample(folder / "sample.story", overwrite=True)
    session = workbench.Session(project, text="phrasebook:storm")
    takes = session.write_scene("The Lamp Goes Dark", n=2, seed=7)
    for take in takes:
        print(take.provenance["backend"], take.provenance["take_seed"], take.text)
    # --8<-- [end:use]
    return takes


if __name__ == "__main__":
    main(Path(tempfile.mkdtemp()))
