"""Tiny random-weight models built locally for the tests (the way transformers' own tests do)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_llama(out: Path, seed: int = 1234, run_to_cap: bool = False) -> Path:
    """A seeded 2-layer Llama with the real SmolLM2 tokenizer and chat template, saved to ``out``.

    Logits spread about 2 nats: neither uniform noise nor one token every time. With
    ``run_to_cap`` the special tokens' output rows are zero, so they are almost never drawn
    and takes run to the token cap.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from workbench.generate.local import default_gguf_path

    if (out / "config.json").is_file():
        return out
    gguf = default_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=8192,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.embed_tokens.weight.normal_(0.0, 1.0)
        model.lm_head.weight.normal_(0.0, 0.35)
        if run_to_cap:
            for special in tokenizer.all_special_ids:
                model.lm_head.weight[special].zero_()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out
