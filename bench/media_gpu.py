"""GPU image benchmark: an SD-Turbo-shaped pipeline of random weights, 512 px, 1 step, batch 8.

Standalone (torch + diffusers + transformers only): every component is built from a
config in this file with random weights, nothing is downloaded. Times 20 frames
(batches of 8, 8, 4) including the text encoder and the VAE decode, after a warm-up.
Goal on an H100/H200: 20 frames in at most 1 s.

Run:  python bench/media_gpu.py                 (CUDA, fp16)
      python bench/media_gpu.py --tiny --device cpu   (a small smoke run of the same code path)
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings


def build_pipeline(device: str, dtype_name: str, tiny: bool):
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPTextConfig, CLIPTextModel, PreTrainedTokenizerFast

    dtype = getattr(torch, dtype_name)
    words = ["<|startoftext|>", "<|endoftext|>", "<pad>", "<unk>"] + (
        "cinematic storyboard frame wide medium close-up shot of a woman man in the lighthouse kitchen night rain "
        "tall silver braid green coat stocky round glasses red scarf , ."
    ).split()
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<pad>",
        unk_token="<unk>", model_max_length=77,
    )  # fmt: skip
    if tiny:
        unet_kw = dict(
            block_out_channels=(32, 64), layers_per_block=1, sample_size=8, attention_head_dim=(2, 4),
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=64, use_linear_projection=True,
        )  # fmt: skip
        vae_kw = dict(block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8)
        te_kw = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2)
    else:  # stabilityai/sd-turbo (SD 2.1 architecture): UNet ~865M, OpenCLIP-H text encoder (23 layers), VAE
        unet_kw = dict(
            block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, sample_size=64,
            attention_head_dim=(5, 10, 20, 20),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            cross_attention_dim=1024, use_linear_projection=True,
        )  # fmt: skip
        vae_kw = dict(block_out_channels=(128, 256, 512, 512), layers_per_block=2, norm_num_groups=32)
        te_kw = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23)
    n_vae = len(vae_kw["block_out_channels"])
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(in_channels=4, out_channels=4, **unet_kw)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4,
            down_block_types=("DownEncoderBlock2D",) * n_vae, up_block_types=("UpDecoderBlock2D",) * n_vae, **vae_kw,
        )  # fmt: skip
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=49408, max_position_embeddings=77, hidden_act="gelu", projection_dim=512,
                bos_token_id=0, eos_token_id=1, pad_token_id=2, **te_kw,
            )
        )  # fmt: skip
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="trailing",
        prediction_type="epsilon", steps_offset=1,
    )  # fmt: skip
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, image_encoder=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.to(device, dtype)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for m in (unet, vae, text_encoder) for p in m.parameters())
    return pipe, params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default=None, help="float16 (CUDA default), bfloat16, float32 (CPU default)")
    ap.add_argument("--tiny", action="store_true", help="small components: a smoke run of the code path")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=None, help="pixels (default 512, tiny 64)")
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--compile", action="store_true", help="torch.compile the UNet (long warm-up)")
    args = ap.parse_args()

    import torch

    dtype = args.dtype or ("float16" if args.device.startswith("cuda") else "float32")
    size = args.size or (64 if args.tiny else 512)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    t0 = time.perf_counter()
    pipe, params = build_pipeline(args.device, dtype, args.tiny)
    build_s = time.perf_counter() - t0
    if args.device.startswith("cuda"):
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if args.compile:
        pipe.unet = torch.compile(pipe.unet, mode="max-autotune-no-cudagraphs", fullgraph=False)

    prompts = [
        f"cinematic storyboard frame, medium shot, lighthouse kitchen, night, {i}" for i in range(args.frames)
    ]

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def run() -> list:
        images = []
        for start in range(0, args.frames, args.batch):
            batch = prompts[start : start + args.batch]
            gens = [torch.Generator("cpu").manual_seed(1000 + start + i) for i in range(len(batch))]
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # random weights in half precision: NaN pixels are expected
                out = pipe(
                    prompt=batch, num_inference_steps=args.steps, guidance_scale=0.0, width=size, height=size,
                    generator=gens, output_type="pil",
                )  # fmt: skip
            images.extend(out.images)
        sync()
        return images

    t0 = time.perf_counter()
    run()  # warm-up (kernels, cudnn autotune, compile)
    warm_s = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        images = run()
        times.append(time.perf_counter() - t0)
    best = min(times)
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    figures = {
        "device": device_name,
        "dtype": dtype,
        "tiny": args.tiny,
        "params_m": round(params / 1e6, 1),
        "size_px": size,
        "steps": args.steps,
        "batch": args.batch,
        "frames": len(images),
        "build_s": round(build_s, 2),
        "warmup_s": round(warm_s, 2),
        "seconds_for_frames": round(best, 3),
        "seconds_runs": [round(t, 3) for t in times],
        "frames_per_s": round(len(images) / best, 1),
        "goal_met": bool(best <= 1.0) if not args.tiny else None,
    }
    print(f"{len(images)} frames at {size} px in {best:.3f} s on {device_name} ({dtype})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
