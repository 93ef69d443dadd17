"""The cast library: characters shared across stories ("virtual celebrities").

A plain folder of Character Card V3 JSON files, one per character, so a team can share it on
any drive or in git and other tools read it as is. Several writers (and programs) may change it
at once, so:

* every change is a read-modify-write under the library's file lock (``.cast.lock`` in the
  folder, :mod:`filelock`), and the file is replaced atomically (temp file + rename);
* each save bumps the character's revision; saving a character read at an older revision than
  the file now has is refused (:class:`~workbench.errors.StaleCharacter`: compare-and-swap), so
  nobody's change is silently overwritten;
* names are unique without regard to case ("Mara" and "mara" are one character);
* a card that cannot be read (not JSON, nested too deeply, a bad revision, markup in its name,
  a link) is listed by :meth:`CastLibrary.damaged` with the reason and never hides the others;
* new files get the user's normal mode (the library is meant to be shared).

Projects pin a snapshot of each character and pull newer revisions on request.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .. import config
from ..errors import (
    CardError,
    CastBusy,
    CastError,
    CharacterNotFound,
    DuplicateName,
    InvalidInput,
    StaleCharacter,
)
from ..files import atomic_write_bytes
from .cards import card_v3_to_character, character_to_card_v3
from .model import CHARACTER_FIELDS
from .names import check_name, markup_in

MAX_CARD_BYTES = 2_000_000
LOCK_NAME = ".cast.lock"
_SCANS: dict[Path, dict[Path, tuple[tuple[int, int, int], Any]]] = {}  # folder -> file -> (stat, card)


def slug(name: str) -> str:
    s = re.sub(r"[^\w\-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return s[:60] or "character"


@dataclass
class LibraryCharacter:
    """A character as stored in the cast library; ``version`` is its revision in the library."""

    id: str
    name: str
    version: int
    fields: dict[str, Any] = field(default_factory=dict)
    file: Path | None = None

    def __getattr__(self, item: str) -> Any:
        if item in CHARACTER_FIELDS:
            return self.fields.get(item, CHARACTER_FIELDS[item])
        raise AttributeError(item)

    def to_dict(self) -> dict[str, Any]:
        return {**CHARACTER_FIELDS, **self.fields, "id": self.id, "name": self.name, "version": self.version}


class DamagedCard(NamedTuple):
    """A file in the library folder that is not a readable card, and why."""

    file: Path
    reason: str


class CastLibrary:
    """A folder of character cards, safe to change from several programs at once.

    Characters are looked up by name (in any case) or id: ``library["Mara Quell"]``,
    ``"mara quell" in library``. Iterating gives the readable characters; :meth:`damaged` lists
    the files that are not. :func:`open_cast` opens the writer's own library.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> library = CastLibrary(folder / "cast")
    >>> mara = library.add("Mara Quell", description="Keeper of the Skerry Point light.")
    >>> mara.version, mara.file.name
    (1, 'mara-quell.json')
    >>> library.update("mara quell", personality="Patient, stubborn.").version
    2
    >>> library
    CastLibrary('.../cast', 1 characters)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.mkdir(parents=True, exist_ok=True)

    # ---- the lock
    @contextlib.contextmanager
    def locked(self) -> Iterator[CastLibrary]:
        """Hold the library's file lock: what is read in the block stays true until it ends."""
        from filelock import FileLock, Timeout

        timeout = config.lock_timeout()
        lock = FileLock(str(self.path / LOCK_NAME), timeout=timeout, poll_interval=0.01)
        try:
            lock.acquire()
        except Timeout:
            raise CastBusy(
                f"the cast library at {self.path} stayed locked by another program for {timeout:g} s; "
                "try again when it has finished (or set WORKBENCH_LOCK_TIMEOUT to wait longer)"
            ) from None
        try:
            yield self
        finally:
            lock.release()

    # ---- reading
    def _read(self, file: Path) -> LibraryCharacter:
        """One card, or :class:`CardError` saying why it cannot be used (never another error)."""
        try:
            st = os.lstat(file)
        except OSError as exc:
            raise CardError(f"{file.name} cannot be read: {exc.strerror or exc}") from None
        if stat.S_ISLNK(st.st_mode):
            raise CardError(f"{file.name} is a link, not a card file; the library keeps cards as plain files")
        if not stat.S_ISREG(st.st_mode):
            raise CardError(f"{file.name} is not a plain file")
        if st.st_size > MAX_CARD_BYTES:
            raise CardError(f"{file.name} is larger than {MAX_CARD_BYTES:,} bytes; not a character card")
        try:
            with open(file, "rb") as fh:
                raw = fh.read(MAX_CARD_BYTES + 1)
        except OSError as exc:
            raise CardError(f"{file.name} cannot be read: {exc.strerror or exc}") from None
        if len(raw) > MAX_CARD_BYTES:
            raise CardError(f"{file.name} is larger than {MAX_CARD_BYTES:,} bytes; not a character card")
        try:
            card = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CardError(f"{file.name} is not a valid card file: {exc}") from None
        except RecursionError:
            raise CardError(f"{file.name} is not a valid card file: its JSON is nested too deeply") from None
        try:
            fields = card_v3_to_character(card)
        except CardError as exc:
            raise CardError(f"{file.name}: {exc}") from None
        except Exception as exc:  # a card is data from anyone: no error of it may break the listing
            raise CardError(f"{file.name} is not a valid card: {type(exc).__name__}: {exc}") from None
        name = fields.pop("name")
        found = markup_in(name)
        if found is not None:
            raise CardError(f"{file.name}: the name {name[:60]!r} contains HTML markup ({found!r})")
        cid = fields.pop("id", None) or f"c_{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:12]}"
        revision = fields.pop("revision", 1)
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            raise CardError(f"{file.name}: its revision {revision!r} is not a whole number from 1 up")
        return LibraryCharacter(cid, name, revision, fields, file)

    def scan(self) -> tuple[list[LibraryCharacter], list[DamagedCard]]:
        """The readable characters and the damaged card files, in one pass over the folder.

        A card file is read again only when its size, time or inode changed since the last scan
        (every open page of a served project lists the library after each change to the story).
        """
        good: list[LibraryCharacter] = []
        bad: list[DamagedCard] = []
        seen: dict[Path, tuple[tuple[int, int, int], LibraryCharacter | DamagedCard]] = {}
        for f in sorted(self.path.glob("*.json")):
            try:
                st = os.lstat(f)
                key = (st.st_size, st.st_mtime_ns, st.st_ino)
            except OSError:
                key = (-1, -1, -1)
            cached = _SCANS.get(self.path, {}).get(f)
            if cached is not None and cached[0] == key and key[0] >= 0:
                item = cached[1]
            else:
                try:
                    item = self._read(f)
                except CardError as exc:
                    item = DamagedCard(f, str(exc))
            seen[f] = (key, item)
            if isinstance(item, DamagedCard):
                bad.append(item)
            else:
                good.append(copy.deepcopy(item))  # callers may change what they get
        _SCANS[self.path] = seen  # shared by every CastLibrary of this folder in this process
        return good, bad

    def __iter__(self) -> Iterator[LibraryCharacter]:
        return iter(self.scan()[0])

    def damaged(self) -> list[DamagedCard]:
        """Card files that cannot be used, each with the reason (they never hide the others)."""
        return self.scan()[1]

    def check(self) -> list[tuple[Path, str]]:
        """Files in the folder that are not readable cards, with the reason."""
        return [(d.file, d.reason) for d in self.damaged()]

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return any(c.id == key or c.name.casefold() == str(key).casefold() for c in self)

    def __getitem__(self, name: str) -> LibraryCharacter:
        return self._find(list(self), name)

    def _find(self, chars: list[LibraryCharacter], name: str) -> LibraryCharacter:
        for c in chars:
            if c.id == name or c.name.casefold() == str(name).casefold():
                return c
        raise CharacterNotFound(f"no character called {name!r} in the cast library at {self.path}")

    def get(self, character_id: str) -> LibraryCharacter:
        """The character with this id or name (any case), as ``library[character_id]`` gives it.

        A copy: changing it changes nothing in the library until :meth:`save`. A character that
        is not there raises :class:`~workbench.errors.CharacterNotFound`.

        >>> library.get("MARA QUELL").name
        'Mara Quell'
        >>> library.get("Tomas Reyes")
        Traceback (most recent call last):
        ...
        workbench.errors.CharacterNotFound: no character called 'Tomas Reyes' in the cast library at .../cast
        """
        return self[character_id]

    # ---- changing
    @staticmethod
    def _check_new_name(chars: list[LibraryCharacter], name: str, own_id: str | None = None) -> None:
        clash = next((c for c in chars if c.name.casefold() == name.casefold() and c.id != own_id), None)
        if clash is not None:
            raise DuplicateName(
                f"the cast library already has a character called {clash.name!r}"
                + ("" if clash.name == name else f" (names differ only in case: {name!r})")
            )

    @staticmethod
    def _clean_name(name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a character needs a name")
        return check_name(name.strip(), "character name")

    def add(self, name: str, **fields: Any) -> LibraryCharacter:
        """A new character (revision 1); a name already taken, in any case, is :class:`DuplicateName`."""
        unknown = set(fields) - set(CHARACTER_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown character field(s): {', '.join(sorted(unknown))}")
        name = self._clean_name(name)
        with self.locked():
            chars, _ = self.scan()
            self._check_new_name(chars, name)
            ch = LibraryCharacter(f"c_{uuid.uuid4().hex[:12]}", name, 1, dict(fields))
            return self._write(ch)

    def save(self, character: LibraryCharacter | Any) -> LibraryCharacter:
        """Save a character as a new revision: a library character, or a project character to share.

        Compare-and-swap: a library character must still be at the revision it was read at
        (``character.version``), a project character at the revision it pinned; otherwise someone
        saved a newer one meanwhile and :class:`StaleCharacter` says so (nothing is written).
        A project character is linked to the saved revision.
        """
        if isinstance(character, LibraryCharacter):
            cid, expected, fields = character.id, character.version, dict(character.fields)
        else:
            cid = character.library_id or character.id
            expected = character.library_version
            fields = {k: v for k, v in character.data.items() if k in CHARACTER_FIELDS}
        name = self._clean_name(character.name)
        with self.locked():
            chars, _ = self.scan()
            current = next((c for c in chars if c.id == cid), None)
            if current is not None and expected is not None and current.version != expected:
                raise StaleCharacter(
                    f"{current.name} in the cast library is at revision {current.version}, not the revision "
                    f"{expected} this change started from: someone saved it meanwhile. Reload it (or pull it "
                    "into the project) and make the change again."
                )
            self._check_new_name(chars, name, own_id=cid)
            ch = LibraryCharacter(
                cid, name, (current.version if current else 0) + 1, fields, current.file if current else None
            )
            saved = self._write(ch)
        if isinstance(character, LibraryCharacter):
            character.version, character.file = saved.version, saved.file
        else:
            character.project.cast.link(character, saved.id, saved.version)
        return saved

    def update(self, name: str, /, **fields: Any) -> LibraryCharacter:
        """Change fields of a character (``name=`` renames it): one atomic read-modify-write."""
        unknown = set(fields) - set(CHARACTER_FIELDS) - {"name"}
        if unknown:
            raise InvalidInput(f"unknown character field(s): {', '.join(sorted(unknown))}")
        with self.locked():
            chars, _ = self.scan()
            ch = self._find(chars, name)
            new_name = self._clean_name(fields.pop("name", ch.name))
            self._check_new_name(chars, new_name, own_id=ch.id)
            ch.fields.update(fields)
            ch.name = new_name
            ch.version += 1
            return self._write(ch)

    def remove(self, name: str) -> None:
        """Delete the character's card file (by name, in any case, or id), under the library's lock.

        Projects that use the character keep their pinned snapshot. A character that is not there
        raises :class:`~workbench.errors.CharacterNotFound`.

        >>> _ = library.add("Ines Quell")
        >>> library.remove("ines quell")
        >>> "Ines Quell" in library
        False
        """
        with self.locked():
            ch = self._find(list(self), name)
            if ch.file:
                ch.file.unlink()

    def _write(self, ch: LibraryCharacter) -> LibraryCharacter:
        """Inside :meth:`locked`."""
        card = character_to_card_v3(
            {**ch.fields, "name": ch.name, "id": ch.id, "revision": ch.version, "version": ch.version}
        )
        file = ch.file or self._free_file(ch.name)
        try:
            data = json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True).encode()
        except (TypeError, ValueError) as exc:
            raise CastError(f"{ch.name}: a field cannot be saved in a card ({exc})") from None
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(file, data)
        ch.file = file
        return ch

    def _free_file(self, name: str) -> Path:
        base = slug(name)
        f, n = self.path / f"{base}.json", 1
        while os.path.lexists(f):
            n += 1
            f = self.path / f"{base}-{n}.json"
        return f

    def __repr__(self) -> str:
        return f"CastLibrary({str(self.path)!r}, {len(self)} characters)"


def open_cast(path: str | os.PathLike[str] | None = None) -> CastLibrary:
    """The cast library folder (default: ``$WORKBENCH_HOME/cast``).

    Without ``WORKBENCH_HOME`` the folder is in the user's data directory (``platformdirs``). The
    folder is made if it does not exist.

    ```python
    cast = open_cast()  # the writer's own library, shared by every project
    ```

    >>> team = open_cast(folder / "team-cast")
    >>> team.path.name, len(team)
    ('team-cast', 0)
    """
    return CastLibrary(path if path is not None else config.cast_dir())
