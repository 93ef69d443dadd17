"""The project file underneath the story model: SQLite, transactions, undo, opening and checking files.

:class:`Database` wraps one connection. Every write runs inside :meth:`Database.transaction`
(``BEGIN IMMEDIATE``; nested calls join the outer one), and one outer transaction is one
undo step: the undo triggers of :mod:`.schema` write the inverse SQL of each change into
``undolog``, and :meth:`Database.undo` reads and replays one step backwards inside one write
transaction. A step records who made it (:func:`acting_as`), so on a shared server each writer's
Undo undoes their own last step, and refuses when someone else has changed the same rows since.

A writer waiting for another program's write lock longer than the lock timeout
(``WORKBENCH_LOCK_TIMEOUT``, 60 s) gets :class:`~workbench.errors.ProjectBusy` naming the holder:
each write transaction leaves a small note beside the file (``NAME-writer``: process, host, user,
what it is doing) while it holds the lock.

Bulk writes (an import of thousands of scenes) pause the triggers with
:meth:`Database.undo_triggers_paused` and record a few compact inverse statements instead
(:meth:`Database.log_undo`), so the undo log stays small and the import is still one undo step.

Only the story layer talks SQL; everything above it uses :class:`~workbench.story.project.Project`.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import json
import os
import secrets
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import config
from ..errors import (
    DamagedProject,
    InvalidInput,
    NewerSchema,
    NotAProject,
    NothingToRedo,
    NothingToUndo,
    ProjectBusy,
    ProjectClosed,
    StoryError,
    UndoConflict,
)
from ..files import atomic_path
from . import schema

__all__ = [
    "SQLITE_HEADER",
    "Database",
    "acting_as",
    "busy_error",
    "connect",
    "current_author",
    "create_schema",
    "dumps",
    "inspect_file",
    "loads",
    "migrate_file",
    "new_id",
    "now",
    "writer_note",
]

SQLITE_HEADER = b"SQLite format 3\x00"
_author: contextvars.ContextVar[str | None] = contextvars.ContextVar("workbench_author", default=None)
_CURRENT: Any = object()  # "whoever is acting now" (see acting_as)
# what a table's rows are called in a message to a writer
_ROW_WORDS = {
    "meta": "the story's settings",
    "characters": "a character",
    "lore": "a lore entry",
    "scenes": "a scene",
    "choices": "a choice",
    "branches": "a branch",
    "takes": "a take",
}


@contextlib.contextmanager
def acting_as(author: str | None) -> Iterator[None]:
    """Changes made inside the block (in this thread) are undo steps of ``author``; ``undo()``
    there undoes ``author``'s own last step. ``None`` means nobody in particular."""
    token = _author.set(author.strip() if isinstance(author, str) and author.strip() else None)
    try:
        yield
    finally:
        _author.reset(token)


def current_author() -> str | None:
    """The writer changes are attributed to here (set by :func:`acting_as`), or None."""
    return _author.get()


def _is_busy(exc: sqlite3.Error) -> bool:
    msg = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)


def _note_path(file: Path) -> Path:
    return file.with_name(file.name + "-writer")


def writer_note(file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The note left by the program writing to the project now (process, host, user, since, what), or None."""
    try:
        raw = _note_path(Path(file)).read_text(encoding="utf-8")
        note = json.loads(raw)
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def busy_error(file: Path, timeout: float | None = None) -> ProjectBusy:
    """The error for a write lock not won within the timeout, naming the holder when it left a note."""
    waited = config.lock_timeout() if timeout is None else timeout
    note = writer_note(file)
    head = f"the project {file.name} is busy: "
    tail = f" Waited {waited:g} s. Try again when it has finished (or set WORKBENCH_LOCK_TIMEOUT to wait longer)."
    if not note:
        return ProjectBusy(
            head + "another program holds its write lock (it left no note saying who: perhaps an SQLite "
            "tool or a program that is not Story Workbench)." + tail
        )
    pid = note.get("pid")
    host = str(note.get("host") or "another machine")
    user = note.get("user")
    who = f"process {pid} on {host}" + (f" (user {user})" if user else "")
    doing = f", doing: {note['what']}" if note.get("what") else ""
    since = f" since {note['since']}" if note.get("since") else ""
    if host == socket.gethostname() and isinstance(pid, int) and not _alive(pid):
        return ProjectBusy(
            head + f"{who} wrote to it{since}{doing}, but that process is no longer running, and something "
            "else holds the lock without leaving a note." + tail
        )
    return ProjectBusy(head + f"{who} has been writing to it{since}{doing}." + tail)


def _raise_busy(file: Path, exc: sqlite3.Error) -> None:
    if _is_busy(exc):
        raise busy_error(file) from None


def now() -> str:
    """The current time as an ISO 8601 UTC timestamp (microseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id(prefix: str) -> str:
    """A fresh random row id with a kind prefix (``s_`` scene, ``t_`` take, ...): 12 hex digits."""
    return f"{prefix}{secrets.token_hex(6)}"


def loads(raw: str | None, default: Any = None) -> Any:
    """A stored JSON column, or ``default`` when it is NULL."""
    if raw is None:
        return default
    return json.loads(raw)


def dumps(value: Any) -> str:
    """JSON for a stored column (sorted keys, Unicode kept)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class Database:
    """One open project file: queries, transactions (one outer transaction = one undo step), undo."""

    def __init__(self, file: Path, conn: sqlite3.Connection) -> None:
        self.file = file
        self._conn: sqlite3.Connection | None = conn
        self.lock = threading.RLock()
        self._depth = 0
        self._reading = 0
        self._labels: list[str] = []
        self._undoable = True
        self._author: str | None = None
        self._surface = "write"
        self._listeners: list[Callable[[], None]] = []

    # ---- connection
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProjectClosed(f"the project {self.file.name} is closed; open it again with open_project()")
        return self._conn

    @property
    def closed(self) -> bool:
        return self._conn is None

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self.lock, self._busy():
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock, self._busy():
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.lock, self._busy():
            return self.conn.execute(sql, params).fetchone()[0]

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        """A lock wait past the timeout becomes :class:`ProjectBusy` naming the holder."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            _raise_busy(self.file, exc)
            raise

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A write; only inside :meth:`transaction`."""
        if self._depth == 0:
            raise StoryError("internal: write outside a transaction")
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        """Many writes of one statement; only inside :meth:`transaction`."""
        if self._depth == 0:
            raise StoryError("internal: write outside a transaction")
        return self.conn.executemany(sql, rows)

    def next_seq(self, table: str) -> int:
        """The next ordering number of ``table`` (rows keep their creation order)."""
        r = self.conn.execute(f"SELECT coalesce(max(seq), 0) + 1 AS n FROM {table}").fetchone()
        return int(r["n"])

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    # ---- transactions
    def _begin_write(self, label: str) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            _raise_busy(self.file, exc)
            raise
        self._write_note(label)

    def _write_note(self, label: str) -> None:
        """Say who holds the write lock, for writers that time out waiting (best effort, no fsync)."""
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "user": _user_name(),
            "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "what": label,
        }
        target = _note_path(self.file)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(note), encoding="utf-8")
            os.replace(tmp, target)

    def _clear_note(self) -> None:
        """Removed while the lock is still held, so it never removes the next holder's note."""
        with contextlib.suppress(OSError):
            os.unlink(_note_path(self.file))

    @contextlib.contextmanager
    def transaction(
        self, label: str = "change", undoable: bool = True, surface: str = "write"
    ) -> Iterator[Database]:
        """Group writes into one atomic transaction and one undo step. Nested calls join the outer one.

        ``surface`` names where the change was made (``"write"``: the writer's views, notebooks and
        the CLI; ``"play"``: a reader's move), so each surface's Undo takes back its own steps.
        """
        with self.lock:
            outer = self._depth == 0
            if outer and self._reading:
                raise StoryError("internal: a write inside a read snapshot")
            start = 0
            if outer:
                self._begin_write(label)
                self._labels = []
                self._undoable = undoable
                self._author = current_author()
                self._surface = surface or "write"
                start = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
            self._labels.append(label)
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self._clear_note()
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if not outer:
                return
            try:
                end = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
                if end > start:
                    if self._undoable:
                        self._add_step(self._labels[0], start + 1, end, self._author, self._surface)
                        self._drop_redo(self._author, self._surface)  # a new change ends what redo offered
                    else:  # keep only the rows of a step the transaction recorded itself (undo's redo)
                        kept = self.conn.execute(
                            "SELECT coalesce(max(last_seq), ?) FROM undo_steps WHERE first_seq > ?",
                            (start, start),
                        ).fetchone()[0]
                        self.conn.execute("DELETE FROM undolog WHERE seq > ?", (max(start, kept),))
                self._clear_note()
                self.conn.execute("COMMIT")
            except BaseException:
                self._clear_note()
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
        self.notify()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Database]:
        """Reads inside the block see one consistent state of the file, whatever other programs commit
        meanwhile (one read transaction). Inside a write transaction it is that transaction's state."""
        with self.lock:
            if self._depth or self._reading:
                self._reading += 1
                try:
                    yield self
                finally:
                    self._reading -= 1
                return
            with self._busy():
                self.conn.execute("BEGIN")
                try:
                    self.conn.execute("SELECT count(*) FROM meta").fetchone()  # the read starts here
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            self._reading = 1
            try:
                yield self
            finally:
                self._reading = 0
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("COMMIT")

    def on_change(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` after each committed change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def notify(self) -> None:
        for cb in list(self._listeners):
            with contextlib.suppress(Exception):
                cb()

    @property
    def revision(self) -> int:
        """A number that changes whenever the story changes (in this or another process)."""
        return int(
            self.scalar(
                "SELECT (SELECT coalesce(max(seq),0) FROM undolog) + (SELECT coalesce(max(seq),0) FROM events) "
                "+ (SELECT count(*) FROM undo_steps)"
            )
        )

    # ---- undo and redo
    def _add_step(
        self, label: str, first: int, last: int, author: str | None, surface: str, redo: bool = False
    ) -> None:
        self.conn.execute(
            "INSERT INTO undo_steps(label, first_seq, last_seq, ts, author, surface, redo) VALUES(?,?,?,?,?,?,?)",
            (label, first, last, now(), author, surface, int(redo)),
        )

    def _drop_redo(self, author: str | None, surface: str) -> None:
        """Forget ``author``'s redo steps on ``surface`` (they made a new change there)."""
        steps = self.conn.execute(
            "SELECT step, first_seq, last_seq FROM undo_steps WHERE redo=1 AND author IS ? AND surface=?",
            (author, surface),
        ).fetchall()
        for st in steps:  # by range of the primary key: no scan of the whole log per commit
            self.conn.execute(
                "DELETE FROM undolog WHERE seq BETWEEN ? AND ?", (st["first_seq"], st["last_seq"])
            )
            self.conn.execute("DELETE FROM undo_steps WHERE step=?", (st["step"],))

    @staticmethod
    def _whose(author: str | None, surface: str | None) -> tuple[list[str], list[Any]]:
        """The conditions on ``undo_steps`` for ``author``'s steps on ``surface`` (None: any)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("author", author), ("surface", surface)):
            if value is not None:
                where.append(f"{column}=?")
                params.append(value)
        return where, params

    def _last_step(
        self, author: str | None, surface: str | None = None, redo: bool = False
    ) -> sqlite3.Row | None:
        where, params = self._whose(author, surface)
        return self.conn.execute(
            f"SELECT * FROM undo_steps WHERE {' AND '.join(['redo=?', *where])} ORDER BY step DESC LIMIT 1",
            [int(redo), *params],
        ).fetchone()

    def undo(self, by: str | None = _CURRENT, surface: str | None = None) -> str:
        """Undo the last undo step and return its label.

        ``by`` names whose step: by default the writer acting now (:func:`acting_as`), or, when
        nobody is, the last step of anyone. ``surface`` (``"write"``, ``"play"``) takes only steps
        made there; None takes the last step of any. A writer's step that someone else changed
        afterwards (the same rows, or rows that undoing it would remove with it) is refused with
        :class:`UndoConflict`, and nothing changes. The step is read and replayed in one write
        transaction, so a step another program commits meanwhile is never lost. The undone step can
        be redone (:meth:`redo`) until its writer changes something else on that surface.
        """
        return self._step_back("undo", by, surface)

    def redo(self, by: str | None = _CURRENT, surface: str | None = None) -> str:
        """Redo the step undone last (``by`` and ``surface`` as in :meth:`undo`) and return its label.

        Refused with :class:`UndoConflict` when someone else changed the same rows since the undo.
        """
        return self._step_back("redo", by, surface)

    def _step_back(self, verb: str, by: str | None, surface: str | None) -> str:
        """Undo (``verb="undo"``) or redo the last step of ``by`` on ``surface``; returns its label."""
        author = current_author() if by is _CURRENT else by
        with self.lock, self.transaction(verb, undoable=False):
            step = self._last_step(author, surface, redo=verb == "redo")
            if step is None:
                who = f"{author} has" if author else "there is"
                error = NothingToRedo if verb == "redo" else NothingToUndo
                raise error(f"{who} nothing to {verb}")
            self._replay(step, verb)
            return str(step["label"])

    def _replay(self, step: sqlite3.Row, verb: str) -> None:
        """Replay ``step``'s inverse statements (last to first) and keep their own inverse as the
        step that takes them back: an undo becomes a redo step, a redo an undo step again."""
        first, last = int(step["first_seq"]), int(step["last_seq"])
        own = self._rows("seq BETWEEN ? AND ?", (first, last))
        later = self.conn.execute(
            "SELECT u.tbl, u.row, s.label, s.author FROM undolog u JOIN undo_steps s "
            "ON u.seq BETWEEN s.first_seq AND s.last_seq WHERE u.seq > ? AND u.tbl IS NOT NULL "
            "AND u.tbl != 'events' AND s.redo = 0 ORDER BY u.seq",
            (last,),
        ).fetchall()
        for r in later:
            if (r["tbl"], r["row"]) in own:
                raise self._conflict(verb, step, r["tbl"], r["author"], r["label"])
        self.conn.execute("PRAGMA defer_foreign_keys=ON")
        mark = self.conn.execute("SELECT coalesce(max(seq), 0) FROM undolog").fetchone()[0]
        rows = self.conn.execute(
            "SELECT sql FROM undolog WHERE seq BETWEEN ? AND ? ORDER BY seq DESC", (first, last)
        ).fetchall()
        for r in rows:
            self.conn.execute(r["sql"])
        if later:  # replaying an older step must not take anyone's later rows with it (cascades)
            extra = self._rows("seq > ?", (mark,)) - own
            if extra:
                tbl = sorted(extra)[0][0]
                raise self._conflict(verb, step, tbl, later[-1]["author"], later[-1]["label"])
        end = self.conn.execute("SELECT coalesce(max(seq), 0) FROM undolog").fetchone()[0]
        bulk = self.conn.execute(
            "SELECT 1 FROM undolog WHERE seq BETWEEN ? AND ? AND tbl IS NULL LIMIT 1", (first, last)
        ).fetchone()
        self.conn.execute("DELETE FROM undolog WHERE seq BETWEEN ? AND ?", (first, last))
        self.conn.execute("DELETE FROM undo_steps WHERE step=?", (step["step"],))
        # a bulk step (an import: a few compact inverse statements, see log_undo) is not redone:
        # its redo would be a copy of every row it wrote; the writer imports the file again
        if end > mark and not bulk:
            self._add_step(step["label"], mark + 1, end, step["author"], step["surface"], redo=verb == "undo")

    def history(
        self, author: str | None = None, surface: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The undo steps (newest first), then the redo steps (the next to redo first) of ``author``
        on ``surface`` (anyone's, any surface, when None): dicts with step, label, ts, author,
        surface and ``redo`` (True for a step that was undone and can be redone)."""
        where, params = self._whose(author, surface)
        cond = f"WHERE {' AND '.join(where)}" if where else ""
        with self.lock, self._busy():
            rows = self.conn.execute(
                f"SELECT step, label, ts, author, surface, redo FROM undo_steps {cond} "
                "ORDER BY redo, step DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [{**dict(r), "redo": bool(r["redo"])} for r in rows]

    def _rows(self, where: str, params: tuple[Any, ...]) -> set[tuple[str, int]]:
        """(table, rowid) of the undo log rows matching ``where`` (feedback events left out: they only append)."""
        return {
            (r["tbl"], r["row"])
            for r in self.conn.execute(
                f"SELECT tbl, row FROM undolog WHERE {where} AND tbl IS NOT NULL AND tbl != 'events'", params
            )
        }

    @staticmethod
    def _conflict(
        verb: str, step: sqlite3.Row, table: str, other: str | None, other_label: str
    ) -> UndoConflict:
        whom = other or "someone else"
        return UndoConflict(
            f"cannot {verb} {step['label']!r}: {whom} changed {_ROW_WORDS.get(table, table)} it touched "
            f"afterwards ({other_label!r}). Undo that first, or change it back by hand."
        )

    @contextlib.contextmanager
    def undo_triggers_paused(self) -> Iterator[None]:
        """Inside a transaction: write without the undo triggers (they come back before it commits).

        For bulk writes that record their own compact inverse with :meth:`log_undo`. Other
        connections never see the triggers missing: the change is part of this transaction.
        """
        if self._depth == 0:
            raise StoryError("internal: undo triggers can only be paused inside a transaction")
        schema.drop_undo_triggers(self.conn)
        try:
            yield
        finally:
            schema.create_undo_triggers(self.conn)

    def log_undo(self, sql: str) -> None:
        """Record ``sql`` as part of the inverse of the current transaction's undo step."""
        self.execute("INSERT INTO undolog(sql) VALUES(?)", (sql,))

    def max_rowid(self, table: str) -> int:
        """The highest rowid of ``table`` (0 when empty): rows inserted later all have larger ones."""
        return int(self.conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}").fetchone()[0])

    @property
    def undo_label(self) -> str | None:
        """What :meth:`undo` would undo for the writer acting now (anyone's, when nobody is), or None."""
        return self.undo_label_for(current_author())

    def undo_label_for(self, author: str | None, surface: str | None = None) -> str | None:
        """The label of ``author``'s last step (anyone's when ``author`` is None) on ``surface``
        (any when None), or None."""
        with self.lock, self._busy():
            step = self._last_step(author, surface)
        return step["label"] if step else None

    def redo_label_for(self, author: str | None, surface: str | None = None) -> str | None:
        """The label of the step :meth:`redo` would redo for ``author`` on ``surface``, or None."""
        with self.lock, self._busy():
            step = self._last_step(author, surface, redo=True)
        return step["label"] if step else None

    def forget_undo(self) -> None:
        """Make the current state the starting point: no step is left to undo (inside a transaction)."""
        self.execute("DELETE FROM undo_steps")
        self.execute("DELETE FROM undolog")

    # ---- meta
    def get_meta(self, key: str, default: str = "") -> str:
        r = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return str(r["value"]) if r else default

    def set_meta(self, key: str, value: str) -> None:
        """Inside a transaction."""
        self.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    def all_meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.all("SELECT key, value FROM meta ORDER BY key")}

    def delete_meta(self, key: str) -> None:
        self.execute("DELETE FROM meta WHERE key=?", (key,))

    # ---- caches
    def cache_get(self, key: str) -> Any | None:
        r = self.one("SELECT value FROM cache WHERE key=?", (key,))
        return loads(r["value"]) if r else None

    def cache_put(self, key: str, value: Any) -> None:
        with self.transaction("cache", undoable=False):
            self.execute(
                "INSERT INTO cache(key, value, created) VALUES(?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, dumps(value), now()),
            )

    # ---- lifetime
    def close(self) -> None:
        """Checkpoint the write-ahead log into the file and close it (the file is then complete on its own)."""
        with self.lock:
            if self._conn is None:
                return
            conn, self._conn = self._conn, None
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()

    def backup(self, out: str | os.PathLike[str]) -> Path:
        """A consistent copy through SQLite's backup API (safe while the project is in use)."""
        out = Path(out)
        if out.resolve() == self.file.resolve():
            raise InvalidInput("the backup must go to another file than the project itself")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            dest = sqlite3.connect(tmp)
            try:
                with self.lock:
                    self.conn.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
        return out


# --------------------------------------------------------------------------- opening files
def inspect_file(path: Path) -> None:
    """Check an existing file is an intact project of a schema we can read, writing nothing."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except IsADirectoryError:
        raise NotAProject(f"{path} is a folder, not a project file") from None
    if len(header) == 0:
        raise NotAProject(f"{path} is empty, not a Story Workbench project")
    if not header.startswith(SQLITE_HEADER):
        raise NotAProject(f"{path} is not a Story Workbench project (it is not even a database file)")
    if len(header) < 100:
        raise DamagedProject(f"{path} is truncated: the project file is damaged")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    n_pages = int.from_bytes(header[28:32], "big")
    size = path.stat().st_size
    wal = path.with_name(path.name + "-wal")
    if n_pages and size < n_pages * page_size and not (wal.exists() and wal.stat().st_size > 0):
        raise DamagedProject(
            f"{path} is damaged: it is shorter than its header says ({size:,} of {n_pages * page_size:,} bytes). "
            "Restore it from a backup (workbench backup)."
        )
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise DamagedProject(f"{path} cannot be opened: {exc}") from None
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id != schema.APPLICATION_ID:
            raise NotAProject(f"{path} is a database, but not a Story Workbench project")
        if version > schema.SCHEMA_VERSION:
            raise NewerSchema(
                f"{path} was saved by a newer Story Workbench (file format {version}, this version reads up to "
                f"{schema.SCHEMA_VERSION}); upgrade story-workbench to open it"
            )
        conn.execute("SELECT count(*) FROM meta").fetchone()
        conn.execute("SELECT count(*) FROM scenes").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DamagedProject(f"{path} is damaged ({exc}); restore it from a backup") from None
    finally:
        conn.close()


def _user_name() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return None


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the project's settings: WAL, foreign keys, the lock timeout
    (``WORKBENCH_LOCK_TIMEOUT``, 60 s), autocommit off."""
    timeout = config.lock_timeout()
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.OperationalError as exc:
        conn.close()
        _raise_busy(path, exc)
        raise
    return conn


def migrate_file(conn: sqlite3.Connection, path: Path | None = None) -> None:
    """Bring an older project file up to this version's schema (one transaction).

    Foreign keys are off while the migrations run, so a migration may rebuild a table that
    others refer to; they are checked before the upgrade commits.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= schema.SCHEMA_VERSION:
        return
    conn.execute("PRAGMA foreign_keys = OFF")  # has no effect inside a transaction: set it first
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if path is not None:
                _raise_busy(path, exc)
            raise
        try:
            schema.migrate(conn, version)
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise DamagedProject(
                    f"upgrading the project file would leave {len(broken)} broken reference(s) "
                    f"(first in table {broken[0][0]}); the file is left as it was"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def create_schema(conn: sqlite3.Connection, title: str) -> None:
    """Create an empty project in a new file (one transaction; nothing if the file already has tables)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        if (
            conn.execute("PRAGMA user_version").fetchone()[0] == 0
            and not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        ):
            schema.create(conn)
            conn.execute("INSERT INTO meta(key, value) VALUES('ifid', ?)", (str(uuid.uuid4()).upper(),))
            conn.execute("INSERT INTO meta(key, value) VALUES('title', ?)", (title,))
            conn.execute("INSERT INTO meta(key, value) VALUES('created', ?)", (now(),))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
