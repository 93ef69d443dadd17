"""The format registry: exporters and importers by name or file suffix.

Built-in formats and third-party ones register the same way, through the
entry-point group ``workbench.formats``; a program can also add one at run
time with :func:`register_format`. ``import_file`` checks the size limit
before reading anything and runs the whole import in one project transaction,
so a file that fails validation leaves the project unchanged.

The examples below share a scratch folder and the sample story:

    >>> import pathlib, tempfile
    >>> import workbench
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sample = workbench.build_sample(folder / "sample.story")
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
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""The size limit of an imported file, 20 MB, unless its :class:`Format` sets another ``max_bytes``.

A larger file is refused before a byte of it is read (:class:`~workbench.errors.TooLarge`).
"""

Exporter = Callable[..., Any]
Importer = Callable[..., Any]


@dataclass
class ImportResult:
    """What an import added to the project.

    ``format`` is the name of the format used; ``scenes``, ``characters``, ``lore`` and
    ``assets`` hold what was added, ``library`` the cast-library card files written, and
    ``warnings`` what the writer should know (parts of the file that were skipped, say). An
    importer returns one; :func:`import_file` hands it back.

    >>> ImportResult("twee").summary()
    'nothing'
    >>> ImportResult("card-v3", characters=["Mara Quell"], library=[folder / "mara-quell.json"]).summary()
    '1 character, 1 library card'
    """

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
    """An interchange format: a name, file suffixes and an exporter and/or importer.

    - ``export(project, out_path, **options) -> list[Path]`` writes the files and returns them.
    - ``import_(path, project, **options) -> ImportResult`` adds what the file holds to the
      project; it should read with :func:`read_limited` and raise
      :class:`~workbench.errors.FormatError` naming the line or field at fault.
    - ``suffixes`` pick the format by file name (a leading dot is added, case is ignored); when
      several formats share one, the higher ``priority`` wins.
    - ``max_bytes`` is the largest file it imports; ``description`` is one line for listings.

    Options come from the command line as ``-O key=value`` (strings).

    >>> fmt = Format("scenes-txt", suffixes=("scenes.TXT",), export=lambda project, out, **options: [out])
    >>> fmt.suffixes
    ('.scenes.txt',)
    >>> fmt.import_ is None
    True
    """

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
    """Add a format at run time (``replace=True`` overrides one of the same name).

    Returns ``fmt``. A package registers its formats through the entry-point group
    ``workbench.formats`` instead (``scenes-csv = "my_package.scenes_csv:FORMAT"``); this is for
    notebooks and scripts.

    ```python
    register_format(Format("scenes-csv", (".scenes.csv",), export=export_csv, import_=import_csv))
    export_project(project, "scenes-csv", "story.scenes.csv")
    ```

    A name already taken is refused unless ``replace=True``:

    >>> register_format(Format("twee", (".twee",)))
    Traceback (most recent call last):
    ...
    ValueError: a format named 'twee' is already registered (pass replace=True)
    """
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
    """Every working registered format, by name: installed plug-ins and run-time registrations.

    >>> formats = available_formats()
    >>> formats["twee"].suffixes
    ('.twee', '.tw', '.tw3')
    >>> [name for name in ("ink", "yarn", "fountain") if formats[name].import_ is not None]
    ['ink', 'yarn', 'fountain']
    """
    _load_entry_points()
    return dict(sorted(_registry.items()))


def broken_formats() -> dict[str, str]:
    """Installed format plug-ins that failed to load, with the reason.

    They never hide the working formats, and using one by name raises
    :class:`~workbench.errors.PluginError` with the same reason.

    ```python
    for name, reason in broken_formats().items():
        print(f"{name}: {reason}")  # e.g. the plug-in's package is missing a dependency
    ```
    """
    _load_entry_points()
    return {name: plugin.error or "" for name, plugin in sorted(_broken.items())}


def get_format(name_or_suffix: str | Format, *, need: str | None = None) -> Format:
    """The format with that name, or the one for that suffix or file name (``.tw``, ``story.ink``).

    ``need`` is ``"export"`` or ``"import"`` to require that ability. Names are matched
    exactly, then in lower case; a name or suffix no format has raises
    :class:`~workbench.errors.UnknownFormat`.

    >>> get_format("story.twee").name, get_format(".ink").name, get_format("TWEE").name
    ('twee', 'ink', 'twee')
    >>> get_format("notes.docx")
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownFormat: no format called or ending in 'notes.docx'; known formats: ...
    >>> get_format("ratings", need="import")
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownFormat: format 'ratings' cannot import
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
    """Export ``project`` with format ``fmt`` to ``out``; returns the paths written.

    ``fmt`` is a format, its name, or a suffix; ``options`` go to the format's exporter.

    >>> [path.name for path in export_project(sample, "twee", folder / "skerry.twee")]
    ['skerry.twee']
    """
    f = get_format(fmt, need="export")
    assert f.export is not None
    written = f.export(project, Path(out), **options)
    return [Path(p) for p in (written or [out])]


def read_limited(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES, *, what: str = "file"
) -> bytes:
    """Read a regular file, refusing it (before reading) when it exceeds ``max_bytes``.

    For importers: a missing file, a folder or a device raises
    :class:`~workbench.errors.FormatError`, a file over the limit :class:`~workbench.errors.TooLarge`
    (``what`` names the file in the message), even when it grows while being read.

    >>> _ = (folder / "notes.txt").write_text("The lamp is out.")
    >>> read_limited(folder / "notes.txt", max_bytes=100)
    b'The lamp is out.'
    >>> read_limited(folder / "notes.txt", max_bytes=4, what="note")
    Traceback (most recent call last):
    ...
    workbench.errors.TooLarge: .../notes.txt: note is 16 bytes; the limit is 4 bytes
    """
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
    """Import ``path`` into ``project`` (format from ``fmt`` or the file suffix), all or nothing.

    The size is checked first (``max_bytes=`` overrides the format's limit), then the format's
    importer runs inside one project transaction: if it raises, the project is left as it was.
    The import is one undo step. Other ``options`` go to the importer.

    >>> _ = export_project(sample, "twee", folder / "skerry.twee")
    >>> copy = workbench.open_project(folder / "copy.story")
    >>> import_file(folder / "skerry.twee", copy).summary()
    '7 scenes'
    >>> copy.undo()
    'import skerry.twee'
    """
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
