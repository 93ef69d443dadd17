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


def pose_png(width: int = 64, height: int = 32, lean: int = 0) -> bytes:
    """A stick-figure pose skeleton (white on black, like an OpenPose map) as PNG bytes."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "black")
    d = ImageDraw.Draw(img)
    cx, top = width // 2 + lean, height // 8
    neck, hip = (cx, top + height // 5), (cx - lean, height * 3 // 5)
    d.ellipse((cx - 3, top - 3, cx + 3, top + 3), outline="white")
    d.line([neck, hip], fill=(255, 0, 0), width=2)
    d.line([(cx - width // 6, neck[1] + 4), neck, (cx + width // 6, neck[1] - 4)], fill=(0, 255, 0), width=2)
    d.line(
        [(hip[0] - width // 8, height - 2), hip, (hip[0] + width // 8, height - 2)], fill=(0, 0, 255), width=2
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
