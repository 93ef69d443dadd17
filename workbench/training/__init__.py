"""Training from writers' feedback: datasets, LoRA fine-tuning, evaluation, blind A/B, references.

Everything heavy (torch, transformers, peft, TRL) loads inside the functions that need it.
"""

from __future__ import annotations

from .ab import ABPair, ab_pair
from .dataset import NoFeedback, preference_rows, rating_rows, sft_rows, split_by_scene
from .references import add_reference, references, references_for

__all__ = [
    "ABPair",
    "NoFeedback",
    "ab_pair",
    "add_reference",
    "preference_rows",
    "rating_rows",
    "references",
    "references_for",
    "sft_rows",
    "split_by_scene",
]
