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

OnToken = Callable[[int, str], None]
"""A streaming callback, ``on_token(take_index, new_text)``: called as text arrives.

``take_index`` counts the takes of the call it was given to from 0, and ``new_text`` is the text
added since the last call for that take. A backend calls it from ``generate`` with the index within
its request; a take served from the generation cache arrives whole, in one call.
"""


@dataclass
class TextRequest:
    """One request for ``n`` takes.

    The prompt comes in two parts so a backend can cache the first:
    ``prefix`` (stable: style, cast sheet, lore, story so far) and ``suffix``
    (volatile: author's note, instruction). Chat backends send them as the
    system and user messages; the local backend renders its chat template and
    reuses the key/value cache of the rendered prefix.

    The sampling fields are the usual ones (``temperature`` 0 or less means greedy decoding;
    ``no_repeat_ngram_size`` 0 turns that rule off). ``on_token`` streams the text (see :data:`OnToken`) and
    ``stop``, once set, asks the backend to finish early. The writer builds requests; a backend
    only reads them.

    >>> request = TextRequest(prefix="You write screenplays.", suffix="Write the scene.", n=2, seed=7)
    >>> request.n, request.take_offset, request.attempt
    (2, 0, 0)
    >>> request.params()["temperature"]
    0.8
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
    # the start of the answer, already written (a take the writer continues): the model goes on
    # from its last character and returns only what comes next
    continue_from: str = ""

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
            **({"continue_from": self.continue_from} if self.continue_from else {}),
        }


@dataclass
class TextResult:
    """One take, as a text backend returns it.

    - ``text``: what the model wrote, nothing else (no prompt).
    - ``seed``: the take's own seed, derived from the request's ``seed``, the take's index and the
      attempt (``workbench.seeding.local_take_seed`` is the local backend's formula).
    - ``take_index``: ``request.take_offset`` plus the take's place in the request;
      ``attempt``: the request's ``attempt``.
    - ``prompt_tokens``, ``completion_tokens``, ``seconds`` and ``first_token_seconds`` (None when
      not measured): what it cost, for the take's provenance.
    - ``finish_reason``: ``"stop"`` (the model ended the text), ``"length"`` (it reached
      ``max_new_tokens``) or ``"stopped"`` (``request.stop`` was set; such a take is not cached).
    - ``rendered_prompt``: the prompt as the model saw it (after a chat template, say), without
      ``request.continue_from`` (that is the answer's start); when empty, the provenance records
      ``prefix``, a blank line and ``suffix``.

    >>> from workbench.seeding import local_take_seed
    >>> request = TextRequest(prefix="You write screenplays.", suffix="Write the scene.", n=2, seed=7)
    >>> takes = [
    ...     TextResult(
    ...         text="INT. LAMP ROOM - NIGHT",
    ...         seed=local_take_seed(request.seed, request.take_offset + i, request.attempt),
    ...         take_index=request.take_offset + i,
    ...         finish_reason="stop",
    ...     )
    ...     for i in range(request.n)
    ... ]
    >>> [take.take_index for take in takes], takes[0].seed == takes[1].seed
    ([0, 1], False)
    """

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
    """What the workbench needs from a text backend.

    A backend is any object with these members; it need not inherit from this class. A factory
    registered with :func:`~workbench.generate.spec.register_backend` (or an entry point) builds it
    from a :class:`~workbench.generate.spec.ModelSpec`. ``spec`` is the model spec string it was
    made from. A stand-in that repeats the instruction:

    >>> from workbench.seeding import local_take_seed
    >>> class Echo:
    ...     spec = "echo"
    ...     fingerprint = {"backend": "echo", "model": "echo", "revision": 1}
    ...     context_window = 2048
    ...     def count_tokens(self, text):
    ...         return len(text.split())
    ...     def generate(self, request):
    ...         return [
    ...             TextResult(
    ...                 text=request.suffix,
    ...                 seed=local_take_seed(request.seed, request.take_offset + i, request.attempt),
    ...                 take_index=request.take_offset + i,
    ...                 attempt=request.attempt,
    ...                 finish_reason="stop",
    ...             )
    ...             for i in range(request.n)
    ...         ]
    >>> isinstance(Echo(), TextGenerator)
    True
    >>> [r.take_index for r in Echo().generate(TextRequest("", "Go on.", n=2, take_offset=1))]
    [1, 2]

    Optional members: ``supports_grammar`` (true when JSON schemas and the screenplay grammar are
    enforced token by token) and ``keeps_prefix_cache`` (true when the keys and values of a
    prompt's start stay in this process, so a one-token request with the story so far makes the
    next take start fast; the player sends one while the reader reads).
    """

    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]:
        """Backend, model id, revision or file hash: what makes two outputs comparable."""

    @property
    def context_window(self) -> int:
        """How many tokens the model reads and writes at once, prompt and new text together.

        The writer fits the story so far into this, less the new tokens asked for and a small
        margin.
        """

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` is for this model: its own tokenizer where it has one, else an
        estimate. The prompt is fitted to :attr:`context_window` with it, part by part, so it
        should be fast."""

    def generate(self, request: TextRequest) -> list[TextResult]:
        """Write ``request.n`` takes and return them in order, one :class:`TextResult` each.

        The contract:

        - Take ``j`` of the request is take ``request.take_offset + j``. Derive its seed from
          ``(request.seed, request.take_offset + j, request.attempt)``, so a take is the same
          whatever ``n`` is.
        - Call ``request.on_token(j, new_text)`` as text arrives, when it is set.
        - Once ``request.stop`` is set, finish at the next token and return what was written with
          ``finish_reason="stopped"``.
        - With ``request.json_schema`` set, write JSON matching it (constrain decoding if you can;
          the writer validates the answer and asks again a bounded number of times).
        - Raise :class:`~workbench.errors.ModelUnavailable` (the model cannot be found),
          :class:`~workbench.errors.ServerError` (the service failed) or
          :class:`~workbench.errors.ContextOverflow` with a message a writer understands.
        """


@dataclass
class Media:
    """A generated image or sound: its bytes, their MIME type, and how they were made.

    ``provenance`` is JSON-safe; the built-in backends record ``backend``, ``model``, ``prompt``,
    ``seed`` and ``parameters``. The session stores each one as a project asset with its provenance.

    >>> clip = Media(b"RIFF...", "audio/wav", {"backend": "piper", "prompt": "Not tonight.", "seed": 0})
    >>> clip.mime, clip.provenance["seed"]
    ('audio/wav', 0)
    """

    data: bytes
    mime: str
    provenance: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ImageGenerator(Protocol):
    """What the workbench needs from an image backend: character portraits and storyboard frames.

    The image spec ``sketch`` (the default) draws both offline with Pillow; ``diffusers`` runs a
    model. A backend is built by a factory registered for kind ``"image"``.

    >>> from types import SimpleNamespace
    >>> from workbench.generate.media import load_image_generator
    >>> sketch = load_image_generator("sketch")
    >>> isinstance(sketch, ImageGenerator)
    True
    >>> mara = SimpleNamespace(name="Mara Quell", appearance="woman in her late forties, grey wool coat")
    >>> sketch.portrait(mara, seed=7).mime
    'image/png'
    """

    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What makes two images comparable: backend, model, revision or file hash, size.

        It is part of the cache key of every portrait and storyboard: change it whenever the same
        request would draw a different picture, or the old pictures are served again.
        """

    def portrait(self, character: Any, seed: int | None = None) -> Media:
        """A picture of ``character`` (a project or library character): one image :class:`Media`.

        Read what the character's fields give (``name``, ``appearance``, ``description``,
        ``palette``). The workbench passes the character's own image seed unless the writer chose
        one; treat ``None`` the same way, so a character looks the same every time.
        """

    def frames(self, shots: list[Any], seed: int = 0) -> list[Media]:
        """One image per storyboard shot, in the shots' order.

        Each shot (``workbench.generate.shots.Shot``) carries its framing, the characters in
        frame, location, time of day, caption and a text-to-image ``prompt``. A backend that can
        use more names extra keyword arguments: ``characters`` (the cast), ``references``
        (character name to image bytes, such as a portrait) or ``poses`` (shot index to a pose
        image, for a ControlNet). They are passed only to a method whose signature names them or,
        apart from ``poses``, takes ``**kwargs``: ignore what you do not use.
        """


@runtime_checkable
class VoiceGenerator(Protocol):
    """What the workbench needs from a voice backend: one line of text spoken in a given voice.

    The voice spec ``piper`` (the default) runs Piper with its bundled English voice; ``tts:PATH``
    runs a transformers text-to-speech model. A backend is built by a factory registered for kind
    ``"voice"``. A stand-in that says nothing:

    >>> import numpy as np
    >>> from workbench.generate.audio import write_wav
    >>> class Silence:
    ...     spec = "silence"
    ...     fingerprint = {"backend": "silence", "model": "none", "sample_rate": 16000}
    ...     def speak(self, text, voice, seed=0):
    ...         wav = write_wav(np.zeros(8000), 16000)  # half a second
    ...         return Media(wav, "audio/wav", {"backend": "silence", "prompt": text, "seed": seed})
    >>> isinstance(Silence(), VoiceGenerator)
    True
    >>> Silence().speak("Not tonight.", {"speed": 1.2}).mime
    'audio/wav'
    """

    spec: str

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What makes two clips comparable: backend, model, file hash, sample rate.

        It is part of the cache key of every voice line and table read: change it whenever the
        same line would sound different.
        """

    def speak(self, text: str, voice: dict[str, Any], seed: int = 0) -> Media:
        """``text`` spoken with the settings ``voice``: one WAV :class:`Media` (``audio/wav``).

        ``voice`` is a character's ``voice`` field: ``speed`` (0.25 to 4), ``variation`` (0 to 2)
        and ``pitch`` (semitones, -12 to 12), each optional; ``workbench.generate.voice.voice_settings``
        checks them and fills in the defaults. ``seed`` fixes the sampling noise where the backend
        can seed it.
        """
