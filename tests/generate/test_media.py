"""The media functions the controller calls: portraits, storyboards, voice lines, table reads."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from workbench.errors import InvalidInput, ModelUnavailable, TooLarge, UnknownModelSpec
from workbench.generate.audio import duration, estimate_f0, read_wav, rms
from workbench.generate.base import Media
from workbench.generate.media import (
    load_image_generator,
    load_voice_generator,
    make_portrait,
    make_storyboard,
    make_table_read,
    make_voice_line,
    open_reference_image,
)
from workbench.generate.sketch import SketchGenerator

from .media_helpers import CAST, MARA, SCENE, TOBIAS, Character


@pytest.fixture(scope="module")
def voice() -> Any:
    try:
        return load_voice_generator("default")
    except ModelUnavailable as exc:
        pytest.skip(str(exc))


def test_generators_are_loaded_by_spec_and_cached() -> None:
    a = load_image_generator("sketch")
    assert a is load_image_generator("sketch") and isinstance(a, SketchGenerator)
    assert isinstance(load_image_generator("default"), SketchGenerator)
    with pytest.raises(UnknownModelSpec):
        load_image_generator("nosuchbackend:thing")


def test_storyboard_from_scene_text() -> None:
    frames = make_storyboard(load_image_generator("sketch"), SCENE, CAST, frames=3, seed=2)
    assert len(frames) == 3 and all(isinstance(m, Media) for m in frames)
    assert [m.provenance["parameters"]["framing"] for m in frames][0] == "wide"
    assert all(m.provenance["seed"] == 2 and m.provenance["prompt"] for m in frames)
    assert frames[0].provenance["parameters"]["location"] == "LIGHTHOUSE KITCHEN"
    with pytest.raises(InvalidInput):
        make_storyboard(load_image_generator("sketch"), SCENE, CAST, frames=0)
    with pytest.raises(TooLarge):
        make_storyboard(load_image_generator("sketch"), SCENE, CAST, frames=500)


def test_plain_protocol_backends_still_work() -> None:
    class Plain:
        spec = "plain"
        fingerprint: dict[str, Any] = {}

        def portrait(self, character: Any, seed: int | None = None) -> Media:
            return Media(b"p", "image/png", {"seed": seed})

        def frames(self, shots: list[Any], seed: int = 0) -> list[Media]:
            return [Media(b"f", "image/png", {"seed": seed}) for _ in shots]

    assert len(make_storyboard(Plain(), SCENE, CAST, frames=2, references={"Mara Vale": b"x"})) == 2
    m = make_portrait(Plain(), MARA)
    assert m.provenance["character"] == "Mara Vale" and isinstance(m.provenance["seed"], int)


def test_portrait() -> None:
    m = make_portrait(load_image_generator("sketch"), TOBIAS)
    assert Image.open(io.BytesIO(m.data)).format == "PNG"
    assert m.provenance["character"] == "Tobias" and m.provenance["backend"] == "sketch"
    with pytest.raises(InvalidInput):
        make_portrait(load_image_generator("sketch"), Character("x", ""))


def test_reference_image_guard() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG")
    assert open_reference_image(buf.getvalue()).size == (8, 8)
    with pytest.raises(InvalidInput):
        open_reference_image(b"garbage")
    with pytest.raises(InvalidInput):
        open_reference_image(b"")
    with pytest.raises(TooLarge):
        open_reference_image(buf.getvalue(), max_bytes=10)


def test_voice_line_uses_character_settings(voice: Any) -> None:
    m = make_voice_line(voice, MARA, "The lamp is out.", seed=1)
    assert m.provenance["character"] == "Mara Vale"
    assert m.provenance["parameters"]["pitch"] == -4.0
    assert rms(m.data) > 0.02 and duration(m.data) > 0.5


def test_table_read_joins_lines_with_pauses_and_a_narrator(voice: Any) -> None:
    lines = [
        (None, "Rain hammers the window."),
        (MARA, "We leave at dawn."),
        (TOBIAS, "And if the tide turns?"),
        (MARA, "Then we swim."),
    ]
    parts = [
        make_voice_line(voice, c, t) if c is not None else voice.speak(t, {"variation": 0.5})
        for c, t in lines
    ]
    m = make_table_read(voice, lines, pause_s=0.4)
    assert m.mime == "audio/wav"
    expected = sum(duration(p.data) for p in parts) + 3 * 0.4
    assert duration(m.data) == pytest.approx(expected, rel=0.1)
    assert [line["character"] for line in m.provenance["lines"]] == [None, "Mara Vale", "Tobias", "Mara Vale"]
    assert "NARRATOR: Rain hammers the window." in m.provenance["prompt"]
    # Mara (-4 semitones) is audibly lower than Tobias (+4): compare her and his lines in the joined read
    x, sr = read_wav(m.data)
    d = [duration(p.data) for p in parts]
    start_mara = int((d[0] + 0.4) * sr)
    start_tob = int((d[0] + d[1] + 0.8) * sr)
    f_mara = estimate_f0(x[start_mara : start_mara + int(d[1] * sr)], sr)
    f_tob = estimate_f0(x[start_tob : start_tob + int(d[2] * sr)], sr)
    assert f_tob > 1.2 * f_mara


def test_table_read_bad_input(voice: Any) -> None:
    with pytest.raises(InvalidInput):
        make_table_read(voice, [])
    with pytest.raises(TooLarge):
        make_table_read(voice, [(MARA, "word " * 500)])
    with pytest.raises(InvalidInput):
        make_table_read(voice, [(MARA, "Hi.")], pause_s=-1)


def test_poses_are_refused_by_a_backend_that_cannot_use_them(sample):
    from workbench import Session
    from workbench.errors import InvalidInput

    s = Session(sample, image="sketch")
    with pytest.raises(InvalidInput, match="cannot use pose references"):
        s.storyboard("The Light Returns", frames=2, poses={0: b"\x89PNG..."})
    assert len(sample.assets) == 0  # nothing half-saved


def test_storyboards_pass_each_characters_look_to_backends_that_use_images(sample):
    """A plug-in image backend whose ``frames`` takes ``references`` gets the portraits (IP-Adapter style),
    and a trainer's expression reference wins over the portrait."""
    from workbench import Session
    from workbench.generate.sketch import SketchGenerator
    from workbench.generate.spec import register_backend
    from workbench.training.references import add_reference

    seen: list[dict] = []

    class LookAware(SketchGenerator):
        def frames(self, shots, seed=0, characters=None, references=None):
            seen.append(dict(references or {}))
            return super().frames(shots, seed)

    register_backend("image", "look-aware", lambda spec: LookAware(spec.raw))
    s = Session(sample, image="look-aware:test")
    mara = s.portrait("Mara Quell")
    s.storyboard("The Light Returns", frames=2)
    assert seen[-1]["Mara Quell"] == mara.data
    expression = s.portrait("Tomas Reyes", seed=5, save=False).data
    add_reference(sample, "Mara Quell", "expression_ref", expression, "image/png")
    s.storyboard("The Light Returns", frames=2)  # new references: not served from the cache
    assert seen[-1]["Mara Quell"] == expression and len(seen) == 2
