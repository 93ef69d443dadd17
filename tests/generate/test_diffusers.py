"""The diffusers backend with a tiny random-weight Stable Diffusion pipeline built here."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.errors import InvalidInput, ModelUnavailable, TooLarge
from workbench.generate.base import ImageGenerator
from workbench.generate.media import make_portrait, make_storyboard
from workbench.generate.shots import shots_from_scene
from workbench.generate.spec import parse_spec
from workbench.story.screenplay import parse_scene

from .media_helpers import CAST, MARA, SCENE, pose_png

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")


def _tokenizer() -> object:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<|startoftext|>", "<|endoftext|>", "<pad>", "<unk>"]
    words += "a an the of in at on with and , . storyboard frame cinematic wide medium close-up shot".split()
    words += "portrait head shoulders neutral background establishing lighthouse kitchen night".split()
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|startoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=77,
    )


def _ip_adapter(folder: Path, unet: object, cross_dim: int = 32, clip_dim: int = 32) -> Path:
    """A random IP-Adapter for the tiny UNet, in the layout of h94/IP-Adapter (models/ + image_encoder/)."""
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    sd = {
        "image_proj.proj.weight": torch.randn(4 * cross_dim, clip_dim) * 0.02,
        "image_proj.proj.bias": torch.zeros(4 * cross_dim),
        "image_proj.norm.weight": torch.ones(cross_dim),
        "image_proj.norm.bias": torch.zeros(cross_dim),
    }
    key_id = 1
    for name in unet.attn_processors:  # type: ignore[attr-defined]
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = unet.config.block_out_channels[-1]  # type: ignore[attr-defined]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(unet.config.block_out_channels))[int(name[len("up_blocks.")])]  # type: ignore[attr-defined]
        else:
            hidden = unet.config.block_out_channels[int(name[len("down_blocks.")])]  # type: ignore[attr-defined]
        sd[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross_dim) * 0.5
        sd[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross_dim) * 0.5
        key_id += 2
    (folder / "models").mkdir(parents=True)
    save_file(sd, str(folder / "models" / "ip.safetensors"))
    enc = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, projection_dim=clip_dim, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, image_size=32, patch_size=4, num_channels=3,
        )
    )  # fmt: skip
    enc.save_pretrained(folder / "models" / "image_encoder")
    return folder


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Stable Diffusion pipeline with diffusers' own get_dummy_components sizes, saved to a folder."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2,
    )  # fmt: skip
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=2,
    )  # fmt: skip
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, hidden_size=32, intermediate_size=64, layer_norm_eps=1e-05,
            num_attention_heads=8, num_hidden_layers=3, pad_token_id=2, vocab_size=1000,
        )
    )  # fmt: skip
    pipe = StableDiffusionPipeline(
        unet=unet, scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=_tokenizer(),
        safety_checker=None, feature_extractor=None, image_encoder=None, requires_safety_checker=False,
    )  # fmt: skip
    root = tmp_path_factory.mktemp("tiny-sd")
    pipe.save_pretrained(root / "pipe")
    (root / "pipe" / "workbench.json").write_text(json.dumps({"steps": 2, "guidance": 3.0, "batch_size": 2}))
    _ip_adapter(root / "ip", unet)
    return root


@pytest.fixture(scope="module")
def tiny_controlnet(tiny_sd: Path) -> Path:
    """A random ControlNet for the tiny UNet (diffusers' test recipe), saved to a folder."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(tiny_sd / "pipe" / "unet"))
    torch.manual_seed(0)
    # the tiny VAE halves the image, so the conditioning embedding downsamples once
    net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
    # a fresh ControlNet's output convolutions are zero (it changes nothing): give them weights
    zeroed = [*net.controlnet_down_blocks, net.controlnet_mid_block, net.controlnet_cond_embedding.conv_out]
    with torch.no_grad():
        for m in zeroed:
            torch.nn.init.normal_(m.weight, std=0.5)
            torch.nn.init.normal_(m.bias, std=0.5)
    net.save_pretrained(tiny_sd / "controlnet")
    return tiny_sd / "controlnet"


@pytest.fixture(scope="module")
def gen(tiny_sd: Path) -> object:
    from workbench.generate.diffusers_backend import factory

    return factory(parse_spec(str(tiny_sd / "pipe"), "image"))


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_loads_through_auto_pipeline_with_per_model_settings(gen: object) -> None:
    assert isinstance(gen, ImageGenerator)
    assert gen.device == "cpu" and gen.dtype_name == "float32"  # type: ignore[attr-defined]
    assert (gen.steps, gen.guidance, gen.batch_size) == (2, 3.0, 2)  # type: ignore[attr-defined]
    assert (gen.width, gen.height) == (64, 32)  # type: ignore[attr-defined]
    fp = gen.fingerprint  # type: ignore[attr-defined]
    assert fp["backend"] == "diffusers" and fp["pipeline"] == "StableDiffusionPipeline"


def test_storyboard_batches_with_per_frame_seeds(gen: object) -> None:
    frames = make_storyboard(gen, SCENE, CAST, frames=3, seed=7)  # type: ignore[arg-type]
    assert len(frames) == 3
    shots = shots_from_scene(parse_scene(SCENE, [c.name for c in CAST]), CAST, frames=3)
    for m, shot in zip(frames, shots):
        assert Image.open(io.BytesIO(m.data)).size == (64, 32)
        p = m.provenance
        assert p["backend"] == "diffusers" and p["prompt"] == shot.prompt
        assert MARA.appearance in p["prompt"]
        assert p["parameters"]["steps"] == 2 and p["parameters"]["storyboard_seed"] == 7
    assert len({m.provenance["seed"] for m in frames}) == 3
    # reproducible, and different for another storyboard seed
    again = make_storyboard(gen, SCENE, CAST, frames=3, seed=7)  # type: ignore[arg-type]
    assert [m.provenance["seed"] for m in again] == [m.provenance["seed"] for m in frames]
    for a, b in zip(frames, again):
        assert np.abs(_pixels(a.data) - _pixels(b.data)).max() <= 1
    other = make_storyboard(gen, SCENE, CAST, frames=3, seed=8)  # type: ignore[arg-type]
    assert np.abs(_pixels(other[0].data) - _pixels(frames[0].data)).max() > 2


def test_a_frame_does_not_depend_on_its_batch(gen: object) -> None:
    shots = shots_from_scene(parse_scene(SCENE, [c.name for c in CAST]), CAST, frames=4)
    batch = gen.frames(shots, seed=3)  # type: ignore[attr-defined]  # batches of 2
    alone = gen.frames(shots[2:3], seed=3)  # type: ignore[attr-defined]  # batch of 1
    assert alone[0].provenance["seed"] == batch[2].provenance["seed"]
    assert np.abs(_pixels(alone[0].data) - _pixels(batch[2].data)).max() <= 2


def test_portrait_uses_the_character_seed(gen: object) -> None:
    a = make_portrait(gen, MARA)  # type: ignore[arg-type]
    b = make_portrait(gen, MARA, seed=99)  # type: ignore[arg-type]
    assert a.provenance["seed"] != b.provenance["seed"] == 99
    assert MARA.appearance in a.provenance["prompt"]
    assert Image.open(io.BytesIO(a.data)).size == (48, 64)


def test_ip_adapter_uses_the_portrait_and_caches_its_embedding(tiny_sd: Path) -> None:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    gen = DiffusersImageGenerator(
        "tiny+ip",
        str(tiny_sd / "pipe"),
        ip_adapter={
            "path": str(tiny_sd / "ip"),
            "subfolder": "models",
            "weight_name": "ip.safetensors",
            "scale": 1.0,
        },
    )
    portrait = make_portrait(gen, MARA).data
    plain = make_storyboard(gen, SCENE, CAST, frames=3, seed=1)
    steered = make_storyboard(gen, SCENE, CAST, frames=3, seed=1, references={"Mara Vale": portrait})
    assert len(gen._embeds) == 1  # computed once
    make_storyboard(gen, SCENE, CAST, frames=3, seed=1, references={"Mara Vale": portrait})
    assert len(gen._embeds) == 1
    # the close-up on Mara is steered by her portrait; the provenance says so
    assert steered[1].provenance["parameters"]["ip_adapter_reference"] is not None
    assert plain[1].provenance["parameters"]["ip_adapter_reference"] is None
    assert np.abs(_pixels(plain[1].data) - _pixels(steered[1].data)).max() > 2


def test_bad_reference_images(tiny_sd: Path) -> None:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    gen = DiffusersImageGenerator(
        "tiny+ip",
        str(tiny_sd / "pipe"),
        ip_adapter={"path": str(tiny_sd / "ip"), "subfolder": "models", "weight_name": "ip.safetensors"},
    )
    with pytest.raises(InvalidInput):
        gen.reference_embedding(b"\x89PNG\r\n\x1a\n not really a png")
    # a decompression bomb: a tiny file that claims a huge image; Pillow's guard stays on
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")
    with pytest.raises(TooLarge):
        gen.reference_embedding(buf.getvalue())
    with pytest.raises(TooLarge):
        gen.reference_embedding(b"\0" * (21 * 1024 * 1024))


def test_missing_models_are_clear_errors(tmp_path: Path, tiny_sd: Path) -> None:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator, factory, is_turbo

    with pytest.raises(ModelUnavailable, match="not found"):
        factory(parse_spec(str(tmp_path / "no-such-model"), "image"))
    with pytest.raises(ModelUnavailable, match="model_index.json"):
        factory(parse_spec(str(tmp_path), "image"))
    with pytest.raises(ModelUnavailable, match="local Hugging Face cache"):
        factory(parse_spec("nobody/not-a-real-model", "image"))
    with pytest.raises(ModelUnavailable, match="IP-Adapter weights not found"):
        DiffusersImageGenerator("x", str(tiny_sd / "pipe"), ip_adapter={"path": str(tmp_path)})
    assert is_turbo("stabilityai/sd-turbo") and is_turbo("x", "LCMScheduler") and not is_turbo("sd-v1-5")


def test_turbo_defaults(tiny_sd: Path, tmp_path: Path) -> None:
    import shutil

    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    turbo = tmp_path / "tiny-sd-turbo"
    shutil.copytree(tiny_sd / "pipe", turbo)
    (turbo / "workbench.json").unlink()
    gen = DiffusersImageGenerator("t", str(turbo))
    assert gen.turbo and gen.steps == 1 and gen.guidance == 0.0
    m = gen.frames(shots_from_scene(parse_scene(SCENE), [], frames=1), seed=0)[0]
    assert m.provenance["parameters"]["negative_prompt"] is None


@pytest.fixture(scope="module")
def pose_gen(tiny_sd: Path, tiny_controlnet: Path) -> object:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    return DiffusersImageGenerator("tiny+controlnet", str(tiny_sd / "pipe"), controlnet=str(tiny_controlnet))


def test_a_pose_steers_the_frame_through_controlnet(pose_gen: object) -> None:
    shots = shots_from_scene(parse_scene(SCENE, [c.name for c in CAST]), CAST, frames=3)
    g = pose_gen
    assert type(g.pose_pipe).__name__ == "StableDiffusionControlNetPipeline"  # type: ignore[attr-defined]
    assert g.pose_pipe.unet is g.pipe.unet  # type: ignore[attr-defined]  # components are shared
    pose = pose_png(64, 32)
    plain = g.frames(shots, seed=5)  # type: ignore[attr-defined]
    posed = g.frames(shots, seed=5, poses={shots[1].index: pose})  # type: ignore[attr-defined]
    # keyed by the shot this time, and drawn in a batch of one
    again = g.frames(shots[1:2], seed=5, poses={shots[1]: pose})  # type: ignore[attr-defined]
    # the pose changes its frame; the same pose and seed give the same frame
    assert np.abs(_pixels(plain[1].data) - _pixels(posed[1].data)).max() > 2
    assert np.abs(_pixels(again[0].data) - _pixels(posed[1].data)).max() <= 2
    # another pose gives another frame; a pose of another size is resized to the frame
    other = g.frames(shots[1:2], seed=5, poses={shots[1].index: pose_png(40, 90, lean=6)})  # type: ignore[attr-defined]
    assert Image.open(io.BytesIO(other[0].data)).size == (64, 32)
    assert np.abs(_pixels(other[0].data) - _pixels(posed[1].data)).max() > 2
    # shots without a pose go through the base pipeline, whatever else is in the call
    for i in (0, 2):
        assert np.abs(_pixels(posed[i].data) - _pixels(plain[i].data)).max() <= 1
    p, q = posed[1].provenance["parameters"], posed[0].provenance["parameters"]
    assert p["pose_reference"] is not None and q["pose_reference"] is None
    assert p["controlnet_scale"] == 1.0 and q["controlnet_scale"] is None
    assert p["controlnet"].endswith("controlnet") and len(p["controlnet_sha256"]) == 64
    assert [m.provenance["parameters"]["index"] for m in posed] == [s.index for s in shots]
    assert g.fingerprint["controlnet"] == p["controlnet_sha256"]  # type: ignore[attr-defined]


def test_controlnet_from_workbench_json(tiny_sd: Path, tiny_controlnet: Path, tmp_path: Path) -> None:
    import shutil

    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    model = tmp_path / "tiny-sd-pose"
    shutil.copytree(tiny_sd / "pipe", model)
    shutil.copytree(tiny_controlnet, model / "openpose")
    settings = json.loads((model / "workbench.json").read_text())
    (model / "workbench.json").write_text(
        json.dumps({**settings, "controlnet": "openpose", "controlnet_scale": 0.5})
    )
    g = DiffusersImageGenerator("t", str(model))
    assert g.controlnet == model / "openpose" and g.controlnet_scale == 0.5
    shots = shots_from_scene(parse_scene(SCENE), [], frames=1)
    m = g.frames(shots, seed=0, poses={shots[0].index: pose_png()})[0]
    assert m.provenance["parameters"]["controlnet_scale"] == 0.5


def test_bad_poses_are_clear_errors(gen: object, pose_gen: object, tmp_path: Path) -> None:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    shots = shots_from_scene(parse_scene(SCENE), [], frames=1)
    with pytest.raises(ModelUnavailable, match="need a ControlNet.*controlnet"):
        gen.frames(shots, seed=0, poses={shots[0].index: pose_png()})  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match=f"pose image of shot {shots[0].index}"):
        pose_gen.frames(shots, seed=0, poses={shots[0].index: b"\x89PNG\r\n\x1a\n not really a png"})  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="shot index"):
        pose_gen.frames(shots, seed=0, poses={"close-up": pose_png()})  # type: ignore[attr-defined]
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")
    with pytest.raises(TooLarge):
        pose_gen.frames(shots, seed=0, poses={shots[0].index: buf.getvalue()})  # type: ignore[attr-defined]
    with pytest.raises(ModelUnavailable, match="ControlNet folder not found"):
        DiffusersImageGenerator("x", str(gen.path), controlnet=str(tmp_path / "nope"))  # type: ignore[attr-defined]


def test_a_pickle_only_controlnet_is_refused(tiny_sd: Path, tiny_controlnet: Path, tmp_path: Path) -> None:
    """Before: ControlNetModel.from_pretrained fell back to diffusion_pytorch_model.bin (a pickle)."""
    from safetensors.torch import load_file

    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    net = tmp_path / "controlnet"
    shutil.copytree(tiny_controlnet, net)
    for f in net.glob("*.safetensors"):
        torch.save(load_file(str(f)), net / "diffusion_pytorch_model.bin")
        f.unlink()
    with pytest.raises(
        ModelUnavailable, match="ControlNet .* only pickle weights .*diffusion_pytorch_model.bin"
    ):
        DiffusersImageGenerator("x", str(tiny_sd / "pipe"), controlnet=str(net))


def test_an_ip_adapter_must_be_safetensors(tiny_sd: Path) -> None:
    from workbench.generate.diffusers_backend import DiffusersImageGenerator

    with pytest.raises(ModelUnavailable, match="not a .safetensors file"):
        DiffusersImageGenerator(
            "x", str(tiny_sd / "pipe"), ip_adapter={"path": str(tiny_sd / "ip"), "weight_name": "ip.bin"}
        )
