"""Media benchmark: sketch frames/s, Piper real-time factor, a multi-speaker table read.

Run: python bench/media.py   (ends with one JSON line of figures)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.generate.audio import duration
from workbench.generate.media import (
    load_image_generator,
    load_voice_generator,
    make_storyboard,
    make_table_read,
)
from workbench.story.screenplay import parse_scene


@dataclass
class Character:
    id: str
    name: str
    appearance: str = ""
    palette: str | None = None
    voice: dict[str, Any] = field(default_factory=dict)


CAST = [
    Character(
        "mara", "Mara Vale", "tall woman, silver braid, green coat", voice={"pitch": -3.0, "speed": 0.95}
    ),
    Character("tobias", "Tobias", "stocky man, round glasses, red scarf", voice={"pitch": 3.0, "speed": 1.1}),
    Character(
        "ines",
        "Ines",
        "old lighthouse keeper in oilskins",
        voice={"pitch": 0.0, "speed": 0.85, "variation": 0.3},
    ),
]
SCENE = """INT. LIGHTHOUSE KITCHEN - NIGHT

Rain hammers the window. Mara Vale studies a map while Tobias paces and Ines tends the stove.

MARA
We leave at dawn, before the harbour wakes.

TOBIAS
(nervous)
And if the tide turns against us halfway across?

INES
The tide has turned on better sailors than you two.

MARA
Then we row harder. Ines, will you keep the lamp lit?

INES
I have kept it lit for forty years. One more night is nothing.

TOBIAS
Forty years. And never once left this rock?

Ines smiles and says nothing.
"""


def bench_sketch(seconds: float = 3.0) -> float:
    gen = load_image_generator("sketch")
    frames = make_storyboard(gen, SCENE, CAST, frames=6)
    assert frames
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        n += len(make_storyboard(gen, SCENE, CAST, frames=6))
    return n / (time.perf_counter() - t0)


def bench_piper() -> dict[str, float]:
    voice = load_voice_generator("default")
    text = "The lamp has burned every night for forty years, and it will burn tonight as well."
    voice.speak(text, {})  # warm the file cache
    t0 = time.perf_counter()
    m = voice.speak(text, {"pitch": 2.0})
    compute = time.perf_counter() - t0
    audio = duration(m.data)
    return {"piper_line_audio_s": audio, "piper_line_compute_s": compute, "piper_rtf": compute / audio}


def bench_table_read() -> dict[str, float]:
    voice = load_voice_generator("default")
    by_name = {c.name: c for c in CAST}
    parsed = parse_scene(SCENE, list(by_name))
    lines = [(None, a) for a in parsed.action[:1]] + [
        (by_name.get(ln.character or ""), ln.text) for ln in parsed.lines
    ]
    t0 = time.perf_counter()
    m = make_table_read(voice, lines)
    compute = time.perf_counter() - t0
    audio = duration(m.data)
    return {
        "table_read_lines": len(lines),
        "table_read_audio_s": audio,
        "table_read_compute_s": compute,
        "table_read_audio_per_compute_s": audio / compute,
    }


def main() -> None:
    figures: dict[str, Any] = {"sketch_frames_per_s": bench_sketch()}
    print(f"sketch: {figures['sketch_frames_per_s']:.0f} frames/s")
    try:
        figures.update(bench_piper())
        print(
            f"piper: {figures['piper_line_audio_s']:.2f} s of audio in {figures['piper_line_compute_s']:.2f} s"
        )
        figures.update(bench_table_read())
        print(
            f"table read: {figures['table_read_lines']} lines, {figures['table_read_audio_s']:.1f} s of audio "
            f"in {figures['table_read_compute_s']:.1f} s"
        )
    except Exception as exc:  # noqa: BLE001 - Piper is optional; report and go on
        figures["piper_error"] = str(exc)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
