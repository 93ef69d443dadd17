"""Generation protocols: the small contracts every backend implements.

A backend is chosen by a *model spec* string (see :mod:`workbench.generate.spec`).
Text backends receive a :class:`TextRequest` and return one :class:`TextResult`
per take. Image and voice backends return :class:`Media` blobs with provenance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

OnToken = Callable[[int, str], None]  # (take_index, new_text)


@dataclass
class TextRequest:
    """One request for ``n`` takes.

    The prompt comes in two parts so a backend can cache the first:
    ``prefix`` (stable: style, cast sheet, lore, story so far) and ``suffix``
    (volatile: author's note, instruction). Chat backends send them as the
    system and user messages; the local backend renders its chat template and
    reuses the key/value cache of the rendered prefix.
    """

    prefix: str
    suffix: str
    n: int = 1
    seed: int = 0
    max_new_tokens: int = 200
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.15
    no_repeat_ngram_size: int = 0
    json_schema: dict[str, Any] | None = None  # constrain the output to JSON matching this schema
    # constrain the output to a screenplay scene: a ScreenplaySpec as a dict, or a list with one per
    # take (take i of the request follows grammar[take_offset + i]); see generate.scene_grammar
    grammar: dict[str, Any] | list[dict[str, Any]] | None = None
    attempt: int = 0  # resampling attempt (part of each take's seed)
    take_offset: int = 0  # index of the first take (take i uses seed hash (seed, take_offset + i, attempt))
    on_token: OnToken | None = None
    stop: threading.Event | None = None

    def grammar_for(self, take_index: int) -> dict[str, Any] | None:
        """The screenplay grammar of take ``take_index`` (absolute index), or None."""
        if self.grammar is None or isinstance(self.grammar, dict):
            return self.grammar
        return self.grammar[take_index] if take_index < len(self.grammar) else None

    def params(self) -> dict[str, Any]:
        """The sampling parameters that make a result (for provenance and cache keys).

        A screenplay grammar is per take: callers add the take's own grammar to its key.
        """
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "json_schema": self.json_schema,
        }


@dataclass
class TextResult:
    text: str
    seed: int  # the per-take seed actually used
    take_index: int
    attempt: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    first_token_seconds: float | None = None
    finish_reason: str = "length"  # "stop" | "length" | "stopped"
    rendered_prompt: str = ""


@runtime_checkable
class TextGenerator(Protocol):
    """What the workbench needs from a text backend."""

    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]:
        """Backend, model id, revision or file hash: what makes two outputs comparable."""

    @property
    def context_window(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, request: TextRequest) -> list[TextResult]: ...


@dataclass
class Media:
    data: bytes
    mime: str
    provenance: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ImageGenerator(Protocol):
    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]: ...

    def portrait(self, character: Any, seed: int | None = None) -> Media: ...

    def frames(self, shots: list[Any], seed: int = 0) -> list[Media]: ...


@runtime_checkable
class VoiceGenerator(Protocol):
    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]: ...

    def speak(self, text: str, voice: dict[str, Any], seed: int = 0) -> Media: ...
