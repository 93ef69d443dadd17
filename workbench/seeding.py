"""Every seed the workbench derives, in one place.

Seeds are derived by hashing (never Python's salted ``hash``), so they are the same on
every machine and in every process. Each formula has its own explicit name because stored
work depends on it: a take's text was sampled with ``local_take_seed``, a server take with
``server_take_seed``, a character's look with ``stable_int("image", ...)``. Changing one of
these formulas changes what the same request produces, so add a new function rather than
editing an old one.

    >>> local_take_seed(7, 0) == local_take_seed(7, 0)
    True
    >>> local_take_seed(7, 0) != local_take_seed(8, 0)
    True
    >>> 0 <= server_take_seed(7, 2) < 2**31
    True
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = [
    "check_seed",
    "fresh_seed",
    "local_take_seed",
    "new_seed",
    "play_seed",
    "server_take_seed",
    "stable_int",
]


def stable_int(*parts: object, bits: int = 31) -> int:
    """A stable non-negative integer from a hash of ``parts``.

    Used for a character's image seed and palette, storyboard frame seeds and sketch layout.

    >>> stable_int("image", "Mara") == stable_int("image", "Mara")
    True
    """
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") % (1 << bits)


def local_take_seed(seed: int, take: int, attempt: int = 0) -> int:
    """The seed of take ``take`` of a request with ``seed`` on resampling ``attempt``, for the local
    backend (63 bits, a ``torch.Generator`` seed): take ``i`` is the same whatever ``n`` is."""
    digest = hashlib.sha256(f"workbench-take:{seed}:{take}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def server_take_seed(seed: int, index: int, attempt: int = 0) -> int:
    """The seed sent to an OpenAI-compatible server for take ``index`` (31 bits: servers take an int32)."""
    digest = hashlib.sha256(f"{int(seed)}:{int(index)}:{int(attempt)}".encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def play_seed(*parts: object) -> int:
    """A seed for one piece of a play (a move, a set of suggested choices), from its parts (31 bits)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def fresh_seed() -> int:
    """A new random seed, for requests that did not name one (recorded in provenance)."""
    return secrets.randbelow(2**31)


def check_seed(seed: object) -> int:
    """``seed`` if it is a whole number, else :class:`~workbench.errors.InvalidInput`."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        from .errors import InvalidInput

        raise InvalidInput(f"a seed is a whole number, not {seed!r}")
    return seed


def new_seed(seed: int | None) -> int:
    """The given seed (checked), or a fresh one when it is None."""
    return fresh_seed() if seed is None else check_seed(seed)
