"""Where things live, and the few settings read from the environment.

``WORKBENCH_HOME``  the cast library and user data (default: the platform's user data dir).
``WORKBENCH_CACHE`` converted models and other machine-wide caches (default: the user cache dir).
``WORKBENCH_MAX_NEW_TOKENS`` caps the length of every text generation (tests, notebooks under test).
``WORKBENCH_LOCK_TIMEOUT`` seconds a writer waits for another program's lock on a project or the
cast library before giving up with an error that names the holder (default 60).
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


DEFAULT_LOCK_TIMEOUT = 60.0


def lock_timeout() -> float:
    """Seconds to wait for a project's or the cast library's lock (``WORKBENCH_LOCK_TIMEOUT``, default 60)."""
    raw = os.environ.get("WORKBENCH_LOCK_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        from .errors import InvalidInput

        raise InvalidInput(f"WORKBENCH_LOCK_TIMEOUT must be a number of seconds, not {raw!r}")
    return value
