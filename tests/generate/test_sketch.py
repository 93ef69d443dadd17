"""The offline sketch backend and storyboard shot selection."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image

from workbench.generate.base import ImageGenerator
from workbench.generate.media import load_image_generator
from workbench.generate.shots import Shot, shot_prompt, shots_from_scene
from workbench.generate.sketch import SketchGenerator
from workbench.story.screenplay import parse_scene

from .media_helpers import CAST, MARA, SCENE, TOBIAS


def _shots(frames: int = 3) -> list[Shot]:
    return shots_from_scene(parse_scene(SCENE, [c.name for c in CAST]), CAST, frames=frames)


def test_shots_start_wide_on_location_then_dialogue_beats() -> None:
    shots = _shots(4)
    assert [s.index for s in shots] == [0, 1, 2, 3]
    assert shots[0].framing == "wide"
    assert shots[0].location == "LIGHTHOUSE KITCHEN" and shots[0].time_of_day == "NIGHT"
    assert set(shots[0].names) == {"Mara Vale", "Tobias"}
    assert "Rain hammers" in shots[0].caption
    assert [s.speaker for s in shots[1:]] == ["Mara Vale", "Tobias", "Mara Vale"]
    assert all(s.framing in ("medium", "close-up") for s in shots[1:])
    # the nervous question is a close-up on the speaker alone
    assert shots[2].framing == "close-up" and shots[2].names == ["Tobias"]
    assert dict(shots[1].characters)["Mara Vale"] == "#2a6f4e"


def test_shots_are_deterministic_and_bounded() -> None:
    assert _shots(3) == _shots(3)
    assert len(_shots(1)) == 1 and _shots(1)[0].framing == "wide"
    assert len(_shots(50)) == 4  # one establishing shot + every dialogue line, no padding
    assert shots_from_scene(parse_scene(SCENE), [], frames=0) == []


def test_shots_from_prose_and_empty_text() -> None:
    prose = 'Mara Vale looked at the sea. "We go tonight," said Mara. Tobias shrugged.'
    shots = shots_from_scene(parse_scene(prose, ["Mara Vale", "Tobias"]), CAST, frames=2)
    assert shots[0].framing == "wide" and shots[0].location is None
    assert shots[1].speaker == "Mara Vale"
    empty = shots_from_scene(parse_scene(""), CAST, frames=3)
    assert len(empty) == 1 and empty[0].caption == ""


def test_shot_prompt_uses_fixed_appearance_and_framing() -> None:
    shot = _shots(4)[2]
    prompt = shot_prompt(shot, CAST)
    assert "close-up" in prompt and "lighthouse kitchen" in prompt and "night" in prompt
    assert TOBIAS.appearance in prompt and MARA.appearance not in prompt
    assert shot.prompt == prompt


def test_frames_are_pngs_with_provenance_and_deterministic() -> None:
    gen = SketchGenerator()
    assert isinstance(gen, ImageGenerator)
    shots = _shots(3)
    a, b = gen.frames(shots, seed=1), gen.frames(shots, seed=1)
    assert [m.data for m in a] == [m.data for m in b]
    for m, s in zip(a, shots):
        img = Image.open(io.BytesIO(m.data))
        assert img.format == "PNG" and img.size == (512, 288)
        assert not img.info  # no timestamps or text chunks
        assert m.mime == "image/png"
        assert m.provenance["backend"] == "sketch" and m.provenance["seed"] == 1
        assert m.provenance["prompt"] == s.prompt
        assert m.provenance["parameters"]["framing"] == s.framing
    assert len({m.data for m in a}) == 3
    assert gen.frames(shots, seed=2)[1].data != a[1].data  # the seed varies the poses


def test_frame_shows_palette_tint_and_sketch_mark() -> None:
    gen = SketchGenerator()
    night, day = _shots(1)[0], Shot(0, "wide", (("Mara Vale", "#2a6f4e"),), None, "BEACH", "DAY", "Sun.")
    img_n = Image.open(io.BytesIO(gen.frame(night).data)).convert("RGB")
    img_d = Image.open(io.BytesIO(gen.frame(day).data)).convert("RGB")
    # sky brightness follows the time of day
    assert sum(img_n.getpixel((250, 40))) < 250 < sum(img_d.getpixel((250, 40)))
    # the character's palette colour is drawn
    assert (0x2A, 0x6F, 0x4E) in {c for _, c in img_d.getcolors(1 << 16)}
    # the red SKETCH mark in the top-right corner
    corner = img_d.crop((420, 24, 512, 52)).getcolors(1 << 16)
    assert any(r > 180 and g < 60 and b < 60 for _, (r, g, b) in corner)


def test_portrait_card_from_fields() -> None:
    gen = load_image_generator("sketch")
    assert isinstance(gen, SketchGenerator)
    m = gen.portrait(MARA)
    img = Image.open(io.BytesIO(m.data)).convert("RGB")
    assert img.size == (320, 448)
    assert img.getpixel((5, 5)) == (0x2A, 0x6F, 0x4E)  # header band in the palette colour
    assert m.provenance["prompt"] == MARA.appearance
    assert gen.portrait(MARA).data == m.data
    assert gen.portrait(TOBIAS).data != m.data


def test_sketch_is_fast() -> None:
    gen = SketchGenerator()
    shots = _shots(4)
    gen.frames(shots)
    t0 = time.perf_counter()
    n = 0
    while n < 40:
        n += len(gen.frames(shots))
    fps = n / (time.perf_counter() - t0)
    assert fps > 50, f"{fps:.0f} frames/s"


@pytest.mark.parametrize("tod", [None, "", "LATER", "MORNING", "DUSK", "CONTINUOUS"])
def test_any_time_of_day_renders(tod: str | None) -> None:
    m = SketchGenerator().frame(Shot(0, "medium", (), None, None, tod, "x" * 500))
    assert Image.open(io.BytesIO(m.data)).size == (512, 288)
