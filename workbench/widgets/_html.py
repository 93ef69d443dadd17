"""Small HTML helpers for media held in the project (data URIs: no files, no server routes)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any


def data_uri(asset: Any) -> str:
    return f"data:{asset.mime};base64,{base64.b64encode(asset.data).decode()}"


def image_html(asset: Any, width: int = 240, css: str = "wb-image", caption: str = "") -> str:
    cap = (
        f"<figcaption style='font:12px system-ui,sans-serif;color:#6b7280'>{escape(caption)}</figcaption>"
        if caption
        else ""
    )
    return (
        f"<figure class='{css}' data-sha256='{asset.sha256}' style='margin:4px;display:inline-block'>"
        f"<img src='{data_uri(asset)}' width='{width}' alt='{escape(caption or asset.kind)}' "
        f"style='border-radius:6px;border:1px solid #e5e7eb'>{cap}</figure>"
    )


def audio_html(asset: Any, css: str = "wb-audio") -> str:
    return (
        f"<audio class='{css}' data-sha256='{asset.sha256}' controls preload='auto' "
        f"src='{data_uri(asset)}'></audio>"
    )
