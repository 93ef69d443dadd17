"""Pictures from other people's files are sized before they are decoded.

A picture's file size says nothing about its decoded size: a 6,300 x 6,300 all-black PNG is a few
kilobytes on disk, passes a cap of 40 million pixels, and took 355 MB to decode and convert. Every
picture the workbench opens from a card, a project or a reference (portraits, poses) is checked
here from its header first: its width x height x 4 bytes (the RGBA it is converted to, and the
widest of Pillow's usual pixel formats) must fit :data:`MAX_DECODED_BYTES`. Pillow's own
decompression-bomb guard stays on as well.
"""

from __future__ import annotations

import io
import warnings

from ..errors import TooLarge

__all__ = ["MAX_DECODED_BYTES", "check_decoded_size", "decoded_bytes"]

MAX_DECODED_BYTES = 64 * 1024 * 1024  # 4096 x 4096 RGBA; a portrait needs far less


def decoded_bytes(width: int, height: int, mode: str = "RGBA") -> int:
    """The memory the pixels take once decoded and converted to RGBA (the larger of the two)."""
    try:
        from PIL import Image

        bands = int(Image.getmodebands(mode)) if mode else 4
    except (ImportError, KeyError, ValueError):
        bands = 4
    per_pixel = max(4, bands * (2 if "16" in mode else 1), 4 if mode in ("I", "F") else 0)
    return int(width) * int(height) * per_pixel


def check_decoded_size(
    data: bytes, where: str = "the picture", limit: int = MAX_DECODED_BYTES
) -> tuple[int, int]:
    """(width, height) from the picture's header, without decoding it; :class:`TooLarge` when its
    decoded pixels would take more than ``limit`` bytes. Unreadable headers are left to the decoder."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(bytes(data))) as im:  # reads the header only
                width, height, mode = im.width, im.height, im.mode
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"{where} has too many pixels to open safely ({exc})") from None
    except Exception:  # not a picture Pillow knows: the caller's decoder reports it
        return 0, 0
    need = decoded_bytes(width, height, mode)
    if need > limit:
        raise TooLarge(
            f"{where} is {width:,} x {height:,} pixels: {need / 2**20:,.0f} MB once decoded, more than the "
            f"{limit / 2**20:,.0f} MB allowed. Scale it down (a portrait needs about 1,024 x 1,024)."
        )
    return width, height
