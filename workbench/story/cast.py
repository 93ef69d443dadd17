"""The cast library: characters shared across stories ("virtual celebrities").

A plain folder of Character Card V3 JSON files, one per character, so a team can
share it on any drive or in git and other tools read it as is. Writes are atomic
(temp file + rename). Each save bumps the character's revision; projects pin a
snapshot and pull newer revisions on request.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..errors import CardError, CastError, CharacterNotFound, DuplicateName, InvalidInput
from ..files import atomic_write_bytes
from .cards import card_v3_to_character, character_to_card_v3
from .model import CHARACTER_FIELDS

MAX_CARD_BYTES = 2_000_000


def slug(name: str) -> str:
    s = re.sub(r"[^\w\-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return s[:60] or "character"


@dataclass
class LibraryCharacter:
    """A character as stored in the cast library."""

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


class CastLibrary:
    """A folder of character cards."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.path.mkdir(parents=True, exist_ok=True)

    def _read(self, file: Path) -> LibraryCharacter:
        if file.stat().st_size > MAX_CARD_BYTES:
            raise CardError(f"{file.name} is larger than {MAX_CARD_BYTES:,} bytes; not a character card")
        try:
            card = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CardError(f"{file.name} is not a valid card file: {exc}") from None
        fields = card_v3_to_character(card)
        name = fields.pop("name")
        cid = fields.pop("id", None) or f"c_{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:12]}"
        revision = int(fields.pop("revision", 1))
        return LibraryCharacter(cid, name, revision, fields, file)

    def __iter__(self) -> Iterator[LibraryCharacter]:
        out = []
        for f in sorted(self.path.glob("*.json")):
            try:
                out.append(self._read(f))
            except CardError:
                continue  # unreadable cards are reported by check(), not fatal for browsing
        return iter(out)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return any(c.id == key or c.name.casefold() == str(key).casefold() for c in self)

    def __getitem__(self, name: str) -> LibraryCharacter:
        for c in self:
            if c.name.casefold() == name.casefold() or c.id == name:
                return c
        raise CharacterNotFound(f"no character called {name!r} in the cast library at {self.path}")

    def get(self, character_id: str) -> LibraryCharacter:
        return self[character_id]

    def check(self) -> list[tuple[Path, str]]:
        """Files in the folder that are not readable cards, with the reason."""
        bad = []
        for f in sorted(self.path.glob("*.json")):
            try:
                self._read(f)
            except CardError as exc:
                bad.append((f, str(exc)))
        return bad

    def add(self, name: str, **fields: Any) -> LibraryCharacter:
        unknown = set(fields) - set(CHARACTER_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown character field(s): {', '.join(sorted(unknown))}")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a character needs a name")
        if name in self:
            raise DuplicateName(f"the cast library already has a character called {name!r}")
        ch = LibraryCharacter(f"c_{uuid.uuid4().hex[:12]}", name.strip(), 1, dict(fields))
        return self._write(ch)

    def save(self, character: LibraryCharacter | Any) -> LibraryCharacter:
        """Save a character (a library character, or a project character to share): a new revision."""
        if isinstance(character, LibraryCharacter):
            current = next((c for c in self if c.id == character.id), None)
            ch = LibraryCharacter(
                character.id,
                character.name,
                (current.version if current else 0) + 1,
                dict(character.fields),
                current.file if current else None,
            )
            return self._write(ch)
        # a project Character
        lid = character.library_id or character.id
        current = next((c for c in self if c.id == lid), None)
        fields = {k: v for k, v in character.data.items() if k in CHARACTER_FIELDS}
        ch = LibraryCharacter(
            lid,
            character.name,
            (current.version if current else 0) + 1,
            fields,
            current.file if current else None,
        )
        return self._write(ch)

    def update(self, name: str, **fields: Any) -> LibraryCharacter:
        ch = self[name]
        unknown = set(fields) - set(CHARACTER_FIELDS) - {"name"}
        if unknown:
            raise InvalidInput(f"unknown character field(s): {', '.join(sorted(unknown))}")
        new_name = fields.pop("name", ch.name)
        ch.fields.update(fields)
        ch.name = new_name
        return self.save(ch)

    def remove(self, name: str) -> None:
        ch = self[name]
        if ch.file:
            ch.file.unlink()

    def _write(self, ch: LibraryCharacter) -> LibraryCharacter:
        card = character_to_card_v3(
            {**ch.fields, "name": ch.name, "id": ch.id, "revision": ch.version, "version": ch.version}
        )
        file = ch.file or self._free_file(ch.name)
        try:
            data = json.dumps(card, ensure_ascii=False, indent=2, sort_keys=True).encode()
        except TypeError as exc:
            raise CastError(f"{ch.name}: a field cannot be saved in a card ({exc})") from None
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(file, data)
        ch.file = file
        return ch

    def _free_file(self, name: str) -> Path:
        base = slug(name)
        f, n = self.path / f"{base}.json", 1
        while f.exists():
            n += 1
            f = self.path / f"{base}-{n}.json"
        return f

    def __repr__(self) -> str:
        return f"CastLibrary({str(self.path)!r}, {len(self)} characters)"


def open_cast(path: str | os.PathLike[str] | None = None) -> CastLibrary:
    """The cast library folder (default: ``$WORKBENCH_HOME/cast``)."""
    return CastLibrary(path if path is not None else config.cast_dir())
