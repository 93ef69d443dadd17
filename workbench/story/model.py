"""Plain value types shared across layers (no storage, no UI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..seeding import stable_int

# The character fields the workbench knows. Everything else a card carries is kept
# verbatim in ``card_extra`` (card ``data`` fields) or ``extensions`` (other tools' keys).
CHARACTER_FIELDS: dict[str, Any] = {
    "description": "",  # who they are (card: description)
    "personality": "",  # traits (card: personality)
    "appearance": "",  # fixed appearance prompt for images
    "speech_style": "",  # how they talk (card: mes_example-ish; ours)
    "scenario": "",  # card: scenario
    "first_message": "",  # card: first_mes
    "alternate_greetings": [],  # card: alternate_greetings
    "voice": {},  # {"speed": 1.0, "variation": 0.667, "pitch": 0.0 (semitones), "model": "default"}
    "portrait": None,  # sha256 of the portrait asset, or None
    "image_seed": None,  # int: the per-character seed for images (derived from id when None)
    "palette": None,  # "#rrggbb" colour used by sketches and the branch map (derived when None)
    "tags": [],
    "creator_notes": "",
    "card_extra": {},  # card data fields we don't model, kept verbatim
    "extensions": {},  # other tools' extension keys, kept verbatim
}


def default_palette(character_id: str) -> str:
    """A pleasant, stable colour for a character (HSL hue from the id)."""
    import colorsys

    hue = stable_int("palette", character_id) % 360 / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.55)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


@dataclass(frozen=True)
class Asset:
    """A media blob (image, audio) stored content-addressed in the project.

    Sessions return assets (``Session.portrait``, ``.storyboard``, ``.voice_line``); a
    notebook shows one as a picture or an audio player.

    >>> import hashlib
    >>> data = b"RIFF...."
    >>> asset = Asset(hashlib.sha256(data).hexdigest(), "audio/wav", data, {"seed": 7}, "voice")
    >>> asset.mime, asset.kind, asset.provenance["seed"]
    ('audio/wav', 'voice', 7)
    """

    sha256: str
    mime: str
    data: bytes = field(repr=False)
    provenance: dict[str, Any] = field(default_factory=dict)
    kind: str = ""  # "portrait", "frame", "voice", "table_read", ...

    def _repr_mimebundle_(self, include=None, exclude=None):  # noqa: ANN001 - IPython protocol
        import base64

        if self.mime.startswith("image/"):
            return {self.mime: base64.b64encode(self.data).decode()}
        if self.mime.startswith("audio/"):
            b64 = base64.b64encode(self.data).decode()
            return {"text/html": f'<audio controls src="data:{self.mime};base64,{b64}"></audio>'}
        return {"text/plain": repr(self)}
