"""Training-data export formats: ``trl-sft``, ``trl-dpo`` and ``ratings`` (JSONL in TRL's columns).

Options (CLI: ``--min-rating N --branch B --since DATE --rater R --split 0.1``, others as
``-O key=value``): ``min_rating``, ``branch``, ``since``, ``rater``; ``split`` (a test
fraction: OUT becomes a folder with ``train.jsonl``, ``test.jsonl`` and a dataset card
``README.md``, scenes held out whole); ``seed`` (the split's seed, default 0); ``messages``
(``trl-sft`` only: a ``messages`` column instead of ``prompt``/``completion``);
``metadata`` (default true: a ``metadata`` column TRL does not read); ``license`` (for the
card, default ``other``); ``rebuild_prompts`` (default true, see :mod:`.dataset`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..files import atomic_dir, atomic_write_text
from ..interop.registry import Format
from .dataset import NoFeedback, preference_rows, rating_rows, select, sft_rows, split_by_scene

__all__ = ["RATINGS", "TRL_DPO", "TRL_SFT", "build_rows", "write_rows"]

_KINDS: dict[str, tuple[str, Callable[..., list[dict[str, Any]]]]] = {
    "trl-sft": ("supervised fine-tuning: the takes writers accepted", sft_rows),
    "trl-dpo": ("preference pairs: chosen over rejected takes", preference_rows),
    "ratings": ("star ratings with a KTO-style boolean label", rating_rows),
}
_HOW = {
    "trl-sft": "SFTTrainer (prompt/completion, or messages)",
    "trl-dpo": "DPOTrainer (prompt/chosen/rejected)",
    "ratings": "KTOTrainer (prompt/completion/label)",
}
_EMPTY_HINT = {
    "trl-sft": "choose, edit or rate (4 stars or more) some takes first",
    "trl-dpo": "choose one take over another, edit a take or make a blind A/B pick first",
    "ratings": "rate some takes first",
}


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise InvalidInput(f"the option {name} is true or false, not {value!r}")


def build_rows(
    project: Any,
    kind: str,
    *,
    min_rating: Any = None,
    branch: str | None = None,
    since: Any = None,
    rater: str | None = None,
    messages: Any = False,
    rebuild_prompts: Any = True,
) -> list[dict[str, Any]]:
    """The rows of one format (``trl-sft``, ``trl-dpo`` or ``ratings``); raises :class:`NoFeedback` if none."""
    if kind not in _KINDS:
        raise InvalidInput(f"unknown training format {kind!r}; known: {', '.join(_KINDS)}")
    sel = select(
        project,
        min_rating=min_rating,
        branch=branch,
        since=since,
        rater=rater,
        rebuild_prompts=_flag(rebuild_prompts, "rebuild_prompts"),
    )
    builder = _KINDS[kind][1]
    rows = builder(sel, messages=_flag(messages, "messages")) if kind == "trl-sft" else builder(sel)
    if not rows:
        filtered = [
            n
            for n, v in (("min_rating", min_rating), ("branch", branch), ("since", since), ("rater", rater))
            if v not in (None, "")
        ]
        why = f" matching {', '.join(filtered)}" if filtered else ""
        raise NoFeedback(f"no human feedback yet{why} for {kind}: {_EMPTY_HINT[kind]}")
    return rows


def _jsonl(rows: list[dict[str, Any]], metadata: bool) -> str:
    out = []
    for row in rows:
        if not metadata:
            row = {k: v for k, v in row.items() if k != "metadata"}
        out.append(json.dumps(row, ensure_ascii=False, sort_keys=False))
    return "\n".join(out) + ("\n" if out else "")


def _card(
    project: Any, kind: str, splits: dict[str, list[dict[str, Any]]], options: dict[str, Any], license_: str
) -> str:
    rows = [r for part in splits.values() for r in part]
    models: set[str] = set()
    raters: set[str] = set()
    stamps = []
    for r in rows:
        meta = r.get("metadata", {})
        for key in ("model", "chosen_model", "rejected_model"):
            if meta.get(key):
                models.add(str(meta[key]))
        raters.add(str(meta.get("rater")))
        stamps.append(meta.get("ts", ""))
    columns = [k for k in rows[0] if k != "metadata"] if rows else []
    files = "\n".join(f"      - split: {name}\n        path: {name}.jsonl" for name in splits)
    counts = "\n".join(
        f"| {name} | {len(part)} | {len({r['metadata']['scene_id'] for r in part})} |"
        for name, part in splits.items()
    )
    title = getattr(project, "title", "") or "Untitled"
    filt = ", ".join(f"{k}={v}" for k, v in options.items() if v not in (None, "", False)) or "none"
    data_files = ", ".join(f'"{name}": "{name}.jsonl"' for name in splits)
    return f"""---
license: {license_}
tags:
- story-workbench
- {kind}
configs:
- config_name: default
  data_files:
{files}
---

# {title}: {_KINDS[kind][0]}

Exported by Story Workbench from the project's feedback log on
{datetime.now(UTC).strftime("%Y-%m-%d")}. Only human feedback is included: choices a program
made (rater `auto`) never are. Scenes are held out whole, so no scene is in both splits.

| split | rows | scenes |
|---|---|---|
{counts}

- Columns: {", ".join(f"`{c}`" for c in columns)} (plus `metadata`: scene and take ids, model, seeds, rater, time; TRL ignores it)
- Trainer: TRL {_HOW[kind]}
- Models that wrote the takes: {", ".join(sorted(models)) or "writers only"}
- Raters: {", ".join(sorted(raters))}
- Feedback dates: {min(stamps)[:10] if stamps else "-"} to {max(stamps)[:10] if stamps else "-"}
- Filters: {filt}
- Licence: {license_} (the story text belongs to its authors; set `-O license=...` when exporting)

## Load

```python
from datasets import load_dataset
ds = load_dataset("json", data_files={{{data_files}}})
```
"""


def write_rows(
    project: Any,
    kind: str,
    out_path: Path,
    *,
    split: Any = None,
    seed: Any = 0,
    metadata: Any = True,
    license: str = "other",
    **filters: Any,
) -> list[Path]:
    """Export one training format to ``out_path`` (a JSONL file, or a folder when ``split`` is set)."""
    keep_meta = _flag(metadata, "metadata")
    rows = build_rows(project, kind, **filters)
    out_path = Path(out_path)
    fraction = 0.0 if split in (None, "") else split
    train, test = split_by_scene(rows, fraction, int(seed))
    if not float(fraction):
        out_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_path, _jsonl(rows, keep_meta))
        return [out_path]
    splits = {"train": train, "test": test}
    options = {"split": fraction, "seed": seed, **filters}
    with atomic_dir(out_path) as tmp:
        for name, part in splits.items():
            (tmp / f"{name}.jsonl").write_text(_jsonl(part, keep_meta), encoding="utf-8")
        (tmp / "README.md").write_text(_card(project, kind, splits, options, license), encoding="utf-8")
    return [out_path / "train.jsonl", out_path / "test.jsonl", out_path / "README.md"]


def _exporter(kind: str) -> Callable[..., list[Path]]:
    def export(project: Any, out_path: Path, **options: Any) -> list[Path]:
        return write_rows(project, kind, out_path, **options)

    export.__doc__ = f"Export {kind} rows ({_KINDS[kind][0]})."
    return export


TRL_SFT = Format(
    "trl-sft",
    (".sft.jsonl",),
    export=_exporter("trl-sft"),
    description="TRL SFT dataset (prompt/completion JSONL) of accepted takes",
)
TRL_DPO = Format(
    "trl-dpo",
    (".dpo.jsonl",),
    export=_exporter("trl-dpo"),
    description="TRL DPO dataset (prompt/chosen/rejected JSONL) from choices, edits and A/B picks",
)
RATINGS = Format(
    "ratings",
    (".ratings.jsonl",),
    export=_exporter("ratings"),
    description="star ratings (prompt/completion/label/rating JSONL; TRL KTO reads it)",
)
