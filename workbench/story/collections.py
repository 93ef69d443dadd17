"""The project's collections: its cast, lore, media assets, named branches and kept special passages.

Each is an attribute of a :class:`~workbench.story.project.Project` (``project.cast``,
``project.lore``, ``project.assets``, ``project.branches``, ``project.specials``) that reads the
file on demand; each change is one transaction and (media aside) one undo step.

The examples in this module share the sample story:

    >>> import pathlib, tempfile
    >>> import workbench
    >>> project = workbench.build_sample(pathlib.Path(tempfile.mkdtemp()) / "sample.story")
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BranchNotFound, CharacterNotFound, DuplicateName, InvalidInput, StoryError
from ..seeding import stable_int
from .handles import Branch, Character, LoreEntry, Scene, Special, clean_title
from .model import CHARACTER_FIELDS, Asset, default_palette
from .storage import dumps, loads, new_id, now

if TYPE_CHECKING:
    from .project import Project

__all__ = ["Assets", "Branches", "Cast", "Lore", "Specials", "clean_branch_name"]

DEFAULT_BRANCH = "main"
"""The default branch: the first scene starts it, a scene added without a branch named extends
it, and it can be neither deleted nor pruned."""


def _lore_entry(r: sqlite3.Row) -> LoreEntry:
    return LoreEntry(
        r["id"], r["name"], tuple(loads(r["keys"], [])), r["content"], bool(r["always"]), r["priority"]
    )


class Cast:
    """The project's characters (pinned snapshots), in the order they were added.

    Look one up by name (any case) or id; ``in`` and ``len`` work as on a collection. A character
    from the shared cast library is pinned with :meth:`use`, so the project stays reproducible
    when the library changes, and refreshed with :meth:`pull`.

    >>> project.cast.names()
    ['Mara Quell', 'Tomas Reyes', 'Ines Quell']
    >>> project.cast["ines quell"], "Halvard" in project.cast
    (Character('Ines Quell', v1), False)
    >>> halvard = project.cast.add("Halvard", description="Buys failing islands.", tags=["salvage"])
    >>> halvard.description, len(project.cast)
    ('Buys failing islands.', 4)
    >>> project.cast.remove("Halvard")
    >>> len(project.cast)
    3
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def __iter__(self) -> Iterator[Character]:
        rows = self.project.db.all("SELECT id FROM characters ORDER BY seq")
        return iter([Character(self.project, r["id"]) for r in rows])

    def __len__(self) -> int:
        return self.project.db.scalar("SELECT count(*) AS n FROM characters")

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except (CharacterNotFound, InvalidInput):
            return False
        return True

    def __getitem__(self, key: str) -> Character:
        if not isinstance(key, str):
            raise InvalidInput("look characters up by name or id")
        row = self.project.db.one("SELECT id FROM characters WHERE id=? OR name=?", (key, key))
        if row is None:
            row = self.project.db.one("SELECT id FROM characters WHERE lower(name)=lower(?)", (key,))
        if row is None:
            names = ", ".join(c.name for c in self) or "none yet"
            raise CharacterNotFound(f"no character called {key!r} in this project (cast: {names})")
        return Character(self.project, row["id"])

    def names(self) -> list[str]:
        """The characters' names, in the order they were added."""
        return [r["name"] for r in self.project.db.all("SELECT name FROM characters ORDER BY seq")]

    @staticmethod
    def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
        """Character fields checked: known names, lists and mappings where expected, JSON-safe."""
        unknown = sorted(set(fields) - set(CHARACTER_FIELDS))
        if unknown:
            raise InvalidInput(
                f"unknown character field(s): {', '.join(unknown)}; known: {', '.join(CHARACTER_FIELDS)}"
            )
        out = dict(fields)
        for key in ("alternate_greetings", "tags"):
            if key in out and not isinstance(out[key], list):
                out[key] = list(out[key])
        for key in ("voice", "card_extra", "extensions"):
            if key in out and not isinstance(out[key], dict):
                raise InvalidInput(f"the character field {key!r} must be a mapping")
        json.dumps(out)  # must be JSON-serialisable
        return out

    def add(
        self, name: str, *, library_id: str | None = None, library_version: int | None = None, **fields: Any
    ) -> Character:
        """Add a character to the project."""
        name = clean_title(name, "character name")
        data = self.check_fields(fields)
        # the visual identity is fixed at creation (from the library id, else the name) and kept across renames
        identity = library_id or name
        if data.get("image_seed") is None:
            data["image_seed"] = stable_int("image", identity)
        if data.get("palette") is None:
            data["palette"] = default_palette(identity)
        with self.project.transaction(f"add character {name}"):
            if self.project.db.one("SELECT 1 FROM characters WHERE lower(name)=lower(?)", (name,)):
                raise DuplicateName(f"there is already a character called {name!r} in this project")
            cid = new_id("c_")
            self.project.db.execute(
                "INSERT INTO characters(id, name, data, version, library_id, library_version, seq) "
                "VALUES(?,?,?,?,?,?,?)",
                (
                    cid,
                    name,
                    dumps(data),
                    1,
                    library_id,
                    library_version,
                    self.project.db.next_seq("characters"),
                ),
            )
        return Character(self.project, cid)

    def use(self, library_character: Any) -> Character:
        """Pin a snapshot of a cast-library character in this project (or refresh the pin)."""
        lid = library_character.id
        fields = {k: v for k, v in library_character.fields.items() if k in CHARACTER_FIELDS}
        row = self.project.db.one("SELECT id FROM characters WHERE library_id=?", (lid,))
        if row is not None:
            char = Character(self.project, row["id"])
            with self.project.transaction(f"update {library_character.name} from the cast library"):
                self.update_character(
                    char,
                    {"name": library_character.name, **fields},
                    library_version=library_character.version,
                )
            return char
        return self.add(
            library_character.name, library_id=lid, library_version=library_character.version, **fields
        )

    def link(self, char: Character, library_id: str, library_version: int) -> None:
        """Record that ``char`` was saved to the cast library as ``library_id`` at ``library_version``.

        Not an undo step: the library file it describes cannot be undone either."""
        with self.project.transaction(f"link {char.name} to the cast library", undoable=False):
            self.project.db.execute(
                "UPDATE characters SET library_id=?, library_version=? WHERE id=?",
                (library_id, library_version, char.id),
            )

    def pull(self, name: str, library: Any = None) -> Character:
        """Replace the pinned snapshot with the cast library's newer version."""
        from .cast import open_cast

        char = self[name]
        lib = library or open_cast()
        if not char.library_id:
            raise StoryError(f"{char.name} was created in this project, not taken from the cast library")
        newer = lib.get(char.library_id)
        return self.use(newer)

    def outdated(self, library: Any = None) -> list[tuple[Character, int]]:
        """Characters whose cast-library version is newer than the pinned one."""
        from .cast import open_cast

        lib = library or open_cast()
        out = []
        for char in self:
            if char.library_id and char.library_id in lib:
                v = lib.get(char.library_id).version
                if v > (char.library_version or 0):
                    out.append((char, v))
        return out

    def update_character(
        self, char: Character, fields: Mapping[str, Any], library_version: int | None = None
    ) -> None:
        """Change ``char``'s fields (``name`` renames it) and bump its version, one undoable step;
        ``library_version`` records the cast-library version pinned. :meth:`Character.update` calls
        this; unknown fields raise :class:`~workbench.errors.InvalidInput`, a taken name
        :class:`~workbench.errors.DuplicateName`."""
        fields = dict(fields)
        new_name = fields.pop("name", None)
        data = self.check_fields(fields)
        with self.project.transaction(f"edit character {char.name}"):
            row = char.row()
            stored = loads(row["data"], {})
            stored.update(data)
            name = row["name"]
            if new_name is not None and new_name != name:
                name = clean_title(new_name, "character name")
                if self.project.db.one(
                    "SELECT 1 FROM characters WHERE lower(name)=lower(?) AND id!=?", (name, char.id)
                ):
                    raise DuplicateName(f"there is already a character called {name!r}")
            self.project.db.execute(
                "UPDATE characters SET name=?, data=?, version=version+1, "
                "library_version=coalesce(?, library_version) WHERE id=?",
                (name, dumps(stored), library_version, char.id),
            )

    def remove(self, name: str) -> None:
        """Remove the character called ``name`` (or with that id) from the project (one undoable
        step); the cast library keeps its own copy."""
        char = self[name]
        with self.project.transaction(f"remove character {char.name}"):
            self.project.db.execute("DELETE FROM characters WHERE id=?", (char.id,))


class Lore:
    """World info: entries that enter the prompt when their keywords appear.

    Iterating gives the :class:`~workbench.story.handles.LoreEntry` values, highest priority
    first; :meth:`triggered` is what context assembly asks for a scene's text.

    >>> len(project.lore)
    4
    >>> ferry = project.lore.add("ferry boat, ferryman", "The ferryman is Halvard's cousin.", priority=5)
    >>> ferry.keys, ferry.name
    (('ferry boat', 'ferryman'), 'ferry boat')
    >>> [e.name for e in project.lore.triggered("The ferryman waits by the lighthouse.")]
    ['ferry boat', 'always', 'lighthouse']
    >>> project.lore.remove(ferry)
    >>> len(project.lore)
    4
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def __iter__(self) -> Iterator[LoreEntry]:
        rows = self.project.db.all("SELECT * FROM lore ORDER BY priority DESC, seq")
        return iter([_lore_entry(r) for r in rows])

    def __len__(self) -> int:
        return self.project.db.scalar("SELECT count(*) AS n FROM lore")

    def add(
        self,
        keys: Iterable[str] | str,
        content: str,
        always: bool = False,
        priority: int = 0,
        name: str | None = None,
    ) -> LoreEntry:
        """Add an entry (one undoable step): ``keys`` are the trigger words (a list, or one string
        separated by commas), ``content`` the text for the prompt, ``always`` puts it in every
        prompt, ``priority`` orders entries (higher first); ``name`` defaults to the first key."""
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",")]
        keys = [k for k in (str(k).strip() for k in keys) if k]
        if not isinstance(content, str) or not content.strip():
            raise InvalidInput("a lore entry needs some content")
        if not keys and not always:
            raise InvalidInput("a lore entry needs at least one keyword, or always=True")
        lid = new_id("l_")
        with self.project.transaction("add lore"):
            self.project.db.execute(
                "INSERT INTO lore(id, name, keys, content, always, priority, seq) VALUES(?,?,?,?,?,?,?)",
                (
                    lid,
                    name or (keys[0] if keys else "always"),
                    dumps(keys),
                    content,
                    int(always),
                    int(priority),
                    self.project.db.next_seq("lore"),
                ),
            )
        return self.get(lid)

    def get(self, lore_id: str) -> LoreEntry:
        """The entry with this id; :class:`~workbench.errors.StoryError` when there is none."""
        r = self.project.db.one("SELECT * FROM lore WHERE id=?", (lore_id,))
        if r is None:
            raise StoryError(f"no lore entry {lore_id!r}")
        return _lore_entry(r)

    def remove(self, entry: LoreEntry | str) -> None:
        """Remove an entry, given as the entry or its id (one undoable step)."""
        lid = entry.id if isinstance(entry, LoreEntry) else entry
        with self.project.transaction("remove lore"):
            self.project.db.execute("DELETE FROM lore WHERE id=?", (lid,))

    def triggered(self, text: str) -> list[LoreEntry]:
        """Entries that fire for ``text`` (always-on ones included), highest priority first."""
        return [e for e in self if e.matches(text)]


class Assets:
    """Media blobs, content-addressed by sha256, stored in the project file.

    Portraits, storyboard frames and voice lines travel inside the project. The same bytes are
    stored once; storing is not an undo step (undo never deletes media a take may point at).
    Iterating gives every :class:`~workbench.story.model.Asset`, oldest first.

    >>> asset = project.assets.put(b"GIF89a...", "image/gif", {"seed": 7}, kind="portrait")
    >>> asset.sha256 in project.assets, project.assets.get(asset.sha256).provenance
    (True, {'seed': 7})
    >>> project.assets.put(b"GIF89a...", "image/gif") == asset, len(project.assets)
    (True, 1)
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def put(
        self, data: bytes, mime: str, provenance: Mapping[str, Any] | None = None, kind: str = ""
    ) -> Asset:
        """Store ``data`` (bytes) with its MIME type, how it was made and its ``kind``
        (``"portrait"``, ``"voice"``...); returns the stored asset. Bytes already stored are
        kept as they were, first provenance included."""
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInput("asset data must be bytes")
        sha = hashlib.sha256(data).hexdigest()
        prov = dict(provenance or {})
        with self.project.transaction("store asset", undoable=False):
            self.project.db.execute(
                "INSERT OR IGNORE INTO assets(sha256, mime, kind, data, provenance, created) VALUES(?,?,?,?,?,?)",
                (sha, mime, kind, bytes(data), dumps(prov), now()),
            )
        return self.get(sha)

    def get(self, sha256: str) -> Asset:
        """The asset with this sha256 (hex); :class:`~workbench.errors.StoryError` when there is none."""
        r = self.project.db.one("SELECT * FROM assets WHERE sha256=?", (sha256,))
        if r is None:
            raise StoryError(f"no asset {sha256[:12]}... in this project")
        return Asset(r["sha256"], r["mime"], bytes(r["data"]), loads(r["provenance"], {}), r["kind"])

    def __contains__(self, sha256: object) -> bool:
        return self.project.db.one("SELECT 1 FROM assets WHERE sha256=?", (sha256,)) is not None

    def __iter__(self) -> Iterator[Asset]:
        rows = self.project.db.all("SELECT sha256 FROM assets ORDER BY created, sha256")
        return iter([self.get(r["sha256"]) for r in rows])

    def __len__(self) -> int:
        return self.project.db.scalar("SELECT count(*) AS n FROM assets")


class Specials:
    """A story format's passages that are not scenes (scripts, stylesheets, ``StoryInit``, ink
    functions...), kept verbatim in file order so exports write them back.

    Importers fill it; an exporter writes back the passages of its own format (:meth:`of`).
    Each item is a :class:`~workbench.story.handles.Special`.

    >>> script = project.specials.add("UserScript", "window.lamp = false;", tags=["script"], format="twine")
    >>> [x.name for x in project.specials.of("twine")], project.specials.of("ink")
    (['UserScript'], [])
    >>> project.specials.remove(script)
    >>> len(project.specials)
    0
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def __iter__(self) -> Iterator[Special]:
        rows = self.project.db.all("SELECT id FROM specials ORDER BY seq")
        return iter([Special(self.project, r["id"]) for r in rows])

    def __len__(self) -> int:
        return self.project.db.scalar("SELECT count(*) AS n FROM specials")

    def of(self, fmt: str) -> list[Special]:
        """The special passages that came from format ``fmt``."""
        rows = self.project.db.all("SELECT id FROM specials WHERE format=? ORDER BY seq", (fmt,))
        return [Special(self.project, r["id"]) for r in rows]

    def add(
        self,
        name: str,
        text: str,
        tags: Iterable[str] = (),
        format: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> Special:
        """Keep a special passage (one undoable step)."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a special passage needs a name")
        if not isinstance(text, str):
            raise InvalidInput("a special passage's text must be text")
        data = dict(extra or {})
        json.dumps(data)
        sid = new_id("p_")
        with self.project.transaction(f"keep {name}"):
            self.project.db.execute(
                "INSERT INTO specials(id, name, tags, text, format, extra, seq) VALUES(?,?,?,?,?,?,?)",
                (
                    sid,
                    name,
                    dumps([str(t) for t in tags]),
                    text,
                    format,
                    dumps(data),
                    self.project.db.next_seq("specials"),
                ),
            )
        return Special(self.project, sid)

    def remove(self, special: Special) -> None:
        """Drop a kept passage (one undoable step); exports no longer write it."""
        with self.project.transaction("remove special passage"):
            self.project.db.execute("DELETE FROM specials WHERE id=?", (special.id,))


class Branches(Mapping[str, Branch]):
    """Mapping of branch name to :class:`Branch`; ``branches[name] = scene`` sets it to ``path(scene)``.

    Names are listed in the order the branches were made; ``del branches[name]`` forgets one (its
    scenes stay). Each change is one undoable step.

    >>> list(project.branches)
    ['main', 'ines']
    >>> boat = project.scene("The Boat in the Dark")
    >>> project.branches.of(boat), project.branches.ending_at(boat)
    (['ines'], ['ines'])
    >>> project.branches["rowing"] = boat
    >>> project.branches["rowing"].tip == boat, project.branches.default_for(boat)
    (True, 'ines')
    >>> del project.branches["rowing"]
    >>> "rowing" in project.branches
    False
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def __getitem__(self, name: str) -> Branch:
        r = self.project.db.one("SELECT * FROM branches WHERE name=?", (name,))
        if r is None:
            known = ", ".join(self) or "none yet"
            raise BranchNotFound(f"no branch called {name!r} (branches: {known})")
        return Branch(self.project, r["name"], tuple(loads(r["scenes"], [])))

    def __iter__(self) -> Iterator[str]:
        return iter([r["name"] for r in self.project.db.all("SELECT name FROM branches ORDER BY seq")])

    def __len__(self) -> int:
        return self.project.db.scalar("SELECT count(*) AS n FROM branches")

    def __contains__(self, name: object) -> bool:
        return self.project.db.one("SELECT 1 FROM branches WHERE name=?", (name,)) is not None

    def __setitem__(self, name: str, scene: Scene | str) -> None:
        self.project.set_branch(name, scene)

    def __delitem__(self, name: str) -> None:
        self.project.delete_branch(name)

    def create(self, name: str, scene: Scene | str, from_branch: str | None = None) -> Branch:
        """A new branch ending at ``scene``; a name already in use raises :class:`DuplicateName`."""
        name = clean_branch_name(name)
        if name in self:
            raise DuplicateName(f"there is already a branch called {name!r}")
        self.project.set_branch(name, scene, from_branch=from_branch)
        return self[name]

    def of(self, scene: Scene) -> list[str]:
        """Names of the branches whose path goes through ``scene``."""
        return [b for b in self if scene.id in self[b].scene_ids]

    def default_for(self, scene: Scene) -> str | None:
        """The branch a scene is read along when none is named: ``main`` if it passes through the
        scene, else the first branch that does, else None."""
        names = self.of(scene)
        if DEFAULT_BRANCH in names:
            return DEFAULT_BRANCH
        return names[0] if names else None

    def ending_at(self, scene: Scene) -> list[str]:
        """Names of the branches whose last scene is ``scene`` (``main`` first)."""
        tips = [b for b in self if self[b].tip == scene]
        return sorted(tips, key=lambda b: b != DEFAULT_BRANCH)


def clean_branch_name(name: Any) -> str:
    """A branch name as one line of at most 80 characters; :class:`~workbench.errors.InvalidInput`
    when it is empty, not text or too long.

    >>> clean_branch_name("  ines's   way ")
    "ines's way"
    >>> clean_branch_name("")
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: a branch needs a name
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a branch needs a name")
    name = " ".join(name.split())
    if len(name) > 80:
        raise InvalidInput("a branch name can have at most 80 characters")
    return name
