"""Media the controller asks for: portraits, storyboards, voice lines, table reads.

Each function takes a generator (see :func:`load_image_generator` and
:func:`load_voice_generator`) and story objects (anything with a character's
attributes: ``id``, ``name``, ``appearance``, ``voice``, ``palette``, ...), and
returns :class:`~workbench.generate.base.Media` with provenance: backend, model,
prompt, seed and parameters.
"""

from __future__ import annotations

import inspect
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidInput, TooLarge
from ..story.screenplay import parse_scene
from .audio import join_wavs
from .base import ImageGenerator, Media, VoiceGenerator
from .images import check_decoded_size
from .shots import Shot, character_seed, shots_from_scene
from .spec import backend_factory, parse_spec

__all__ = [
    "make_portrait",
    "make_storyboard",
    "make_voice_line",
    "make_table_read",
    "load_image_generator",
    "load_voice_generator",
    "clear_generator_cache",
    "open_reference_image",
    "NARRATOR_VOICE",
    "MAX_IMAGE_BYTES",
]

NARRATOR_VOICE: dict[str, Any] = {"speed": 1.0, "variation": 0.5, "pitch": 0.0}
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_TABLE_READ_LINES = 500

_cache: dict[tuple[str, str], Any] = {}
_cache_lock = threading.Lock()


def _load(kind: str, spec_str: str | None) -> Any:
    spec = parse_spec(spec_str, kind)
    key = (kind, spec.raw)
    with _cache_lock:
        gen = _cache.get(key)
    if gen is None:
        gen = backend_factory(spec)(spec)
        with _cache_lock:
            gen = _cache.setdefault(key, gen)
    return gen


def load_image_generator(spec_str: str | None = "sketch") -> ImageGenerator:
    """The image generator for a model spec (``sketch``, a diffusers hub id or path, ...); cached per process."""
    return _load("image", spec_str)


def load_voice_generator(spec_str: str | None = "default") -> VoiceGenerator:
    """The voice generator for a model spec (``piper``, ``piper:/voice.onnx``, ``tts:/model``); cached per process."""
    return _load("voice", spec_str)


def clear_generator_cache() -> None:
    """Forget loaded generators (frees their models)."""
    with _cache_lock:
        _cache.clear()


def open_reference_image(data: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> Any:
    """Decode a reference image (e.g. a portrait) safely: size limit, decompression-bomb guard on, RGB out."""
    from PIL import Image

    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidInput("the reference image is empty")
    if len(data) > max_bytes:
        raise TooLarge(f"the reference image is {len(data)} bytes; the limit is {max_bytes}")
    check_decoded_size(bytes(data), "the reference image")  # before a pixel is decoded
    import io

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)))
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"the reference image has too many pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"the reference image could not be read: {exc}") from exc
    return img.convert("RGB")


def make_portrait(image_gen: ImageGenerator, character: Any, seed: int | None = None) -> Media:
    """A portrait of ``character``; the seed defaults to the character's own image seed."""
    if not getattr(character, "name", None):
        raise InvalidInput("a portrait needs a character with a name")
    media = image_gen.portrait(character, seed=character_seed(character) if seed is None else seed)
    media.provenance.setdefault("character", getattr(character, "name", None))
    return media


def make_storyboard(
    image_gen: ImageGenerator,
    scene_text: str,
    characters: Iterable[Any] = (),
    frames: int = 3,
    seed: int = 0,
    references: dict[str, bytes] | None = None,
    poses: dict[int, bytes] | None = None,
) -> list[Media]:
    """Storyboard frames for a scene's text: parse, pick shots, render.

    ``references`` maps character names to portrait image bytes for backends that
    use them (IP-Adapter); others ignore it. ``poses`` maps a shot index to a pose
    reference image (ControlNet); a backend that cannot use poses refuses them.
    """
    if not isinstance(frames, int) or frames < 1:
        raise InvalidInput(f"frames must be a positive whole number, got {frames!r}")
    if frames > 64:
        raise TooLarge(f"{frames} frames asked for; a storyboard has at most 64")
    cast = list(characters)
    parsed = parse_scene(scene_text or "", [str(getattr(c, "name", "")) for c in cast])
    shots: list[Shot] = shots_from_scene(parsed, cast, frames=frames)
    kwargs: dict[str, Any] = {}
    if references:
        kwargs["references"] = references
    if cast:
        kwargs["characters"] = cast
    accepted = _accepted(image_gen.frames, kwargs)
    if poses:
        if "poses" not in inspect.signature(image_gen.frames).parameters:  # named, not swallowed by **kwargs
            raise InvalidInput(
                f"the image backend {getattr(image_gen, 'spec', image_gen)!r} cannot use pose references; "
                "use a diffusers model with a ControlNet configured"
            )
        accepted["poses"] = poses
    return image_gen.frames(shots, seed=seed, **accepted)


def _accepted(fn: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``fn`` takes (plug-ins may implement only the plain protocol)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def _voice_of(character: Any) -> dict[str, Any]:
    voice = getattr(character, "voice", None)
    return dict(voice) if isinstance(voice, dict) else {}


def _generator_for(voice_gen: VoiceGenerator, voice: dict[str, Any]) -> VoiceGenerator:
    """A character whose voice names another model (``voice["model"]``) speaks with that model."""
    model = voice.get("model")
    if isinstance(model, str) and model.strip() and model.strip() not in ("default", voice_gen.spec):
        return load_voice_generator(model.strip())
    return voice_gen


def make_voice_line(voice_gen: VoiceGenerator, character: Any, text: str, seed: int = 0) -> Media:
    """``character`` speaks ``text`` with its voice settings (speed, variation, pitch)."""
    voice = _voice_of(character)
    gen = _generator_for(voice_gen, voice)
    media = gen.speak(text, voice, seed=seed)
    media.provenance.setdefault("character", getattr(character, "name", None))
    return media


def make_table_read(
    voice_gen: VoiceGenerator,
    lines: Sequence[tuple[Any | None, str]],
    narrator_voice: dict[str, Any] | None = None,
    pause_s: float = 0.35,
    seed: int = 0,
) -> Media:
    """Voice each line with its character's settings (unknown speakers: the narrator) and join them."""
    if not lines:
        raise InvalidInput("a table read needs at least one line")
    if len(lines) > MAX_TABLE_READ_LINES:
        raise TooLarge(f"{len(lines)} lines; a table read takes at most {MAX_TABLE_READ_LINES}")
    if not 0 <= pause_s <= 5:
        raise InvalidInput(f"pause_s must be between 0 and 5 seconds, got {pause_s!r}")
    narrator = dict(NARRATOR_VOICE if narrator_voice is None else narrator_voice)
    items: list[tuple[VoiceGenerator, str, dict[str, Any], str | None]] = []
    for character, text in lines:
        voice = _voice_of(character) if character is not None else narrator
        gen = _generator_for(voice_gen, voice)
        items.append((gen, text, voice, getattr(character, "name", None) if character is not None else None))
    clips: list[Media | None] = [None] * len(items)
    # lines for the same generator go together (Piper: one process per voice setting)
    by_gen: dict[int, list[int]] = {}
    for i, (gen, *_rest) in enumerate(items):
        by_gen.setdefault(id(gen), []).append(i)
    for idxs in by_gen.values():
        gen = items[idxs[0]][0]
        speak_many = getattr(gen, "speak_many", None)
        if callable(speak_many):
            got = speak_many([(items[i][1], items[i][2]) for i in idxs], seed=seed)
        else:
            got = [gen.speak(items[i][1], items[i][2], seed=seed) for i in idxs]
        for i, m in zip(idxs, got):
            clips[i] = m
    done = [m for m in clips if m is not None]
    data = join_wavs([m.data for m in done], pause_s=pause_s)
    first = done[0].provenance
    return Media(
        data,
        "audio/wav",
        {
            "backend": first.get("backend"),
            "model": first.get("model"),
            "prompt": "\n".join(
                f"{items[i][3] or 'NARRATOR'}: {m.provenance.get('prompt', '')}" for i, m in enumerate(done)
            ),
            "seed": seed,
            "parameters": {"pause_s": pause_s, "narrator_voice": narrator},
            "lines": [
                {
                    "character": items[i][3],
                    **{k: m.provenance.get(k) for k in ("backend", "model", "parameters")},
                }
                for i, m in enumerate(done)
            ],
        },
    )
