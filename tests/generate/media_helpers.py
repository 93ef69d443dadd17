"""Stand-ins for story characters and a sample scene, shared by the media tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Character:
    id: str
    name: str
    appearance: str = ""
    description: str = ""
    personality: str = ""
    palette: str | None = None
    image_seed: int | None = None
    voice: dict[str, Any] = field(default_factory=dict)


MARA = Character(
    "c-mara",
    "Mara Vale",
    appearance="tall woman, silver braid, long green coat",
    personality="wry, restless",
    palette="#2a6f4e",
    voice={"speed": 1.0, "variation": 0.0, "pitch": -4.0},
)
TOBIAS = Character(
    "c-tobias",
    "Tobias",
    appearance="short stocky man, round glasses, red scarf",
    voice={"speed": 1.1, "variation": 0.0, "pitch": 4.0},
)
CAST = [MARA, TOBIAS]

SCENE = """INT. LIGHTHOUSE KITCHEN - NIGHT

Rain hammers the window. Mara Vale studies a map. Tobias paces.

MARA
We leave at dawn.

TOBIAS
(nervous)
And if the tide turns?

MARA
Then we swim.

Tobias laughs despite himself.
"""
