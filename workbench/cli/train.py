"""``workbench train``: a LoRA adapter from the project's feedback."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser("train", help="fine-tune a LoRA adapter on the project's feedback (SFT or DPO)")
    p.add_argument("project", help="the project file")
    p.add_argument(
        "--method", choices=("sft", "dpo"), default="sft", help="sft: accepted takes; dpo: preferences"
    )
    p.add_argument(
        "--out", "-o", required=True, help="the adapter folder (replaced only when training finishes)"
    )
    p.add_argument("--steps", type=int, default=10, help="optimizer steps (default 10)")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    p.add_argument("--model", default="default", help="the local model spec to adapt (default: default)")
    p.add_argument("--batch-size", type=int, default=2, help="rows per step (default 2)")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank")
    p.add_argument("--seed", type=int, default=0, help="seed of the run (default 0)")
    p.add_argument("--min-rating", type=int, help="only takes rated at least N stars (unrated ones stay)")
    p.add_argument("--branch", "-b", help="only feedback on scenes of this branch")
    p.add_argument("--since", help="only feedback given on or after this date (2025-01-31)")
    p.add_argument("--rater", help="only this rater's feedback")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ..story import open_project
    from ..training.train import train

    filters = {
        k: v
        for k, v in (
            ("min_rating", args.min_rating),
            ("branch", args.branch),
            ("since", args.since),
            ("rater", args.rater),
        )
        if v is not None
    }
    with open_project(args.project, create=False) as project:
        result = train(
            project,
            args.out,
            args.method,
            steps=args.steps,
            lr=args.lr,
            model=args.model,
            batch_size=args.batch_size,
            rank=args.rank,
            seed=args.seed,
            **filters,
        )
    print(
        f"trained {result.method} for {result.steps} steps on {result.rows} rows in {result.seconds:.1f} s "
        f"({result.steps_per_second:.2f} steps/s, {result.device})"
    )
    print(f"wrote {result.adapter}; use it as --model {result.spec}")
    return 0
