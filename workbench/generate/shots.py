"""Storyboard shots: which moments of a scene to draw, and how to describe them.

A scene's parsed text (:func:`workbench.story.screenplay.parse_scene`) becomes a
short list of :class:`Shot` values: an establishing wide shot on the heading,
then medium shots and close-ups on dialogue beats. The choice is deterministic:
the same text and cast give the same shots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..seeding import stable_int
from ..story.model import default_palette
from ..story.screenplay import ParsedScene, match_cast_name

__all__ = [
    "FRAMINGS",
    "Shot",
    "shots_from_scene",
    "shot_prompt",
    "character_palette",
    "character_seed",
    "appearance_prompt",
]

FRAMINGS = ("wide", "medium", "close-up")
MAX_FRAMES = 64
_CAPTION_LIMIT = 160


@dataclass(frozen=True)
class Shot:
    """One storyboard frame to draw."""

    index: int
    framing: str  # "wide" | "medium" | "close-up"
    characters: tuple[tuple[str, str], ...] = ()  # (name, palette "#rrggbb") of those in frame
    speaker: str | None = None
    location: str | None = None
    time_of_day: str | None = None
    caption: str = ""
    prompt: str = ""  # text-to-image prompt (filled by shots_from_scene)
    seeds: tuple[int, ...] = field(default=())  # per-character image seeds of those in frame

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.characters]


def character_palette(character: Any) -> str:
    """The character's palette colour, or a stable one derived from its id or name."""
    pal = getattr(character, "palette", None)
    if isinstance(pal, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", pal):
        return pal.lower()
    return default_palette(str(getattr(character, "id", None) or getattr(character, "name", "")))


def character_seed(character: Any) -> int:
    """The per-character image seed: ``image_seed`` when set, else derived from the id."""
    seed = getattr(character, "image_seed", None)
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    return stable_int(str(getattr(character, "id", None) or getattr(character, "name", "")))


def appearance_prompt(character: Any) -> str:
    """The fixed appearance prompt of a character (falls back to its description)."""
    name = str(getattr(character, "name", "") or "someone")
    look = (getattr(character, "appearance", "") or getattr(character, "description", "") or "").strip()
    look = " ".join(look.split())
    return f"{name}, {look}" if look else name


def _by_name(characters: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in characters:
        name = getattr(c, "name", None)
        if name:
            out.setdefault(str(name), c)
    return out


def _clip(text: str, limit: int = _CAPTION_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mentioned(text: str, names: Sequence[str]) -> list[str]:
    found: list[tuple[int, str]] = []
    low = text.casefold()
    for name in names:
        best = -1
        for token in [name, *name.split()]:
            if len(token) < 2:
                continue
            m = re.search(r"\b" + re.escape(token.casefold()) + r"\b", low)
            if m and (best < 0 or m.start() < best):
                best = m.start()
        if best >= 0:
            found.append((best, name))
    return [n for _, n in sorted(found)]


@dataclass(frozen=True)
class _Beat:
    kind: str  # "dialogue" | "action"
    text: str
    speaker: str | None = None
    parenthetical: str | None = None
    present: tuple[str, ...] = ()


def _beats(parsed: ParsedScene, names: list[str]) -> list[_Beat]:
    beats: list[_Beat] = []
    if parsed.screenplay:
        paren: str | None = None
        for el in parsed.elements:
            if el.kind == "action":
                beats.append(_Beat("action", el.text, present=tuple(_mentioned(el.text, names))))
            elif el.kind == "character":
                paren = None
            elif el.kind == "parenthetical":
                paren = el.text
            elif el.kind == "dialogue":
                who = match_cast_name(el.character or "", names) or el.character
                beats.append(_Beat("dialogue", el.text, who, paren))
                paren = None
    else:
        for line in parsed.lines:
            who = match_cast_name(line.character or "", names) if line.character else None
            beats.append(_Beat("dialogue", line.text, who or line.character))
        if not beats:
            for text in parsed.action:
                beats.append(_Beat("action", text, present=tuple(_mentioned(text, names))))
    return beats


def _pick(n_items: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n_items)`` (deterministic)."""
    if k <= 0 or n_items <= 0:
        return []
    if k >= n_items:
        return list(range(n_items))
    if k == 1:
        return [n_items // 2]
    return sorted({round(i * (n_items - 1) / (k - 1)) for i in range(k)})


def shots_from_scene(parsed: ParsedScene, characters: Iterable[Any] = (), frames: int = 3) -> list[Shot]:
    """Pick ``frames`` shots through a parsed scene: an establishing wide shot, then dialogue beats."""
    if frames < 1:
        return []
    frames = min(int(frames), MAX_FRAMES)
    cast = _by_name(characters)
    names = list(cast)
    beats = _beats(parsed, names)

    # everyone in the scene: speakers and cast named in the action, in order of appearance
    present: list[str] = []
    for b in beats:
        for who in ([b.speaker] if b.speaker else []) + list(b.present):
            if who and who not in present:
                present.append(who)

    def entry(name: str) -> tuple[str, str]:
        c = cast.get(name)
        return (name, character_palette(c) if c is not None else default_palette(name))

    def seeds(names_in: Sequence[str]) -> tuple[int, ...]:
        return tuple(character_seed(cast[n]) if n in cast else stable_int(n) for n in names_in)

    location, tod = parsed.location, parsed.time_of_day
    first_action = next((b.text for b in beats if b.kind == "action"), "")
    est_caption = _clip(first_action or parsed.heading or (beats[0].text if beats else ""))
    est_names = present[:6]
    shots = [
        Shot(
            0,
            "wide",
            tuple(entry(n) for n in est_names),
            None,
            location,
            tod,
            est_caption,
            "",
            seeds(est_names),
        )
    ]

    dialogue = [b for b in beats if b.kind == "dialogue"]
    pool = dialogue or [b for b in beats if b.kind == "action" and b.text != first_action]
    chosen = [pool[i] for i in _pick(len(pool), frames - 1)]
    prev_speaker: str | None = None
    for i, beat in enumerate(chosen, start=1):
        if beat.kind == "dialogue":
            emphatic = bool(beat.parenthetical) or beat.text.rstrip().endswith(("!", "?", "…", "..."))
            framing = "close-up" if emphatic or (i % 2 == 0) else "medium"
            in_frame = [beat.speaker] if beat.speaker else []
            if framing == "medium":
                other = next((p for p in present if p != beat.speaker and p == prev_speaker), None)
                other = other or next((p for p in present if p != beat.speaker), None)
                if other:
                    in_frame.append(other)
            who = beat.speaker or "Someone"
            caption = _clip(f"{who.upper()}: {beat.text}")
            prev_speaker = beat.speaker or prev_speaker
        else:
            in_frame = list(beat.present) or present[:2]
            framing = "medium" if in_frame else "wide"
            caption = _clip(beat.text)
        in_frame = [n for n in in_frame if n][:4]
        shots.append(
            Shot(
                i,
                framing,
                tuple(entry(n) for n in in_frame),
                beat.speaker if beat.kind == "dialogue" else None,
                location,
                tod,
                caption,
                "",
                seeds(in_frame),
            )
        )
    return [
        Shot(s.index, s.framing, s.characters, s.speaker, s.location, s.time_of_day, s.caption,
             shot_prompt(s, cast.values()), s.seeds)
        for s in shots
    ]  # fmt: skip


_FRAMING_WORDS = {
    "wide": "wide establishing shot",
    "medium": "medium shot",
    "close-up": "close-up portrait shot",
}


def shot_prompt(shot: Shot, characters: Iterable[Any] = (), style: str = "cinematic storyboard frame") -> str:
    """A text-to-image prompt for ``shot``: framing, location, time of day and fixed appearance prompts."""
    cast = _by_name(characters)
    parts = [style, _FRAMING_WORDS.get(shot.framing, shot.framing)]
    where = (shot.location or "").strip().lower()
    if where:
        parts.append(f"in {where}")
    if shot.time_of_day:
        parts.append(shot.time_of_day.strip().lower())
    for name in shot.names:
        c = cast.get(name)
        parts.append(appearance_prompt(c) if c is not None else name)
    if not shot.names and shot.framing == "wide":
        parts.append("no people")
    return ", ".join(p for p in parts if p)
