"""Tiny random-weight models built locally for the tests (the way transformers' own tests do)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_llama(out: Path, seed: int = 1234, run_to_cap: bool = False) -> Path:
    """A seeded 2-layer Llama with the real SmolLM2 tokenizer and chat template, saved to ``out``.

    Logits spread about 2 nats: neither uniform noise nor one token every time. With
    ``run_to_cap`` the special tokens' output rows are zero, so they are almost never drawn
    and takes run to the token cap.
    """
    from transformers import AutoTokenizer

    from workbench.generate.local import default_gguf_path

    if (out / "config.json").is_file():
        return out
    gguf = default_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return _save_tiny_llama(out, tokenizer, seed, zero_rows=tokenizer.all_special_ids if run_to_cap else ())


def _save_tiny_llama(out: Path, tokenizer, seed: int, zero_rows=()) -> Path:
    """A 2-layer random Llama for ``tokenizer`` (logits spread about 2 nats), saved with it to ``out``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

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
        for row in zero_rows:
            model.lm_head.weight[row].zero_()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def build_tiny_sentencepiece_llama(out: Path, seed: int = 7) -> Path:
    """A 2-layer random Llama with a Llama-2-style tokenizer built here with ``tokenizers``:
    SentencePiece pieces, ``▁`` spaces, ``<0xNN>`` byte fallback (every letter outside ASCII is
    written byte by byte), and a plain chat template."""
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import PreTrainedTokenizerFast

    pieces = ["<unk>", "<s>", "</s>", *[f"<0x{b:02X}>" for b in range(256)]]
    pieces += [chr(c) for c in range(33, 127)] + ["\u2581"]
    merges = [
        ("\u2581", "t"),
        ("h", "e"),
        ("\u2581t", "he"),
        ("\u2581", "a"),
        ("i", "n"),
        ("o", "n"),
        ("e", "r"),
    ]
    pieces += ["".join(m) for m in merges]
    model = models.BPE(
        vocab={p: i for i, p in enumerate(pieces)},
        merges=merges,
        unk_token="<unk>",
        byte_fallback=True,
        fuse_unk=True,
    )
    tok = Tokenizer(model)
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence(
        [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<unk>"
    )
    fast.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
        "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
    )
    return _save_tiny_llama(out, fast, seed)
