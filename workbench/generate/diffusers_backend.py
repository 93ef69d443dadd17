"""Image generation with any diffusers text-to-image pipeline.

A model spec names a hub id (already in the local Hugging Face cache) or a local
folder saved with ``save_pretrained``; it loads through
``AutoPipelineForText2Image.from_pretrained(..., local_files_only=True)``: nothing
is downloaded at run time. CUDA runs in half precision (fp16; bf16 for pipelines
trained in it), the CPU in float32.

Consistency of characters:

* each frame's noise comes from its own generator, seeded from the storyboard seed,
  the shot index and the per-character seeds of those in frame, so a frame is the
  same whatever the batch it is drawn in;
* every prompt carries the characters' fixed appearance prompts;
* with an IP-Adapter configured, the speaker's portrait steers the frame; the
  portrait's image embedding is computed once and cached in memory.

Pose references (ControlNet): with a ControlNet configured (a local folder saved with
``ControlNetModel.save_pretrained``), ``frames(..., poses={shot index: image bytes})``
steers a shot's composition with a pose skeleton, depth or edge image. The image is
decoded with the same guards as portraits and resized to the frame size. The ControlNet
pipeline shares every component of the base pipeline (``AutoPipelineForText2Image.from_pipe``,
e.g. ``StableDiffusionControlNetPipeline`` for Stable Diffusion), so it costs only the
ControlNet's own weights. Shots with a pose are drawn in their own batches through the
ControlNet pipeline; shots without one go through the base pipeline exactly as if no
ControlNet were configured (each frame has its own seed, so the split changes no frame).
Portraits never use a pose. Provenance records the ControlNet folder, a sha256 of its
files, the conditioning scale and the pose image's sha256 (``None`` without a pose).

Per-model settings can live in a ``workbench.json`` file in the model folder
(``steps``, ``guidance``, ``width``, ``height``, ``negative_prompt``, ``batch_size``,
``ip_adapter``: ``{"path", "subfolder", "weight_name", "scale"}``, ``controlnet``: a
folder, relative paths being taken from the model folder, and ``controlnet_scale``,
default 1.0); keyword arguments of :class:`DiffusersImageGenerator` override them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GenerationError, InvalidInput, ModelUnavailable
from ..seeding import stable_int
from .base import Media
from .shots import Shot, appearance_prompt, character_seed, shot_prompt
from .weights import require_safetensors, safetensors_name

__all__ = ["DiffusersImageGenerator", "IPAdapterConfig", "factory", "frame_seed", "is_turbo"]

INSTALL = "image generation with diffusers needs: pip install diffusers==0.42.1 'story-workbench[ml]'"
FEW_STEP_WORDS = ("turbo", "lightning", "lcm", "hyper-sd", "hypersd", "schnell")
FEW_STEP_SCHEDULERS = ("LCMScheduler", "TCDScheduler")
BF16_PIPELINES = ("Flux", "StableDiffusion3", "Sana", "PixArt", "Lumina", "QwenImage", "HunyuanDiT")
NEGATIVE = "blurry, deformed, extra limbs, text, watermark"


@dataclass(frozen=True)
class IPAdapterConfig:
    """Where the IP-Adapter weights are (``pipe.load_ip_adapter(path, subfolder, weight_name)``)."""

    path: str
    subfolder: str = "models"
    weight_name: str = "ip-adapter_sd15.safetensors"
    scale: float = 0.6
    image_encoder_folder: str | None = "image_encoder"


def frame_seed(seed: int, shot: Shot) -> int:
    """The seed of one frame: the storyboard seed, the shot index and the characters in frame."""
    return stable_int("frame", seed, shot.index, *shot.seeds)


def is_turbo(name: str, scheduler_class: str = "") -> bool:
    """A few-step distilled model (SD-Turbo, SDXL-Lightning, LCM, ...) by name or scheduler."""
    low = name.lower()
    return any(w in low for w in FEW_STEP_WORDS) or scheduler_class in FEW_STEP_SCHEDULERS


def _resolve(model: str) -> Path:
    """The local folder of ``model`` (a path, or a hub id already in the Hugging Face cache)."""
    p = Path(model).expanduser()
    if p.exists():
        if not (p / "model_index.json").is_file():
            raise ModelUnavailable(f"{p} is not a diffusers pipeline folder (it has no model_index.json)")
        return p
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
        raise ModelUnavailable(f"image model folder not found: {model}")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - the hub client raises several kinds here
        raise ModelUnavailable(
            f"the image model {model!r} is neither a local folder nor in the local Hugging Face cache. "
            "Download it once where there is a network (huggingface-cli download MODEL) or give a folder "
            "saved with pipeline.save_pretrained()."
        ) from exc


class DiffusersImageGenerator:
    """Storyboard frames and portraits from a diffusers text-to-image pipeline."""

    def __init__(
        self,
        spec: str,
        model: str,
        *,
        adapter: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        width: int | None = None,
        height: int | None = None,
        batch_size: int | None = None,
        negative_prompt: str | None = None,
        ip_adapter: IPAdapterConfig | dict[str, Any] | None = None,
        controlnet: str | os.PathLike[str] | None = None,
        controlnet_scale: float | None = None,
    ) -> None:
        self.spec = spec
        self.model = model
        try:
            import diffusers
            import torch
        except ImportError as exc:
            raise ModelUnavailable(f"{INSTALL} ({exc})") from exc
        self._torch = torch
        self.path = _resolve(model)
        try:
            index = json.loads((self.path / "model_index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"{self.path}/model_index.json could not be read: {exc}") from exc
        self.pipeline_class = str(index.get("_class_name", ""))
        sched_cls = ""
        sched_file = self.path / "scheduler" / "scheduler_config.json"
        if sched_file.is_file():
            try:
                sched_cls = str(json.loads(sched_file.read_text(encoding="utf-8")).get("_class_name", ""))
            except ValueError:
                sched_cls = ""
        settings: dict[str, Any] = {}
        local = self.path / "workbench.json"
        if local.is_file():
            try:
                settings = json.loads(local.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ModelUnavailable(f"{local} is not valid JSON: {exc}") from exc

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if dtype is None:
            if self.device.startswith("cuda"):
                dtype = "bfloat16" if self.pipeline_class.startswith(BF16_PIPELINES) else "float16"
            else:
                dtype = "float32"
        self.dtype_name = dtype
        torch_dtype = getattr(torch, dtype)
        self.turbo = is_turbo(f"{model} {self.path.name}", sched_cls)
        self.steps = int(
            steps
            or settings.get("steps")
            or (1 if self.turbo and "lcm" not in model.lower() else 4 if self.turbo else 25)
        )
        g = guidance if guidance is not None else settings.get("guidance")
        self.guidance = float(g if g is not None else (0.0 if self.turbo else 7.0))
        self.negative_prompt = (
            negative_prompt if negative_prompt is not None else settings.get("negative_prompt", NEGATIVE)
        )
        self.batch_size = int(
            batch_size or settings.get("batch_size") or (8 if self.device.startswith("cuda") else 2)
        )

        try:
            self.pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
                str(self.path), dtype=torch_dtype, local_files_only=True, use_safetensors=True
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"the image model in {self.path} could not be loaded: {exc}") from exc
        if adapter:
            try:
                self.pipe.load_lora_weights(adapter, local_files_only=True)
            except (ImportError, OSError, ValueError) as exc:
                raise ModelUnavailable(
                    f"the LoRA adapter {adapter} could not be loaded (needs peft): {exc}"
                ) from exc
        self.adapter = adapter
        self.pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)

        vae_scale = int(getattr(self.pipe, "vae_scale_factor", 8))
        denoiser = getattr(self.pipe, "unet", None) or getattr(self.pipe, "transformer", None)
        sample = int(getattr(getattr(denoiser, "config", None), "sample_size", 64) or 64)
        down = len(getattr(getattr(denoiser, "config", None), "block_out_channels", (0,)) or (0,))
        self._multiple = max(8, vae_scale * (2 ** max(down - 1, 0)))
        base = sample * vae_scale
        self.width = int(width or settings.get("width") or base)
        self.height = int(height or settings.get("height") or self._round(base * 9 / 16))
        self.portrait_size = (self._round(base * 3 / 4), base)

        ip = ip_adapter if ip_adapter is not None else settings.get("ip_adapter")
        if isinstance(ip, dict):
            ip = IPAdapterConfig(**ip)
        self.ip_adapter: IPAdapterConfig | None = ip
        self._embeds: dict[str, Any] = {}
        self._lock = threading.Lock()
        if ip is not None:
            self._load_ip_adapter(ip)

        cn = controlnet if controlnet is not None else settings.get("controlnet")
        cs = controlnet_scale if controlnet_scale is not None else settings.get("controlnet_scale")
        self.controlnet_scale = float(cs if cs is not None else 1.0)
        self.controlnet: Path | None = None
        self.controlnet_sha256: str | None = None
        self.pose_pipe: Any = None
        if cn:
            self._load_controlnet(diffusers, str(cn), torch_dtype)

    # --- set-up ------------------------------------------------------------------
    def _round(self, px: float) -> int:
        m = self._multiple
        return max(m, int(round(px / m)) * m)

    def _load_ip_adapter(self, ip: IPAdapterConfig) -> None:
        safetensors_name(ip.weight_name, "IP-Adapter")
        src = Path(ip.path).expanduser()
        if not (src / ip.subfolder / ip.weight_name).is_file():
            raise ModelUnavailable(
                f"IP-Adapter weights not found: {src / ip.subfolder / ip.weight_name}. "
                "Download them once (e.g. h94/IP-Adapter) and point ip_adapter.path there."
            )
        try:
            self.pipe.load_ip_adapter(
                str(src),
                subfolder=ip.subfolder,
                weight_name=ip.weight_name,
                image_encoder_folder=ip.image_encoder_folder,
                local_files_only=True,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"the IP-Adapter in {src} could not be loaded: {exc}") from exc
        self.pipe.set_ip_adapter_scale(ip.scale)
        self.pipe.to(self.device)

    def _load_controlnet(self, diffusers: Any, where: str, torch_dtype: Any) -> None:
        """Load a ControlNet from a local folder and build the ControlNet pipeline on the base one."""
        src = Path(where).expanduser()
        if not src.is_absolute() and not src.exists() and (self.path / src).exists():
            src = self.path / src
        if not (src / "config.json").is_file():
            raise ModelUnavailable(
                f"ControlNet folder not found (or it has no config.json): {src}. Give a folder saved with "
                "ControlNetModel.save_pretrained() (e.g. a downloaded lllyasviel/control_v11p_sd15_openpose)."
            )
        require_safetensors(src, "ControlNet")
        try:
            net = diffusers.ControlNetModel.from_pretrained(
                str(src), dtype=torch_dtype, local_files_only=True, use_safetensors=True
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"the ControlNet in {src} could not be loaded: {exc}") from exc
        try:
            pose_pipe = diffusers.AutoPipelineForText2Image.from_pipe(self.pipe, controlnet=net)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelUnavailable(
                f"the pipeline {self.pipeline_class} has no ControlNet text-to-image variant: {exc}"
            ) from exc
        pose_pipe.to(self.device)
        pose_pipe.set_progress_bar_config(disable=True)
        digest = hashlib.sha256()
        for f in sorted(src.iterdir()):
            if f.is_file() and f.suffix in (".json", ".safetensors", ".bin"):
                digest.update(f.name.encode())
                with f.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
        self.controlnet = src
        self.controlnet_sha256 = digest.hexdigest()
        self.pose_pipe = pose_pipe

    def _pose_images(self, shots: list[Shot], poses: dict[Any, bytes] | None) -> list[Any]:
        """The decoded, frame-sized pose image of each shot (``None`` where it has none)."""
        if not poses:
            return [None] * len(shots)
        if not isinstance(poses, dict):
            raise InvalidInput("poses must map a shot index (or shot) to pose image bytes")
        if self.pose_pipe is None:
            raise ModelUnavailable(
                "pose references need a ControlNet: pass controlnet=FOLDER to DiffusersImageGenerator or set "
                '"controlnet": "FOLDER" in the model\'s workbench.json (a folder saved with '
                "ControlNetModel.save_pretrained(), e.g. lllyasviel/control_v11p_sd15_openpose)"
            )
        by_index: dict[int, bytes] = {}
        for key, data in poses.items():
            idx = key.index if isinstance(key, Shot) else key
            if isinstance(idx, bool) or not isinstance(idx, int):
                raise InvalidInput(f"a pose key must be a shot index or a shot, not {key!r}")
            by_index[idx] = data
        from PIL import Image

        from .media import open_reference_image

        out: list[Any] = []
        for sh in shots:
            raw = by_index.get(sh.index)
            if raw is None:
                out.append(None)
                continue
            try:
                image = open_reference_image(raw)
            except InvalidInput as exc:  # TooLarge too: the same kind, with the shot named
                raise type(exc)(f"the pose image of shot {sh.index} could not be read: {exc}") from exc
            if image.size != (self.width, self.height):
                image = image.resize((self.width, self.height), Image.Resampling.BILINEAR)
            out.append((image, hashlib.sha256(raw).hexdigest()))
        return out

    @property
    def fingerprint(self) -> dict[str, Any]:
        revision = self.path.name if self.path.parent.name == "snapshots" else None
        return {
            "backend": "diffusers",
            "model": self.model,
            "pipeline": self.pipeline_class,
            "revision": revision,
            "adapter": self.adapter,
            "ip_adapter": None if self.ip_adapter is None else self.ip_adapter.weight_name,
            "controlnet": None if self.controlnet is None else self.controlnet_sha256,
        }

    # --- IP-Adapter embeddings -----------------------------------------------------
    def reference_embedding(self, image_bytes: bytes) -> Any:
        """The IP-Adapter image embedding of a portrait (cached by the image's sha256)."""
        from .media import open_reference_image

        key = hashlib.sha256(image_bytes).hexdigest()
        with self._lock:
            hit = self._embeds.get(key)
        if hit is not None:
            return hit
        image = open_reference_image(image_bytes)
        torch = self._torch
        with torch.no_grad():
            emb, _neg = self.pipe.encode_image(image, self.device, 1, False)
        emb = emb.reshape(1, -1).to(self.pipe.dtype if hasattr(self.pipe, "dtype") else emb.dtype)
        with self._lock:
            self._embeds[key] = emb
        return emb

    def _ip_embeds(self, refs: list[bytes | None]) -> list[Any]:
        torch = self._torch
        rows = [self.reference_embedding(r) if r else None for r in refs]
        dim = next((r.shape[-1] for r in rows if r is not None), None)
        if dim is None:
            dim = int(self.pipe.image_encoder.config.projection_dim)
        dtype = next((r.dtype for r in rows if r is not None), torch.float32)
        zero = torch.zeros(1, dim, dtype=dtype, device=self.device)
        pos = torch.cat([r if r is not None else zero for r in rows]).unsqueeze(1)
        if self.guidance > 1.0:
            pos = torch.cat([torch.zeros_like(pos), pos])
        return [pos]

    # --- generation ----------------------------------------------------------------
    def _run(
        self,
        prompts: list[str],
        seeds: list[int],
        width: int,
        height: int,
        refs: list[bytes | None] | None = None,
        control: list[Any] | None = None,
    ) -> list[Any]:
        """Draw one batch; with ``control`` images it goes through the ControlNet pipeline."""
        torch = self._torch
        pipe = self.pipe
        kwargs: dict[str, Any] = {
            "prompt": prompts,
            "num_inference_steps": self.steps,
            "guidance_scale": self.guidance,
            "width": width,
            "height": height,
            "generator": [torch.Generator("cpu").manual_seed(int(s)) for s in seeds],
        }
        if self.guidance > 1.0 and self.negative_prompt:
            kwargs["negative_prompt"] = [self.negative_prompt] * len(prompts)
        if self.ip_adapter is not None:
            kwargs["ip_adapter_image_embeds"] = self._ip_embeds(refs or [None] * len(prompts))
        if control:
            pipe = self.pose_pipe
            kwargs["image"] = control
            kwargs["controlnet_conditioning_scale"] = self.controlnet_scale
        try:
            with torch.inference_mode():
                out = pipe(**kwargs)
        except torch.cuda.OutOfMemoryError as exc:  # type: ignore[attr-defined]
            raise GenerationError(f"out of GPU memory at batch {len(prompts)}; lower batch_size") from exc
        return list(out.images)

    def _media(
        self, image: Any, prompt: str, seed: int, width: int, height: int, extra: dict[str, Any]
    ) -> Media:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return Media(
            buf.getvalue(),
            "image/png",
            {
                "backend": "diffusers",
                "model": self.model,
                "prompt": prompt,
                "seed": seed,
                "parameters": {
                    "negative_prompt": self.negative_prompt if self.guidance > 1.0 else None,
                    "steps": self.steps,
                    "guidance": self.guidance,
                    "width": width,
                    "height": height,
                    "dtype": self.dtype_name,
                    "device": self.device.split(":")[0],
                    "pipeline": self.pipeline_class,
                    "adapter": self.adapter,
                    **extra,
                },
            },
        )

    def frames(
        self,
        shots: list[Shot],
        seed: int = 0,
        characters: Any = None,
        references: dict[str, bytes] | None = None,
        poses: dict[Any, bytes] | None = None,
    ) -> list[Media]:
        """One image per shot, drawn in batches; each frame's noise has its own seed.

        ``poses`` maps a shot index (or a shot) to a pose reference image (skeleton, depth or
        edges) for the configured ControlNet; shots with a pose are drawn in their own batches.
        """
        if not shots:
            return []
        pose_images = self._pose_images(shots, poses)
        cast = list(characters or [])
        prompts = [s.prompt or shot_prompt(s, cast) for s in shots]
        seeds = [frame_seed(seed, s) for s in shots]
        refs: list[bytes | None] = []
        for sh in shots:
            who = sh.speaker or (sh.names[0] if sh.names else None)
            refs.append((references or {}).get(who) if who else None)
        out: dict[int, Media] = {}
        plain = [i for i, p in enumerate(pose_images) if p is None]
        posed = [i for i, p in enumerate(pose_images) if p is not None]
        for group in (plain, posed):
            for start in range(0, len(group), self.batch_size):
                batch = group[start : start + self.batch_size]
                control = [pose_images[i][0] for i in batch] if group is posed else None
                images = self._run(
                    [prompts[i] for i in batch],
                    [seeds[i] for i in batch],
                    self.width,
                    self.height,
                    [refs[i] for i in batch],
                    control,
                )
                for img, i in zip(images, batch):
                    shot, r = shots[i], refs[i]
                    extra: dict[str, Any] = {
                        "index": shot.index,
                        "framing": shot.framing,
                        "storyboard_seed": seed,
                    }
                    if self.ip_adapter is not None:
                        extra["ip_adapter_reference"] = hashlib.sha256(r).hexdigest() if r else None
                        extra["ip_adapter_scale"] = self.ip_adapter.scale
                    if self.controlnet is not None:
                        pose = pose_images[i]
                        extra["controlnet"] = str(self.controlnet)
                        extra["controlnet_sha256"] = self.controlnet_sha256
                        extra["pose_reference"] = pose[1] if pose is not None else None
                        extra["controlnet_scale"] = self.controlnet_scale if pose is not None else None
                    out[i] = self._media(img, prompts[i], seeds[i], self.width, self.height, extra)
        return [out[i] for i in range(len(shots))]

    def portrait(self, character: Any, seed: int | None = None, reference: bytes | None = None) -> Media:
        """A portrait from the character's fixed appearance prompt and its own seed."""
        if not getattr(character, "name", None):
            raise InvalidInput("a portrait needs a character with a name")
        seed = character_seed(character) if seed is None else int(seed)
        prompt = f"character portrait, head and shoulders, {appearance_prompt(character)}, neutral background"
        w, h = self.portrait_size
        image = self._run([prompt], [seed], w, h, [reference])[0]
        return self._media(image, prompt, seed, w, h, {})


def factory(spec: Any) -> DiffusersImageGenerator:
    """Entry point ``image.diffusers``: a hub id (in the local cache) or a pipeline folder."""
    model = getattr(spec, "model", "default") or "default"
    if model == "default":
        raise ModelUnavailable("diffusers needs a model: a hub id in the local cache or a pipeline folder")
    return DiffusersImageGenerator(str(spec), model, adapter=getattr(spec, "adapter", None))
