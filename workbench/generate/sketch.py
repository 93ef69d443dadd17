"""The offline default image backend: storyboard sketches drawn with Pillow.

Frames show the shot's framing, the characters in frame as labelled simple
figures in their palette colours, the location, a time-of-day tint and a caption
strip; every image carries a visible ``SKETCH`` mark, so nobody mistakes it for a
generated picture. Portraits are character cards drawn from the character's
fields. The same input gives the same PNG bytes (no timestamps, no metadata).
"""

from __future__ import annotations

import functools
import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..seeding import stable_int
from .base import Media
from .shots import Shot, character_palette, character_seed

__all__ = ["SketchGenerator", "factory", "SKETCH_VERSION"]

SKETCH_VERSION = "sketch-1"

_TINTS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    # time of day -> (sky, ground, ink)
    "day": ((206, 226, 242), (222, 212, 190), (30, 30, 34)),
    "morning": ((222, 234, 240), (226, 216, 192), (30, 30, 34)),
    "dawn": ((246, 212, 196), (196, 180, 170), (30, 30, 34)),
    "dusk": ((238, 178, 132), (150, 118, 108), (30, 24, 24)),
    "evening": ((214, 160, 140), (132, 112, 112), (26, 22, 24)),
    "sunset": ((242, 170, 120), (150, 116, 100), (30, 24, 24)),
    "night": ((32, 40, 72), (52, 54, 74), (236, 236, 244)),
    "": ((228, 228, 228), (206, 206, 206), (30, 30, 34)),
}
_SKY_WORDS = {
    "noon": "day",
    "afternoon": "day",
    "midday": "day",
    "later": "",
    "continuous": "",
    "midnight": "night",
}


def _tint(time_of_day: str | None) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    key = (time_of_day or "").strip().lower()
    for word in key.replace("-", " ").split():
        word = _SKY_WORDS.get(word, word)
        if word in _TINTS:
            return _TINTS[word]
    return _TINTS[""]


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int, max_lines: int) -> list[str]:
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    cur = ""
    for word in words:
        trial = f"{cur} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
        if len(lines) == max_lines:
            break
    if cur and len(lines) < max_lines:
        lines.append(cur)
    if len(lines) == max_lines and " ".join(lines) != " ".join(words):
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return [ln for ln in lines if ln]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _stamp(draw: ImageDraw.ImageDraw, right: int, top: int, size: int = 13) -> None:
    """The visible SKETCH mark."""
    font = _font(size)
    label = "SKETCH"
    w = int(draw.textlength(label, font=font))
    box = (right - w - 12, top, right, top + size + 8)
    draw.rectangle(box, fill=(255, 255, 255), outline=(200, 30, 30), width=2)
    draw.text((box[0] + 6, top + 3), label, fill=(200, 30, 30), font=font)


def _figure(
    draw: ImageDraw.ImageDraw,
    cx: float,
    base: float,
    height: float,
    colour: tuple[int, int, int],
    ink: tuple[int, int, int],
    pose: int,
    head_only: bool = False,
) -> tuple[float, float]:
    """A simple figure standing on ``base`` (head + body + arms); returns the head's (centre y, radius)."""
    r = height * (0.42 if head_only else 0.12)
    head_y = base - height + r
    skin = (238, 214, 190)
    outline = _mix(colour, (0, 0, 0), 0.35)
    if head_only:
        # shoulders filling the bottom of the frame
        draw.ellipse(
            (cx - r * 1.9, head_y + r * 0.9, cx + r * 1.9, head_y + r * 3.6),
            fill=colour,
            outline=outline,
            width=3,
        )
    else:
        top = head_y + r * 0.9
        bottom = base - height * 0.28
        draw.rounded_rectangle(
            (cx - r * 1.1, top, cx + r * 1.1, bottom),
            radius=int(r * 0.6),
            fill=colour,
            outline=outline,
            width=2,
        )
        # legs
        lw = max(2, int(r * 0.35))
        draw.line((cx - r * 0.5, bottom, cx - r * 0.7, base), fill=outline, width=lw)
        draw.line((cx + r * 0.5, bottom, cx + r * 0.7, base), fill=outline, width=lw)
        # arms: the pose varies with the seed
        lift = (pose % 3 - 1) * r * 0.8
        draw.line((cx - r * 1.1, top + r * 0.4, cx - r * 1.9, top + r * 1.8 - lift), fill=outline, width=lw)
        draw.line((cx + r * 1.1, top + r * 0.4, cx + r * 1.9, top + r * 1.8 + lift), fill=outline, width=lw)
    draw.ellipse(
        (cx - r, head_y - r, cx + r, head_y + r), fill=skin, outline=outline, width=max(2, int(r * 0.08))
    )
    # hair band in the palette colour
    draw.chord((cx - r, head_y - r, cx + r, head_y + r), 180, 360, fill=_mix(colour, (0, 0, 0), 0.2))
    # eyes
    er = max(1.5, r * 0.09)
    for dx in (-0.35, 0.35):
        ex, ey = cx + dx * r, head_y + r * 0.15
        draw.ellipse((ex - er, ey - er, ex + er, ey + er), fill=ink if sum(ink) < 300 else (30, 30, 34))
    return head_y, r


class SketchGenerator:
    """Storyboard frames and portrait cards drawn offline (Pillow)."""

    def __init__(self, spec: str = "sketch", width: int = 512, height: int = 288) -> None:
        self.spec = spec
        self.width = int(width)
        self.height = int(height)

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {"backend": "sketch", "model": SKETCH_VERSION, "size": [self.width, self.height]}

    # --- storyboard frames ---------------------------------------------------------
    def frame(self, shot: Shot, seed: int = 0) -> Media:
        """Draw one storyboard frame for ``shot``."""
        W, H = self.width, self.height
        sky, ground, ink = _tint(shot.time_of_day)
        img = Image.new("RGB", (W, H), sky)
        draw = ImageDraw.Draw(img)
        bar, strip = 24, 56
        top, bottom = bar, H - strip
        horizon = top + int((bottom - top) * (0.62 if shot.framing == "wide" else 0.72))
        draw.rectangle((0, horizon, W, bottom), fill=ground)
        if shot.framing == "wide":  # a little set dressing: a doorway/window block on the horizon
            x0 = 24 + stable_int("set", shot.location or "", seed) % max(1, W // 3)
            draw.rectangle((x0, horizon - 70, x0 + 46, horizon), outline=_mix(ground, ink, 0.35), width=2)
        # figures
        people = list(shot.characters)
        if shot.framing == "close-up":
            people = people[:1]
        n = len(people)
        for k, (name, pal) in enumerate(people):
            colour = _rgb(pal)
            cx = W * (k + 1) / (n + 1)
            pose = stable_int("pose", seed, shot.index, name)
            if shot.framing == "wide":
                head_y, r = _figure(draw, cx, horizon + 12, (bottom - top) * 0.55, colour, ink, pose)
            elif shot.framing == "medium":
                head_y, r = _figure(
                    draw, cx, bottom + (bottom - top) * 0.55, (bottom - top) * 1.35, colour, ink, pose
                )
            else:
                r0 = (bottom - top) * 0.34
                hy = top + (bottom - top) * 0.52
                head_y, r = _figure(draw, cx, hy - r0 + r0 / 0.42, r0 / 0.42, colour, ink, pose, True)
            font = _font(14 if shot.framing != "close-up" else 18)
            label = name
            tw = draw.textlength(label, font=font)
            ly = max(top + 4, head_y - r - 24)
            lx = min(max(4, cx - tw / 2 - 5), W - tw - 14)
            draw.rounded_rectangle((lx, ly, lx + tw + 10, ly + 20), radius=5, fill=colour)
            text_ink = (255, 255, 255) if sum(colour) < 420 else (20, 20, 20)
            draw.text((lx + 5, ly + 2), label, fill=text_ink, font=font)
            if shot.speaker and name == shot.speaker:  # a speech mark beside the speaker's head
                bx = min(cx + r + 8, W - 40)
                by = max(top + 4, head_y - r)
                draw.ellipse((bx, by, bx + 34, by + 22), fill=(255, 255, 255), outline=(40, 40, 40), width=2)
                draw.polygon([(bx + 6, by + 18), (bx - 4, by + 28), (bx + 14, by + 20)], fill=(255, 255, 255))
                draw.text((bx + 9, by + 1), "…", fill=(40, 40, 40), font=_font(16))
        # top bar: shot number, framing, location, time of day
        draw.rectangle((0, 0, W, bar), fill=(24, 24, 28))
        place = " · ".join(p for p in [(shot.location or "").upper(), (shot.time_of_day or "").upper()] if p)
        head = f"#{shot.index + 1}  {shot.framing.upper()}" + (f"  -  {place}" if place else "")
        draw.text((8, 5), head, fill=(240, 240, 240), font=_font(13))
        _stamp(draw, W - 4, bar + 4)
        # caption strip
        draw.rectangle((0, bottom, W, H), fill=(252, 252, 250))
        draw.line((0, bottom, W, bottom), fill=(60, 60, 60), width=2)
        font = _font(14)
        for i, line in enumerate(_wrap(draw, shot.caption, font, W - 16, 2)):
            draw.text((8, bottom + 6 + i * 22), line, fill=(20, 20, 20), font=font)
        draw.rectangle((0, 0, W - 1, H - 1), outline=(60, 60, 60), width=1)
        return Media(
            _png(img),
            "image/png",
            {
                "backend": "sketch",
                "model": SKETCH_VERSION,
                "prompt": shot.prompt,
                "seed": seed,
                "parameters": {
                    "width": W,
                    "height": H,
                    "index": shot.index,
                    "framing": shot.framing,
                    "characters": [n for n, _ in shot.characters],
                    "location": shot.location,
                    "time_of_day": shot.time_of_day,
                    "caption": shot.caption,
                },
            },
        )

    def frames(self, shots: list[Shot], seed: int = 0, **_: Any) -> list[Media]:
        """One frame per shot; extra options of other backends (references, characters) are ignored."""
        return [self.frame(s, seed) for s in shots]

    # --- portraits -------------------------------------------------------------------
    def portrait(self, character: Any, seed: int | None = None) -> Media:
        """A portrait card: name, a figure in the character's palette, appearance text."""
        W, H = 320, 448
        name = str(getattr(character, "name", "") or "Unnamed")
        pal = character_palette(character)
        colour = _rgb(pal)
        seed = character_seed(character) if seed is None else int(seed)
        appearance = str(getattr(character, "appearance", "") or getattr(character, "description", "") or "")
        img = Image.new("RGB", (W, H), _mix(colour, (255, 255, 255), 0.82))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, W, 52), fill=colour)
        text_ink = (255, 255, 255) if sum(colour) < 420 else (20, 20, 20)
        font = _font(24)
        title = _wrap(draw, name, font, W - 24, 1)
        draw.text((12, 12), title[0] if title else name, fill=text_ink, font=font)
        # figure (head and shoulders), features varied by the seed
        cx = W / 2
        draw.ellipse((28, 64, W - 28, 258), fill=_mix(colour, (255, 255, 255), 0.6))
        head_y, r = _figure(
            draw, cx, 150 - 70 + 70 / 0.42, 70 / 0.42, colour, (30, 30, 34), seed, head_only=True
        )
        hair = seed % 3
        dark = _mix(colour, (0, 0, 0), 0.45)
        if hair == 1:  # long hair
            draw.rectangle((cx - r, head_y - r * 0.2, cx - r * 0.8, head_y + r * 1.1), fill=dark)
            draw.rectangle((cx + r * 0.8, head_y - r * 0.2, cx + r, head_y + r * 1.1), fill=dark)
        elif hair == 2:  # hat brim
            draw.rectangle((cx - r * 1.3, head_y - r * 0.55, cx + r * 1.3, head_y - r * 0.4), fill=dark)
        mouth = (seed >> 3) % 3
        mw = r * 0.35
        my = head_y + r * 0.5
        if mouth == 0:
            draw.arc((cx - mw, my - mw * 0.6, cx + mw, my + mw * 0.6), 20, 160, fill=(90, 40, 40), width=3)
        elif mouth == 1:
            draw.line((cx - mw, my, cx + mw, my), fill=(90, 40, 40), width=3)
        else:
            draw.ellipse(
                (cx - mw * 0.4, my - mw * 0.3, cx + mw * 0.4, my + mw * 0.3), outline=(90, 40, 40), width=3
            )
        # text panel
        draw.rectangle((0, 276, W, H), fill=(252, 252, 250))
        draw.line((0, 276, W, 276), fill=colour, width=3)
        small = _font(14)
        y = 286
        personality = str(getattr(character, "personality", "") or "")
        for label, text, lines in (("Look", appearance, 5), ("Manner", personality, 2)):
            if not text.strip():
                continue
            draw.text((12, y), label.upper(), fill=_mix(colour, (0, 0, 0), 0.3), font=_font(11))
            y += 16
            for line in _wrap(draw, text, small, W - 24, lines):
                draw.text((12, y), line, fill=(25, 25, 25), font=small)
                y += 19
            y += 6
        draw.text((12, H - 22), pal, fill=(120, 120, 120), font=_font(11))
        _stamp(draw, W - 8, 60)
        draw.rectangle((0, 0, W - 1, H - 1), outline=(60, 60, 60), width=1)
        return Media(
            _png(img),
            "image/png",
            {
                "backend": "sketch",
                "model": SKETCH_VERSION,
                "prompt": appearance,
                "seed": seed,
                "parameters": {"width": W, "height": H, "name": name, "palette": pal},
            },
        )


def factory(spec: Any) -> SketchGenerator:
    """Entry point ``image.sketch``: the offline sketch renderer."""
    return SketchGenerator(str(spec) if spec is not None else "sketch")
