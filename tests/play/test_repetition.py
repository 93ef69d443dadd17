"""Repetition: a take that copies a recent scene is detected and resampled as the next attempt."""

from __future__ import annotations

from typing import Any

import pytest

from workbench.generate.base import TextRequest, TextResult
from workbench.generate.quality import overlap, repair_cast_names, too_similar, trim_loops
from workbench.session import Session

EARLIER = """EXT. HARBOUR QUAY - NIGHT

The ferry bumps the quay and leaves at once. One passenger stands in the rain: TOMAS REYES.

TOMAS
Evening, friend. I hear your light is out."""


@pytest.mark.parametrize(
    "candidate, copied",
    [
        (EARLIER, True),  # verbatim
        (
            EARLIER.replace("NIGHT", "DAWN").replace("Evening", "Morning"),
            True,
        ),  # a copy with two words changed
        ("The ferry bumps the quay and leaves at once. One passenger stands in the rain: TOMAS REYES.", True),
        (
            "INT. LIGHTHOUSE LAMP ROOM - DAWN\n\nMara oils the clockwork. The lens turns; the beam finds the sea.",
            False,
        ),
        (
            "EXT. HARBOUR QUAY - NIGHT\n\nInes counts the empty moorings and says nothing.",
            False,
        ),  # same place only
        ("", False),
    ],
)
def test_too_similar_on_hand_written_cases(candidate: str, copied: bool) -> None:
    assert too_similar(candidate, ["Mara lights a lantern.", EARLIER]) is copied


def test_overlap_and_loop_trimming() -> None:
    assert overlap(EARLIER, EARLIER) == 1.0
    looped = "MARA\nWhere is he?\n\nTOMAS\nHere.\nHere.\nHere.\nHere."
    assert trim_loops(looped) == "MARA\nWhere is he?\n\nTOMAS\nHere."
    text, fixes = repair_cast_names("MARRA\nNot tonight.", ["Mara Quell", "Tomas Reyes"])
    assert text.startswith("MARA\n") and fixes == [("MARRA", "MARA")]


class CopyThenWrite:
    """A text backend that copies the story's last scene on the first attempt and writes anew on the next."""

    spec = "copy-then-write"
    context_window = 4096

    def __init__(self, copy: str) -> None:
        self.copy = copy
        self.requests: list[TextRequest] = []

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "test", "model": self.spec}

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, request: TextRequest) -> list[TextResult]:
        self.requests.append(request)
        out = []
        for i in range(request.n):
            text = (
                self.copy
                if request.attempt == 0
                else (
                    f"INT. LIGHTHOUSE LAMP ROOM - DAWN\n\nMara winds the clockwork (take {i}). The beam returns."
                )
            )
            if request.on_token:
                request.on_token(i, text)
            out.append(
                TextResult(
                    text=text,
                    seed=request.seed,
                    take_index=request.take_offset + i,
                    attempt=request.attempt,
                    completion_tokens=len(text.split()),
                    finish_reason="stop",
                )
            )
        return out


def test_a_copied_take_is_resampled_as_the_next_attempt(sample) -> None:
    last = sample.scene("The Light Returns")
    session = Session(sample)
    backend = CopyThenWrite(last.text)
    session.text_generator = backend
    play = session.play(start=last, pregenerate=False, continuity=True)
    scene = play.move("Mara winds the clockwork")
    assert [r.attempt for r in backend.requests] == [0, 1]
    take = scene.takes[0]
    assert "The beam returns" in take.text and not too_similar(take.text, [last.text])
    assert take.provenance["attempt"] == 1 and take.provenance["resampled"] == [0]
