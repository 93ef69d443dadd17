"""Model spec strings and the backend registry.

One string picks a backend everywhere (Python, CLI ``--model``, report parameters):

* ``default``                      the embedded default of that kind (text: SmolLM2-135M-Instruct)
* ``HUB_ID`` or ``/local/path``    a transformers / diffusers model (text ``local``, image ``diffusers``)
* ``openai:MODEL@BASE_URL``        an OpenAI-compatible server (text)
* ``sketch`` / ``piper`` / ...     a named backend
* ``PREFIX:REST``                  a backend registered under ``PREFIX`` (entry-point group ``workbench.backends``)
* ``...+ADAPTER``                  a LoRA adapter (path) applied to the model

Backends register through the entry-point group ``workbench.backends``: the entry
point's name is ``KIND.PREFIX`` (e.g. ``text.local``, ``image.sketch``) and its value a
factory ``factory(spec: ModelSpec) -> generator``. The built-ins are registered the same
way in ``pyproject.toml``; :func:`register_backend` adds one at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UnknownModelSpec
from ..plugins import Plugin, entry_point_plugins

KINDS = ("text", "image", "voice")

# the backend a bare word or path means, per kind
DEFAULT_BACKEND = {"text": "local", "image": "diffusers", "voice": "piper"}
# names that select a backend without a prefix (``sketch``, ``piper``, ``default``)
NAMED = {
    "text": {"default": ("local", "default")},
    "image": {"default": ("sketch", "default"), "sketch": ("sketch", "default")},
    "voice": {"default": ("piper", "default"), "piper": ("piper", "default")},
}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: which backend makes a generator of ``kind``, with which model.

    ``kind`` is ``"text"``, ``"image"`` or ``"voice"``; ``backend`` the registered prefix that
    builds it; ``model`` a model id, a path, or ``"default"``; ``base_url`` the server of an
    ``openai:`` spec; ``adapter`` the LoRA adapter after a ``+``; ``raw`` the string as written.
    A backend's factory receives one. ``str()`` gives the spec back as written.

    >>> spec = parse_spec("openai:llama@http://127.0.0.1:8000/v1")
    >>> spec
    ModelSpec(kind='text', backend='openai', model='llama', base_url='http://127.0.0.1:8000/v1',
              adapter=None, raw='openai:llama@http://127.0.0.1:8000/v1')
    >>> str(spec)
    'openai:llama@http://127.0.0.1:8000/v1'
    """

    kind: str  # "text" | "image" | "voice"
    backend: str  # "local", "openai", "diffusers", "sketch", "piper", "tts", or a plug-in prefix
    model: str  # model id, path, or "default"
    base_url: str | None = None  # for server backends
    adapter: str | None = None  # LoRA adapter path (``+ADAPTER``)
    raw: str = ""

    def __str__(self) -> str:
        return self.raw or self.model


def parse_spec(spec: str | None, kind: str = "text") -> ModelSpec:
    """Parse a model spec string for a generator of ``kind`` (``"text"``, ``"image"`` or ``"voice"``).

    ``None`` or an empty string means ``default``. Nothing is loaded and nothing is checked
    against the installed backends: :func:`backend_factory` does that. An unknown ``kind``, or an
    ``openai:`` spec without a model, raises :class:`~workbench.errors.UnknownModelSpec`.

    >>> parse_spec("default").backend, parse_spec("default", kind="image").backend
    ('local', 'sketch')
    >>> spec = parse_spec("HuggingFaceTB/SmolLM2-135M-Instruct+loras/mara")
    >>> spec.backend, spec.model, spec.adapter
    ('local', 'HuggingFaceTB/SmolLM2-135M-Instruct', 'loras/mara')
    >>> parse_spec("phrasebook:storm").backend
    'phrasebook'
    >>> parse_spec("openai:@http://127.0.0.1:8000/v1")
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownModelSpec: model spec 'openai:@http://127.0.0.1:8000/v1':
    write openai:MODEL@BASE_URL, ...
    """
    if kind not in KINDS:
        raise UnknownModelSpec(f"unknown generator kind {kind!r}; expected one of {', '.join(KINDS)}")
    raw = (spec or "default").strip()
    if not raw:
        raw = "default"
    body, adapter = raw, None
    if "+" in raw and not raw.startswith(("http://", "https://")):
        body, _, adapter = raw.partition("+")
        adapter = adapter.strip() or None
        body = body.strip() or "default"
    if body in NAMED[kind]:
        backend, model = NAMED[kind][body]
        return ModelSpec(kind, backend, model, None, adapter, raw)
    prefix, sep, rest = body.partition(":")
    if sep and prefix and "/" not in prefix and "\\" not in prefix and len(prefix) > 1:
        if prefix == "openai":
            model, at, base_url = rest.rpartition("@")
            base: str | None = base_url
            if not at:
                model, base = rest, None
            if not model:
                raise UnknownModelSpec(
                    f"model spec {raw!r}: write openai:MODEL@BASE_URL, e.g. openai:my-model@http://127.0.0.1:8000/v1"
                )
            return ModelSpec(kind, "openai", model, base or None, adapter, raw)
        return ModelSpec(kind, prefix, rest or "default", None, adapter, raw)
    return ModelSpec(kind, DEFAULT_BACKEND[kind], body, None, adapter, raw)


Factory = Callable[[ModelSpec], Any]
ENTRY_POINT_GROUP = "workbench.backends"
_registry: dict[tuple[str, str], Factory] = {}
_lock = threading.Lock()


def register_backend(kind: str, prefix: str, factory: Factory) -> None:
    """Register ``factory`` for model specs ``PREFIX:...`` of ``kind`` (run-time alternative to entry points).

    ``factory(spec)`` receives the parsed :class:`ModelSpec` and returns the generator. It is
    called when a session first needs the generator, not here. Registering a prefix again replaces
    the factory; a run-time registration wins over an installed entry point of the same name.

    >>> def echo_factory(spec):
    ...     raise NotImplementedError("build your generator here, from spec.model")
    >>> register_backend("text", "echo", echo_factory)
    >>> backend_factory(parse_spec("echo:plain")) is echo_factory
    True
    >>> unregister_backend("text", "echo")
    """
    if kind not in KINDS:
        raise UnknownModelSpec(f"unknown generator kind {kind!r}; expected one of {', '.join(KINDS)}")
    with _lock:
        _registry[(kind, prefix)] = factory


def unregister_backend(kind: str, prefix: str) -> None:
    """Forget a backend registered with :func:`register_backend` (no error if there is none).

    Installed entry points stay: a prefix that an installed package also provides goes back to it.

    >>> register_backend("image", "flipbook", lambda spec: None)
    >>> "flipbook" in available_backends("image")
    True
    >>> unregister_backend("image", "flipbook")
    >>> "flipbook" in available_backends("image")
    False
    """
    with _lock:
        _registry.pop((kind, prefix), None)


def _plugins() -> dict[tuple[str, str], Plugin]:
    out = {}
    for name, plugin in entry_point_plugins(ENTRY_POINT_GROUP).items():
        kind, _, prefix = name.partition(".")
        if kind in KINDS and prefix:
            out[(kind, prefix)] = plugin
    return out


def backend_factory(spec: ModelSpec) -> Factory:
    """The factory for a parsed spec: run-time registrations first, then entry points (loaded on use).

    A prefix nobody provides raises :class:`~workbench.errors.UnknownModelSpec` naming the known
    ones; an installed plug-in that fails to import raises :class:`~workbench.errors.PluginError`
    with the cause. The factory is returned, not called: nothing is loaded yet.

    >>> from workbench.generate.sketch import factory as sketch_factory
    >>> backend_factory(parse_spec("sketch", kind="image")) is sketch_factory
    True
    >>> backend_factory(parse_spec("nosuchbackend:x"))
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownModelSpec: no text backend called 'nosuchbackend'
    (model spec 'nosuchbackend:x'). Known: ...
    """
    with _lock:
        factory = _registry.get((spec.kind, spec.backend))
    if factory is not None:
        return factory
    plugin = _plugins().get((spec.kind, spec.backend))
    if plugin is None:
        known = available_backends(spec.kind)
        raise UnknownModelSpec(
            f"no {spec.kind} backend called {spec.backend!r} (model spec {spec.raw!r}). "
            f"Known: {', '.join(known) or 'none'}. Install the package that provides it, "
            "or register one with workbench.generate.register_backend."
        )
    loaded: Factory = plugin.load()  # PluginError with the cause when the plug-in is broken
    return loaded


def available_backends(kind: str) -> list[str]:
    """Backend prefixes of ``kind``: registered at run time or installed (broken plug-ins included).

    >>> {"local", "openai"} <= set(available_backends("text"))
    True
    >>> {"sketch", "diffusers"} <= set(available_backends("image"))
    True
    """
    with _lock:
        names = {p for k, p in _registry if k == kind}
    names |= {p for k, p in _plugins() if k == kind}
    return sorted(names)
