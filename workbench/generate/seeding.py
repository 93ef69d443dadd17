"""Per-take seeds shared by every text backend.

Take ``i`` of a request with seed ``s`` on resampling attempt ``a`` is sampled with
its own seed, derived from a stable hash of ``(s, i, a)``: asking for 1 take or 3
gives the same first take, and seeds 7 and 8 share no take.
"""

from __future__ import annotations

import hashlib

__all__ = ["take_seed"]


def take_seed(seed: int, index: int, attempt: int = 0) -> int:
    """The seed for take ``index`` of a request with ``seed`` on resampling ``attempt`` (31 bits)."""
    digest = hashlib.sha256(f"{int(seed)}:{int(index)}:{int(attempt)}".encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
