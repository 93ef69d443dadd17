"""Voice backends for real: Piper through its program, and a tiny transformers VITS model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.errors import InvalidInput, ModelUnavailable, TooLarge
from workbench.generate.audio import duration, estimate_f0, read_wav, rms
from workbench.generate.base import VoiceGenerator
from workbench.generate.media import load_voice_generator
from workbench.generate.spec import parse_spec
from workbench.generate.voice import (
    PiperVoiceGenerator,
    file_sha256,
    piper_factory,
    transformers_factory,
    voice_settings,
)

LINE = "We leave at dawn, before the tide turns against us."


@pytest.fixture(scope="module")
def piper() -> PiperVoiceGenerator:
    try:
        return PiperVoiceGenerator()
    except ModelUnavailable as exc:  # the optional GPL extra is not installed
        pytest.skip(str(exc))


def test_piper_speaks_a_line(piper: PiperVoiceGenerator) -> None:
    assert isinstance(piper, VoiceGenerator)
    m = piper.speak(LINE, {}, seed=5)
    assert m.mime == "audio/wav"
    x, sr = read_wav(m.data)
    assert sr == 22050
    assert 1.5 < duration(m.data) < 8.0
    assert rms(x) > 0.02
    p = m.provenance
    assert p["backend"] == "piper" and p["model"] == "en_US-joe-medium.onnx"
    assert p["model_sha256"] == file_sha256(piper.model_path)
    assert p["seed"] == 5 and p["prompt"] == LINE
    assert p["parameters"]["noise_scale"] == pytest.approx(0.667)


def test_two_characters_differ_in_pitch_and_keep_duration(piper: PiperVoiceGenerator) -> None:
    low, mid, high = piper.speak_many(
        [
            (LINE, {"pitch": -4, "variation": 0}),
            (LINE, {"variation": 0}),
            (LINE, {"pitch": 4, "variation": 0}),
        ]
    )
    f_low, f_mid, f_high = (estimate_f0(m.data) for m in (low, mid, high))
    assert f_low < f_mid < f_high
    assert f_high / f_low > 1.3  # 8 semitones apart is a factor 1.59
    # the pitch shift keeps the line's length (the slower synthesis compensates)
    assert duration(high.data) == pytest.approx(duration(mid.data), rel=0.12)
    assert duration(low.data) == pytest.approx(duration(mid.data), rel=0.12)


def test_speed_changes_duration_and_variation_zero_is_repeatable(piper: PiperVoiceGenerator) -> None:
    slow = piper.speak(LINE, {"speed": 0.7, "variation": 0})
    fast = piper.speak(LINE, {"speed": 1.4, "variation": 0})
    assert duration(slow.data) > 1.5 * duration(fast.data)
    again = piper.speak(LINE, {"speed": 0.7, "variation": 0})
    assert again.data == slow.data and slow.provenance["deterministic"] is True


def test_bad_input(piper: PiperVoiceGenerator) -> None:
    with pytest.raises(TooLarge):
        piper.speak("word " * 400, {})
    with pytest.raises(InvalidInput):
        piper.speak("   ", {})
    with pytest.raises(InvalidInput):
        piper.speak("Hi.", {"pitch": 40})
    with pytest.raises(InvalidInput):
        voice_settings({"speed": "fast"})


def test_voice_by_path_and_missing_path(piper: PiperVoiceGenerator, tmp_path: Path) -> None:
    gen = load_voice_generator(f"piper:{piper.model_path}")
    assert isinstance(gen, PiperVoiceGenerator) and gen.model_path == piper.model_path
    with pytest.raises(ModelUnavailable, match="not found"):
        piper_factory(parse_spec(f"piper:{tmp_path / 'nope.onnx'}", "voice"))
    lonely = tmp_path / "voice.onnx"
    lonely.write_bytes(b"x")
    with pytest.raises(ModelUnavailable, match="config"):
        PiperVoiceGenerator(model_path=lonely)


def test_missing_piper_program_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import workbench.generate.voice as voice

    monkeypatch.setattr(voice.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ModelUnavailable, match="pip install piper-tts"):
        voice.find_piper()


# --- transformers text-to-speech (tiny random VITS built here) -------------------------------


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    d = tmp_path_factory.mktemp("tiny-vits")
    vocab = {c: i for i, c in enumerate("_ abcdefghijklmnopqrstuvwxyz.,!?'-")}
    (d / "vocab.json").write_text(json.dumps(vocab))
    tok = VitsTokenizer(str(d / "vocab.json"), phonemize=False, add_blank=True, is_uroman=False)
    cfg = VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, ffn_dim=32,
        flow_size=16, spectrogram_bins=33, upsample_initial_channel=16, upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=2, prior_encoder_num_wavenet_layers=1, duration_predictor_num_flows=2,
        duration_predictor_filter_channels=16, posterior_encoder_num_wavenet_layers=1, sampling_rate=16000,
    )  # fmt: skip
    torch.manual_seed(0)
    VitsModel(cfg).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def test_transformers_vits_speaks_with_seed_and_settings(tiny_vits: Path) -> None:
    gen = transformers_factory(parse_spec(f"tts:{tiny_vits}", "voice"))
    assert isinstance(gen, VoiceGenerator)
    a = gen.speak("hello there world", {"variation": 0.8}, seed=3)
    b = gen.speak("hello there world", {"variation": 0.8}, seed=3)
    c = gen.speak("hello there world", {"variation": 0.8}, seed=4)
    assert a.data == b.data and a.data != c.data
    x, sr = read_wav(a.data)
    assert sr == 16000 and x.size > 0 and rms(x) > 0
    assert a.provenance["backend"] == "tts" and a.provenance["model_type"] == "vits"
    assert len(a.provenance["model_sha256"]) == 64
    slow = gen.speak("hello there world", {"speed": 0.5, "variation": 0}, seed=3)
    fast = gen.speak("hello there world", {"speed": 2.0, "variation": 0}, seed=3)
    assert duration(slow.data) > duration(fast.data)
    with pytest.raises(TooLarge):
        gen.speak("a" * 2000, {})
    assert np.isfinite(read_wav(slow.data)[0]).all()


def test_transformers_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not found"):
        transformers_factory(parse_spec(f"tts:{tmp_path / 'missing'}", "voice"))
    with pytest.raises(ModelUnavailable):
        transformers_factory(parse_spec("tts", "voice"))
