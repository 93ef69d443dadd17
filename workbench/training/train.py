"""LoRA fine-tuning of the local text model on the project's feedback (TRL + peft).

``method="sft"`` trains on the accepted takes with TRL's ``SFTTrainer`` (the loss covers the
completion tokens only); ``method="dpo"`` trains on preference pairs with ``DPOTrainer``
(the standard sigmoid loss; the frozen reference is the same model with the adapter
disabled). A tqdm bar shows the steps; CUDA is used when present, else the CPU.

The adapter is written into a temporary folder beside ``out`` and renamed into place only
when training finished, so an interrupted or failed run leaves an earlier adapter at
``out`` untouched. It loads as the model spec ``MODEL+OUT`` (``default+OUT`` for the default
model) everywhere a spec is taken.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, ModelUnavailable, WorkbenchError
from ..files import atomic_dir
from ..generate.weights import require_safetensors

__all__ = ["METHODS", "TRAINING_FILE", "TrainResult", "TrainingError", "load_model", "train"]

METHODS = ("sft", "dpo")
TRAINING_FILE = "workbench-training.json"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]


class TrainingError(WorkbenchError):
    """Training could not run (no data, a bad option, the libraries missing)."""


@dataclass
class TrainResult:
    """What a training run did."""

    adapter: Path
    method: str
    base: str
    steps: int
    rows: int
    seconds: float
    device: str
    losses: list[float] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else 0.0

    @property
    def spec(self) -> str:
        """The model spec that loads the base model with this adapter."""
        return f"{self.base}+{self.adapter}"


def _require() -> None:
    import importlib.util

    missing = [
        m for m in ("torch", "transformers", "peft", "trl", "datasets") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise TrainingError(
            f"training needs {', '.join(missing)}: `pip install 'story-workbench[train]'` "
            "(after torch==2.13.0), or `pip install -c constraints.txt -r requirements/train.txt`"
        )


def _model_path(model: str) -> tuple[str, str]:
    """(base spec, local folder) for a local model spec without an adapter."""
    from ..generate.spec import parse_spec

    spec = parse_spec(model)
    if spec.backend != "local":
        raise InvalidInput(f"training needs a local model, not {model!r} (a server's weights are not here)")
    if spec.model == "default":
        from ..generate.local import ensure_default_model_dir

        return "default", str(ensure_default_model_dir())
    path = Path(spec.model).expanduser()
    if not path.is_dir():
        raise ModelUnavailable(f"no local model folder at {spec.model!r}")
    return spec.model, str(path)


def load_model(
    model: str = "default", adapter: str | os.PathLike[str] | None = None, trainable: bool = False
) -> tuple[Any, Any]:
    """(model, tokenizer) for a local spec, with a LoRA adapter applied when one is given or in the spec.

    A missing or damaged adapter raises :class:`~workbench.errors.ModelUnavailable`.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..generate.spec import parse_spec

    spec = parse_spec(model)
    if spec.adapter and adapter is None:
        adapter = spec.adapter
    _, where = _model_path(spec.model if spec.model != "default" else "default")
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True, trust_remote_code=False)
        base = AutoModelForCausalLM.from_pretrained(
            where, local_files_only=True, trust_remote_code=False, use_safetensors=True, dtype=torch.float32
        )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load the model {spec.model!r} for training: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if adapter is None:
        return base, tokenizer
    return load_adapter(base, adapter, trainable=trainable), tokenizer


def load_adapter(base: Any, adapter: str | os.PathLike[str], trainable: bool = False) -> Any:
    """``base`` wrapped with the LoRA adapter at ``adapter``; damaged or missing -> ModelUnavailable."""
    from peft import PeftModel

    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ModelUnavailable(f"no LoRA adapter at {str(adapter)!r}: adapter_config.json is missing")
    require_safetensors(path, "LoRA adapter", "adapter_model.safetensors")
    try:
        # peft reads adapter_model.safetensors first when it is there (checked above)
        return PeftModel.from_pretrained(base, str(path), is_trainable=trainable)
    except Exception as exc:  # peft raises many types for a truncated or foreign file
        raise ModelUnavailable(
            f"the LoRA adapter at {str(adapter)!r} is damaged or does not fit this model "
            f"({type(exc).__name__}: {exc}); train it again with `workbench train`"
        ) from exc


def _rows(source: Any, method: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    from .formats import build_rows

    if isinstance(source, (list, tuple)):
        rows = list(source)
    else:
        rows = build_rows(source, "trl-sft" if method == "sft" else "trl-dpo", **filters)
    columns = ("prompt", "completion") if method == "sft" else ("prompt", "chosen", "rejected")
    out = []
    for r in rows:
        if not all(isinstance(r.get(c), str) for c in columns):
            raise InvalidInput(f"{method} rows need the columns {', '.join(columns)}")
        out.append({c: r[c] for c in columns})
    if not out:
        raise TrainingError(f"nothing to train on: no {method} rows")
    return out


def _fit(row: dict[str, Any], tokenizer: Any, max_length: int) -> dict[str, Any]:
    """The row with its prompt cut from the left so prompt and completion fit ``max_length`` tokens.

    (TRL truncates from the end, which would cut the completion the loss is about.)
    """
    longest = max(len(tokenizer(row[k], add_special_tokens=False)["input_ids"]) for k in row if k != "prompt")
    budget = max(16, max_length - longest - 2)
    ids = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
    if len(ids) <= budget:
        return row
    return {**row, "prompt": tokenizer.decode(ids[-budget:], skip_special_tokens=False)}


def train(
    source: Any,
    out: str | os.PathLike[str],
    method: str = "sft",
    *,
    steps: int = 10,
    lr: float = 1e-4,
    model: str = "default",
    batch_size: int = 2,
    rank: int = 8,
    beta: float = 0.1,
    max_length: int = 1024,
    seed: int = 0,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
    **filters: Any,
) -> TrainResult:
    """Fine-tune a LoRA adapter on a project's feedback (or on given rows) and save it to ``out``.

    ``source`` is a project (rows are built with the export filters ``min_rating``, ``branch``,
    ``since``, ``rater``) or a list of rows in TRL's columns. ``model`` is a local model spec;
    with ``+ADAPTER`` training continues from that adapter.
    """
    if method not in METHODS:
        raise InvalidInput(f"--method is one of {', '.join(METHODS)}, not {method!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidInput(f"--steps is a whole number of at least 1, not {steps!r}")
    if not (isinstance(lr, (int, float)) and 0 < lr < 1):
        raise InvalidInput(f"--lr is a learning rate between 0 and 1, not {lr!r}")
    _require()
    rows = _rows(source, method, filters)
    import torch
    from datasets import Dataset
    from peft import LoraConfig

    from ..generate.spec import parse_spec

    spec = parse_spec(model)
    base_spec, _ = _model_path(spec.model)
    cuda = torch.cuda.is_available()
    torch.manual_seed(seed)
    net, tokenizer = load_model(base_spec, spec.adapter, trainable=True)
    rows = [_fit(r, tokenizer, max_length) for r in rows]
    peft_config = None
    if not spec.adapter:
        targets = [t for t in LORA_TARGETS if any(n.endswith(t) for n, _ in net.named_modules())]
        peft_config = LoraConfig(
            r=rank,
            lora_alpha=2 * rank,
            lora_dropout=0.0,
            target_modules=targets or None,
            task_type="CAUSAL_LM",
        )
    out = Path(out).expanduser()
    started = time.perf_counter()
    with atomic_dir(out) as tmp:
        common: dict[str, Any] = dict(
            output_dir=str(tmp / "_run"),
            max_steps=steps,
            per_device_train_batch_size=batch_size,
            learning_rate=lr,
            lr_scheduler_type="constant",
            warmup_steps=0,
            logging_steps=1,
            report_to="none",
            save_strategy="no",
            seed=seed,
            data_seed=seed,
            use_cpu=not cuda,
            bf16=bool(cuda and torch.cuda.is_bf16_supported()),
            disable_tqdm=not progress,
            max_length=max_length,
            dataloader_pin_memory=cuda,
        )
        data = Dataset.from_list(rows)
        if method == "sft":
            from trl import SFTConfig, SFTTrainer

            trainer: Any = SFTTrainer(
                model=net,
                args=SFTConfig(**common, completion_only_loss=True),
                train_dataset=data,
                processing_class=tokenizer,
                peft_config=peft_config,
                callbacks=list(callbacks) or None,
            )
        else:
            from trl import DPOConfig, DPOTrainer

            trainer = DPOTrainer(
                model=net,
                args=DPOConfig(**common, beta=beta, loss_type=["sigmoid"]),
                train_dataset=data,
                processing_class=tokenizer,
                peft_config=peft_config,
                callbacks=list(callbacks) or None,
            )
        trainer.train()
        seconds = time.perf_counter() - started
        losses = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
        trainer.model.save_pretrained(str(tmp))
        import shutil

        shutil.rmtree(tmp / "_run", ignore_errors=True)
        result = TrainResult(
            out,
            method,
            base_spec,
            int(trainer.state.global_step),
            len(rows),
            seconds,
            "cuda" if cuda else "cpu",
            losses,
        )
        record = {
            **asdict(result),
            "adapter": str(out),
            "lr": lr,
            "rank": rank,
            "seed": seed,
            "continued_from": spec.adapter,
            "filters": {k: str(v) for k, v in filters.items()},
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (tmp / TRAINING_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return result
