"""Where things live, and the few settings read from the environment.

``WORKBENCH_HOME``  the cast library and user data (default: the platform's user data dir).
``WORKBENCH_CACHE`` converted models and other machine-wide caches (default: the user cache dir).
``WORKBENCH_MAX_NEW_TOKENS`` caps the length of every text generation (tests, notebooks under test).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("story-workbench", appauthor=False))


def cache_dir() -> Path:
    env = os.environ.get("WORKBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("story-workbench", appauthor=False))


def cast_dir() -> Path:
    return home() / "cast"


def max_new_tokens_cap() -> int | None:
    """The cap set by ``WORKBENCH_MAX_NEW_TOKENS``, or None."""
    raw = os.environ.get("WORKBENCH_MAX_NEW_TOKENS", "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        from .errors import InvalidInput

        raise InvalidInput(f"WORKBENCH_MAX_NEW_TOKENS must be a whole number, not {raw!r}") from None
    return max(1, value)


def cap_new_tokens(requested: int) -> int:
    cap = max_new_tokens_cap()
    return requested if cap is None else min(requested, cap)
