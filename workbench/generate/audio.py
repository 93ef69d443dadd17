"""WAV helpers: read and write 16-bit PCM, join clips, measure and shift pitch.

Pure numpy and the standard library's :mod:`wave`; used by the voice backends,
table reads, benchmarks and tests.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInput

__all__ = [
    "read_wav",
    "write_wav",
    "join_wavs",
    "duration",
    "rms",
    "estimate_f0",
    "resample",
    "pitch_shift_resample",
    "silence",
]


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Decode WAV bytes into mono float32 samples in [-1, 1] and the sample rate."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            sr = w.getframerate()
            width = w.getsampwidth()
            channels = w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidInput(f"not a readable WAV file: {exc}") from exc
    if width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    else:
        raise InvalidInput(f"unsupported WAV sample width: {width} bytes")
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    return x, sr


def write_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """Encode mono float samples (clipped to [-1, 1]) as 16-bit PCM WAV bytes."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(max(0, int(round(seconds * sample_rate))), dtype=np.float32)


def resample(x: np.ndarray, n_out: int) -> np.ndarray:
    """Band-limited resampling of ``x`` to ``n_out`` samples (FFT method)."""
    x = np.asarray(x, dtype=np.float32)
    n = len(x)
    if n_out <= 0 or n == 0:
        return np.zeros(max(n_out, 0), dtype=np.float32)
    if n_out == n:
        return x.copy()
    spec = np.fft.rfft(x)
    out = np.zeros(n_out // 2 + 1, dtype=spec.dtype)
    k = min(len(spec), len(out))
    out[:k] = spec[:k]
    y = np.fft.irfft(out, n_out) * (n_out / n)
    return y.astype(np.float32)


def pitch_shift_resample(x: np.ndarray, semitones: float) -> np.ndarray:
    """Raise (or lower) pitch by ``semitones`` by resampling; duration shrinks by the same factor.

    A voice backend compensates by synthesising ``2 ** (semitones / 12)`` times slower first.
    """
    if not semitones:
        return np.asarray(x, dtype=np.float32)
    factor = 2.0 ** (semitones / 12.0)
    return resample(x, int(round(len(x) / factor)))


def join_wavs(clips: Sequence[bytes], pause_s: float = 0.35) -> bytes:
    """Join WAV clips into one, with ``pause_s`` seconds of silence between them."""
    if not clips:
        raise InvalidInput("nothing to join: no audio clips")
    decoded = [read_wav(c) for c in clips]
    sr = decoded[0][1]
    parts: list[np.ndarray] = []
    for i, (x, rate) in enumerate(decoded):
        if rate != sr:
            x = resample(x, int(round(len(x) * sr / rate)))
        if i:
            parts.append(silence(pause_s, sr))
        parts.append(x)
    return write_wav(np.concatenate(parts), sr)


def duration(data: bytes) -> float:
    """Length of a WAV clip in seconds."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def rms(samples: np.ndarray | bytes) -> float:
    """Root-mean-square level (0 for silence); accepts samples or WAV bytes."""
    x = read_wav(samples)[0] if isinstance(samples, bytes | bytearray) else np.asarray(samples, np.float32)
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def estimate_f0(
    samples: np.ndarray | bytes,
    sample_rate: int | None = None,
    fmin: float = 60.0,
    fmax: float = 500.0,
    frame_s: float = 0.04,
) -> float:
    """Median fundamental frequency (Hz) over voiced frames, by autocorrelation; 0.0 if none voiced."""
    if isinstance(samples, bytes | bytearray):
        x, sample_rate = read_wav(bytes(samples))
    else:
        x = np.asarray(samples, dtype=np.float32)
    if not sample_rate:
        raise InvalidInput("estimate_f0 needs the sample rate for raw samples")
    n = int(frame_s * sample_rate)
    lo, hi = int(sample_rate / fmax), int(sample_rate / fmin)
    if len(x) < n or hi >= n:
        return 0.0
    level = np.sqrt(np.mean(np.square(x))) if x.size else 0.0
    window = np.hanning(n)
    w_ac = np.fft.irfft(np.abs(np.fft.rfft(window, 2 * n)) ** 2)[:n]
    w_ac = np.maximum(w_ac / w_ac[0], 1e-3)
    f0s: list[float] = []
    for start in range(0, len(x) - n, n // 2):
        frame = x[start : start + n].astype(np.float64)
        frame = frame - frame.mean()
        energy = np.sqrt(np.mean(frame * frame))
        if energy < 0.5 * level or energy < 1e-4:
            continue
        spec = np.fft.rfft(frame * window, 2 * n)
        ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0] / w_ac  # undo the window's taper (Boersma 1993)
        seg = ac[lo:hi]
        best = float(np.max(seg))
        if best < 0.6:  # unvoiced
            continue
        # the first local peak close to the best one: avoids picking a multiple of the period
        peaks = [k for k in range(1, len(seg) - 1) if seg[k] >= seg[k - 1] and seg[k] >= seg[k + 1]]
        k = next((k for k in peaks if seg[k] >= 0.9 * best), int(np.argmax(seg)))
        lag = lo + k
        a, b, c = ac[lag - 1], ac[lag], ac[lag + 1] if lag + 1 < n else ac[lag]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom else 0.0
        f0s.append(sample_rate / (lag + shift))
    return float(np.median(f0s)) if f0s else 0.0
