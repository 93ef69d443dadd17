"""Held-out preference accuracy: does the model give the chosen take the higher likelihood?

For each ``prompt``/``chosen``/``rejected`` pair the score of a completion is its mean
log-probability per token given the prompt (length-normalised, so a short take does not win
by being short). The table gives, for the base model and for the adapter, the fraction of
pairs where the chosen take scores higher and the mean margin. The base numbers come from
the same loaded model with the adapter disabled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

__all__ = ["completion_logprob", "evaluate", "load_pairs", "plot"]


def load_pairs(source: str | os.PathLike[str] | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Preference rows from a list, a JSONL file, or an export folder (its ``test.jsonl``)."""
    if not isinstance(source, (str, os.PathLike)):
        rows = list(source)
    else:
        path = Path(source)
        if path.is_dir():
            path = path / "test.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        if not all(isinstance(r.get(k), str) for k in ("prompt", "chosen", "rejected")):
            raise InvalidInput("evaluation needs rows with prompt, chosen and rejected")
    return rows


def completion_logprob(
    model: Any, tokenizer: Any, prompt: str, completion: str, max_length: int = 1024
) -> float:
    """Mean log-probability per token of ``completion`` after ``prompt`` (the prompt cut from the left)."""
    import torch

    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    if not c_ids:
        return float("-inf")
    c_ids = c_ids[: max_length - 1]
    p_ids = p_ids[-(max_length - len(c_ids)) :] if p_ids else []
    ids = torch.tensor([p_ids + c_ids], device=next(model.parameters()).device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    targets = ids[0, 1:]
    picked = logp.gather(1, targets[:, None])[:, 0]
    start = max(len(p_ids) - 1, 0)
    return float(picked[start:].mean())


def _score(model: Any, tokenizer: Any, pairs: Sequence[dict[str, Any]], max_length: int) -> dict[str, float]:
    margins = [
        completion_logprob(model, tokenizer, r["prompt"], r["chosen"], max_length)
        - completion_logprob(model, tokenizer, r["prompt"], r["rejected"], max_length)
        for r in pairs
    ]
    wins = sum(m > 0 for m in margins)
    return {"pairs": len(pairs), "accuracy": wins / len(pairs), "mean_margin": sum(margins) / len(margins)}


def evaluate(
    pairs: str | os.PathLike[str] | Sequence[dict[str, Any]],
    adapter: str | os.PathLike[str] | None = None,
    model: str = "default",
    max_length: int = 1024,
) -> list[dict[str, Any]]:
    """A table (list of dicts): the base model's row and, with ``adapter``, the adapter's row."""
    from .train import load_model

    rows = load_pairs(pairs)
    if not rows:
        raise InvalidInput("no preference pairs to evaluate: export with --split to hold some out")
    net, tokenizer = load_model(model, adapter)
    net.eval()
    if adapter is None:
        return [{"model": model, **_score(net, tokenizer, rows, max_length)}]
    with net.disable_adapter():
        base = {"model": model, **_score(net, tokenizer, rows, max_length)}
    tuned = {"model": f"{model}+{adapter}", **_score(net, tokenizer, rows, max_length)}
    return [base, tuned]


def plot(table: Sequence[dict[str, Any]], ax: Any = None) -> Any:
    """A bar chart of the accuracy column (matplotlib, optional); returns the axes."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional
        raise InvalidInput("plotting needs matplotlib: `pip install matplotlib`") from exc
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 2.5))
    labels = ["base" if i == 0 else "adapter" for i in range(len(table))]
    ax.bar(labels, [r["accuracy"] for r in table], color=["#8a8a8a", "#3b6ea5"][: len(table)])
    ax.axhline(0.5, color="#c44", lw=1, ls="--")
    ax.set_ylim(0, 1)
    ax.set_ylabel("chosen preferred")
    ax.set_title(f"held-out pairs: {table[0]['pairs']}")
    return ax
