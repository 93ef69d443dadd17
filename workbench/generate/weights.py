"""Weights load from safetensors only.

A pickle checkpoint (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) can run any code while it
is read, and models, LoRA adapters and ControlNets come from other people. Every loader in the
workbench asks for safetensors (``use_safetensors=True``) and checks the folder first with
:func:`require_safetensors`, so a pickle-only checkpoint is a clear
:class:`~workbench.errors.ModelUnavailable` that says how to convert it, and nothing is unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelUnavailable

__all__ = ["PICKLE_SUFFIXES", "require_safetensors", "safetensors_name"]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def require_safetensors(folder: str | os.PathLike[str], what: str, weights: str | None = None) -> Path:
    """``folder`` unless it holds pickle weights and no safetensors ones (or, when ``weights`` names
    the file, lacks that file): then :class:`ModelUnavailable`, naming the pickle files found there."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        return path  # a hub id or a missing folder: the loader's own error says which
    if weights is not None:
        if (path / weights).is_file():
            return path
        found = [weights]
    else:
        if any(f.suffix == ".safetensors" for f in path.rglob("*.safetensors")):
            return path
        found = []
    pickles = sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ModelUnavailable(
            f"the {what} at {path} has only pickle weights ({', '.join(pickles[:3])}); the workbench loads "
            "safetensors only, because a pickle file can run code when it is opened. Convert it where you "
            "trust it (load it and save_pretrained(..., safe_serialization=True)) or get a safetensors copy."
        )
    if not found:
        return path  # no weights at all: the loader's own error says what is missing
    raise ModelUnavailable(f"the {what} at {path} has no safetensors weights ({found[0]})")


def safetensors_name(name: str, what: str) -> str:
    """A weights file name that must be a ``.safetensors`` file (e.g. an IP-Adapter's ``weight_name``)."""
    if not name.endswith(".safetensors"):
        raise ModelUnavailable(
            f"the {what} weights {name!r} are not a .safetensors file; the workbench loads safetensors only"
        )
    return name
