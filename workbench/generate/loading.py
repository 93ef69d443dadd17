"""Turn a model spec string into a generator (process-wide cache: a model loads once)."""

from __future__ import annotations

import threading
from typing import Any

from .spec import backend_factory, parse_spec

_cache: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def load_generator(spec: str | None, kind: str) -> Any:
    parsed = parse_spec(spec, kind)
    key = (kind, parsed.raw)
    with _lock:
        gen = _cache.get(key)
    if gen is not None:
        return gen
    gen = backend_factory(parsed)(parsed)
    with _lock:
        _cache.setdefault(key, gen)
        return _cache[key]


def load_text_generator(spec: str | None = "default") -> Any:
    return load_generator(spec, "text")


def clear() -> None:
    with _lock:
        _cache.clear()
