r"""Blind A/B comparison without a UI: two takes of a scene in random order, then the pick.

>>> import random, tempfile, pathlib
>>> from workbench import build_sample
>>> project = build_sample(pathlib.Path(tempfile.mkdtemp()) / "sample.story")
>>> scene = project.scene("The Lamp Goes Dark")
>>> _ = scene.add_take("MARA\nThe lamp is out.", source="writer")
>>> pair = ab_pair(project, scene, random.Random(0))
>>> len(pair.texts)
2
>>> winner = pair.record("b")                       # B was better; logged as an "ab" event
>>> [event.kind for event in project.feedback()][-1]
'ab'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..story.project import HUMAN_RATER, Project, Scene, Take

__all__ = ["ABPair", "ab_pair"]


@dataclass(frozen=True)
class ABPair:
    """Two takes shown as "A" and "B" with nothing that tells where each came from."""

    project: Project
    a: Take
    b: Take

    @property
    def texts(self) -> tuple[str, str]:
        """What the writer sees: the two texts, in display order."""
        return self.a.text, self.b.text

    def record(self, pick: str | Take, rater: str | None = None) -> Take:
        """Log the pick (``"a"``, ``"b"`` or one of the two takes) as the winner over the other."""
        if isinstance(pick, Take):
            if pick not in (self.a, self.b):
                raise InvalidInput("the pick must be one of the two takes shown")
            winner = pick
        elif isinstance(pick, str) and pick.strip().lower() in ("a", "b"):
            winner = self.a if pick.strip().lower() == "a" else self.b
        else:
            raise InvalidInput(f"pick 'a' or 'b', not {pick!r}")
        loser = self.b if winner == self.a else self.a
        self.project.record_ab(winner, loser, rater or HUMAN_RATER)
        return winner


def ab_pair(
    project: Project,
    scene: Scene | str,
    rng: random.Random | int | None = None,
    takes: tuple[Take, Take] | None = None,
) -> ABPair:
    """Two different takes of ``scene`` (or the two given) in random order.

    Without ``takes``, two takes with different texts are drawn at random from the scene.
    """
    scene = project.scene(scene)
    r: Any = rng if isinstance(rng, random.Random) else random.Random(rng)
    if takes is None:
        distinct: dict[str, Take] = {}
        for take in scene.takes:
            distinct.setdefault(take.text, take)
        if len(distinct) < 2:
            raise InvalidInput(f"{scene.title!r} needs two different takes for an A/B comparison")
        pool = list(distinct.values())
        first, second = r.sample(pool, 2)
    else:
        first, second = takes
        if first.scene != scene or second.scene != scene or first == second:
            raise InvalidInput("an A/B comparison shows two different takes of the same scene")
        if r.random() < 0.5:
            first, second = second, first
    return ABPair(project, first, second)
