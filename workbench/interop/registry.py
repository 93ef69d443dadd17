"""The format registry: exporters and importers by name or file suffix.

Built-in formats and third-party ones register the same way, through the
entry-point group ``workbench.formats``; a program can also add one at run
time with :func:`register_format`. ``import_file`` checks the size limit
before reading anything and runs the whole import in one project transaction,
so a file that fails validation leaves the project unchanged.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FormatError, TooLarge, UnknownFormat
from ..plugins import Plugin, entry_point_plugins

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Format",
    "ImportResult",
    "available_formats",
    "broken_formats",
    "export_project",
    "get_format",
    "import_file",
    "read_limited",
    "register_format",
]

ENTRY_POINT_GROUP = "workbench.formats"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # 20 MB: larger imports are refused before they are read

Exporter = Callable[..., Any]
Importer = Callable[..., Any]


@dataclass
class ImportResult:
    """What an import added to the project."""

    format: str
    scenes: list[Any] = field(default_factory=list)
    characters: list[Any] = field(default_factory=list)
    lore: list[Any] = field(default_factory=list)
    assets: list[Any] = field(default_factory=list)
    library: list[Path] = field(default_factory=list)  # cast-library files written
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: what was imported."""
        parts = []
        for label, items in (
            ("scene", self.scenes),
            ("character", self.characters),
            ("lore entry", self.lore),
            ("library card", self.library),
        ):
            if items:
                n = len(items)
                plural = (
                    "lore entries" if label == "lore entry" and n != 1 else label + ("s" if n != 1 else "")
                )
                parts.append(f"{n} {plural}")
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class Format:
    """An interchange format: a name, file suffixes and an exporter and/or importer."""

    name: str
    suffixes: tuple[str, ...] = ()
    export: Exporter | None = None  # export(project, out_path, **options) -> list[Path]
    import_: Importer | None = None  # import_(path, project, **options) -> ImportResult
    description: str = ""
    max_bytes: int = DEFAULT_MAX_BYTES
    priority: int = 0  # breaks ties when several formats share a suffix (higher wins)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("a format needs a name")
        object.__setattr__(
            self,
            "suffixes",
            tuple(s.lower() if s.startswith(".") else "." + s.lower() for s in self.suffixes),
        )


_registry: dict[str, Format] = {}
_broken: dict[str, Plugin] = {}
_loaded = False


def register_format(fmt: Format, *, replace: bool = False) -> Format:
    """Add a format at run time (``replace=True`` overrides one of the same name)."""
    _load_entry_points()
    if not isinstance(fmt, Format):
        raise TypeError(f"expected a Format, got {type(fmt).__name__}")
    if fmt.name in _registry and not replace and _registry[fmt.name] is not fmt:
        raise ValueError(f"a format named {fmt.name!r} is already registered (pass replace=True)")
    _registry[fmt.name] = fmt
    _broken.pop(fmt.name, None)
    return fmt


def _load_entry_points() -> None:
    """Load the installed formats (their suffixes are needed to pick one by file name); a plug-in
    that fails is kept in :func:`broken_formats` and raises only when asked for by name."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name, plugin in entry_point_plugins(ENTRY_POINT_GROUP).items():
        if name in _registry:
            continue
        obj = plugin.try_load()
        if plugin.broken:
            _broken[name] = plugin
        elif isinstance(obj, Format):
            _registry[name] = obj if obj.name == name else Format(**{**obj.__dict__, "name": name})
        else:
            plugin._error = TypeError(f"{plugin.value} is a {type(obj).__name__}, not a workbench Format")
            _broken[name] = plugin


def available_formats() -> dict[str, Format]:
    """Every working registered format, by name."""
    _load_entry_points()
    return dict(sorted(_registry.items()))


def broken_formats() -> dict[str, str]:
    """Installed format plug-ins that failed to load, with the reason."""
    _load_entry_points()
    return {name: plugin.error or "" for name, plugin in sorted(_broken.items())}


def get_format(name_or_suffix: str | Format, *, need: str | None = None) -> Format:
    """The format with that name, or the one for that suffix or file name (``.tw``, ``story.ink``).

    ``need`` is ``"export"`` or ``"import"`` to require that ability.
    """
    if isinstance(name_or_suffix, Format):
        fmt = name_or_suffix
    else:
        _load_entry_points()
        key = str(name_or_suffix).strip()
        fmt_found = _registry.get(key) or _registry.get(key.lower())
        if fmt_found is None:
            candidates = [f for f in _registry.values() if _matches_suffix(f, key)]
            if need:
                candidates = [
                    f for f in candidates if getattr(f, "export" if need == "export" else "import_")
                ]
            if candidates:
                candidates.sort(key=lambda f: (-f.priority, f.name))
                fmt_found = candidates[0]
        if fmt_found is None and key in _broken:
            _broken[key].load()  # raises PluginError with the cause
        if fmt_found is None:
            names = ", ".join(sorted(_registry)) or "none"
            raise UnknownFormat(f"no format called or ending in {key!r}; known formats: {names}")
        fmt = fmt_found
    if need == "export" and fmt.export is None:
        raise UnknownFormat(f"format {fmt.name!r} cannot export")
    if need == "import" and fmt.import_ is None:
        raise UnknownFormat(f"format {fmt.name!r} cannot import")
    return fmt


def _matches_suffix(fmt: Format, key: str) -> bool:
    low = key.lower()
    if not low.startswith("."):
        low = "." + low if "." not in low else low
    return any(low.endswith(s) for s in fmt.suffixes)


def export_project(
    project: Any, fmt: str | Format, out: str | os.PathLike[str], **options: Any
) -> list[Path]:
    """Export ``project`` with format ``fmt`` to ``out``; returns the paths written."""
    f = get_format(fmt, need="export")
    assert f.export is not None
    written = f.export(project, Path(out), **options)
    return [Path(p) for p in (written or [out])]


def read_limited(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, *, what: str = "file"
) -> bytes:
    """Read a regular file, refusing it (before reading) when it exceeds ``max_bytes``."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FormatError(f"{p}: no such file") from None
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise FormatError(f"{p}: not a regular file")
    if st.st_size > max_bytes:
        raise TooLarge(f"{p}: {what} is {st.st_size:,} bytes; the limit is {max_bytes:,} bytes")
    with open(p, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we looked
        raise TooLarge(f"{p}: {what} exceeds the limit of {max_bytes:,} bytes")
    return data


def _accepts(func: Callable[..., Any], name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def import_file(
    path: str | os.PathLike[str], project: Any, fmt: str | Format | None = None, **options: Any
) -> ImportResult:
    """Import ``path`` into ``project`` (format from ``fmt`` or the file suffix), all or nothing."""
    p = Path(path)
    f = get_format(fmt if fmt is not None else p.name, need="import")
    read_limited_check = options.pop("max_bytes", f.max_bytes)
    # the size check comes first: nothing is parsed, nothing is written
    try:
        size = p.stat().st_size
    except OSError:
        raise FormatError(f"{p}: no such file") from None
    if size > read_limited_check:
        raise TooLarge(f"{p}: file is {size:,} bytes; the limit for {f.name} is {read_limited_check:,} bytes")
    assert f.import_ is not None
    if _accepts(f.import_, "max_bytes"):
        options["max_bytes"] = read_limited_check
    with project.transaction(f"import {p.name}"):
        result = f.import_(p, project, **options)
    if not isinstance(result, ImportResult):
        result = ImportResult(format=f.name)
    return result
