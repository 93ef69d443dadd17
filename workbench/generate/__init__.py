"""Generation: backends behind small protocols, context assembly, caches, the Writer.

What a plug-in author needs is importable from here without loading torch:

    >>> from workbench.generate import TextRequest, TextResult, register_backend, parse_spec
    >>> parse_spec("openai:llama@http://127.0.0.1:8000/v1").backend
    'openai'
"""

from __future__ import annotations

from .base import ImageGenerator, Media, OnToken, TextGenerator, TextRequest, TextResult, VoiceGenerator
from .spec import (
    ModelSpec,
    available_backends,
    backend_factory,
    parse_spec,
    register_backend,
    unregister_backend,
)

__all__ = [
    "ImageGenerator",
    "Media",
    "ModelSpec",
    "OnToken",
    "TextGenerator",
    "TextRequest",
    "TextResult",
    "VoiceGenerator",
    "available_backends",
    "backend_factory",
    "parse_spec",
    "register_backend",
    "unregister_backend",
]
