"""The one rule for plug-ins found through entry points (backends, formats, views).

Installed packages extend the workbench through three entry-point groups:

* ``workbench.backends``  ``KIND.PREFIX = module:factory`` (a model spec prefix, e.g. ``text.myserver``)
* ``workbench.formats``   ``NAME = module:FORMAT`` (an exporter and/or importer)
* ``workbench.views``     ``NAME = module:factory`` (a tab in ``Workbench``)

Every group is read the same way: entry points are listed without importing them; a
plug-in is imported when it is first used; a plug-in that fails to import is still
listed, with its error, and raises :class:`~workbench.errors.PluginError` (naming the
plug-in, its package and the cause) only when something uses it. One broken package
never hides the others or breaks the workbench.

    >>> plugins = entry_point_plugins("workbench.formats")      # doctest: +SKIP
    >>> plugins["twee"].load()                                  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from .errors import PluginError

__all__ = ["GROUPS", "Plugin", "entry_point_plugins"]

GROUPS = ("workbench.backends", "workbench.formats", "workbench.views")
"""The entry-point groups the workbench reads: backends, interchange formats, views."""


@dataclass
class Plugin:
    """One entry point of a group: loaded on first use; a failure is kept and re-raised on use.

    >>> twee = entry_point_plugins("workbench.formats")["twee"]
    >>> twee.value, twee.distribution
    ('workbench.interop.twee:FORMAT', 'story-workbench')
    >>> twee.load().name, twee.broken
    ('twee', False)
    """

    group: str
    name: str
    value: str  # "module:attr" as declared
    distribution: str = ""
    _entry_point: Any = field(default=None, repr=False)
    _loaded: Any = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)
    _done: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def error(self) -> str | None:
        """Why the plug-in failed to load (after a load attempt), else None."""
        if self._error is None:
            return None
        return f"{type(self._error).__name__}: {self._error}"

    @property
    def broken(self) -> bool:
        """True once loading was tried and failed."""
        return self._error is not None

    def try_load(self) -> Any | None:
        """The plug-in's object, or None when it fails to load (the error is kept)."""
        with self._lock:
            if not self._done:
                try:
                    self._loaded = self._entry_point.load()
                except Exception as exc:  # any failure of third-party code is the plug-in's
                    self._error = exc
                self._done = True
        return self._loaded

    def load(self) -> Any:
        """The plug-in's object; :class:`PluginError` with the cause when it cannot be loaded."""
        obj = self.try_load()
        if self._error is not None:
            where = f" (package {self.distribution})" if self.distribution else ""
            raise PluginError(
                f"the plug-in {self.name!r} in {self.group}{where} failed to load: {self.error}. "
                f"Reinstall or fix that package, or uninstall it"
            ) from self._error
        return obj


_cache: dict[str, dict[str, Plugin]] = {}
_cache_lock = threading.Lock()


def entry_point_plugins(group: str, refresh: bool = False) -> dict[str, Plugin]:
    """The plug-ins declared under ``group``, by entry-point name (nothing imported yet).

    The list is read once per process; ``refresh=True`` reads it again (after installing a package).

    >>> backends = entry_point_plugins("workbench.backends")
    >>> sorted(name for name in backends if name.startswith("text."))[:3]
    ['text.llamacpp', 'text.local', 'text.openai']
    """
    with _cache_lock:
        if refresh or group not in _cache:
            found: dict[str, Plugin] = {}
            for ep in metadata.entry_points(group=group):
                dist = getattr(getattr(ep, "dist", None), "name", "") or ""
                found.setdefault(ep.name, Plugin(group, ep.name, ep.value, dist, ep))
            _cache[group] = found
        return dict(_cache[group])
