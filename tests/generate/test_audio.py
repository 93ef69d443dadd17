"""WAV helpers: round trips, joins, levels and pitch estimates."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import InvalidInput
from workbench.generate.audio import (
    duration,
    estimate_f0,
    join_wavs,
    pitch_shift_resample,
    read_wav,
    resample,
    rms,
    write_wav,
)

SR = 16000


def tone(freq: float, seconds: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.4 * np.sign(np.sin(2 * np.pi * freq * t)) + 0.1 * np.sin(2 * np.pi * 3 * freq * t)).astype(
        np.float32
    )


def test_write_read_round_trip_16bit() -> None:
    x = tone(220)
    data = write_wav(x, SR)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    y, sr = read_wav(data)
    assert sr == SR and len(y) == len(x)
    assert np.max(np.abs(y - x)) < 1e-4
    assert duration(data) == pytest.approx(0.5)


def test_join_with_pauses_and_rates() -> None:
    a, b = write_wav(tone(200, 0.5), SR), write_wav(tone(300, 0.25, 8000), 8000)
    joined = join_wavs([a, b], pause_s=0.2)
    assert duration(joined) == pytest.approx(0.5 + 0.2 + 0.25, abs=2e-3)
    x, sr = read_wav(joined)
    assert sr == SR
    assert rms(x[int(0.55 * SR) : int(0.65 * SR)]) == 0.0  # the pause is silent
    with pytest.raises(InvalidInput):
        join_wavs([])


def test_rms_tells_sound_from_silence() -> None:
    assert rms(write_wav(np.zeros(1000), SR)) == 0.0
    assert rms(write_wav(tone(100), SR)) > 0.2


@pytest.mark.parametrize("freq", [90.0, 140.0, 220.0, 330.0])
def test_f0_estimate(freq: float) -> None:
    assert estimate_f0(tone(freq), SR) == pytest.approx(freq, rel=0.02)
    assert estimate_f0(write_wav(tone(freq), SR)) == pytest.approx(freq, rel=0.02)


def test_f0_of_silence_or_noise_is_zero() -> None:
    assert estimate_f0(np.zeros(SR, np.float32), SR) == 0.0
    noise = np.random.default_rng(0).standard_normal(SR).astype(np.float32) * 0.1
    assert estimate_f0(noise, SR) == 0.0


@pytest.mark.parametrize("semitones", [-5.0, 3.0, 7.0])
def test_pitch_shift_by_resampling(semitones: float) -> None:
    x = tone(150, 1.0)
    y = pitch_shift_resample(x, semitones)
    factor = 2 ** (semitones / 12)
    assert len(y) == round(len(x) / factor)
    assert estimate_f0(y, SR) == pytest.approx(150 * factor, rel=0.02)
    assert len(resample(x, 0)) == 0


def test_garbage_is_refused() -> None:
    with pytest.raises(InvalidInput):
        read_wav(b"not a wav file at all")
