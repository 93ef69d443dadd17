"""The project file underneath the story model: SQLite, transactions, undo, opening and checking files.

:class:`Database` wraps one connection. Every write runs inside :meth:`Database.transaction`
(``BEGIN IMMEDIATE``; nested calls join the outer one), and one outer transaction is one
undo step: the undo triggers of :mod:`.schema` write the inverse SQL of each change into
``undolog``, and :meth:`Database.undo` replays one step backwards inside a write transaction.
Bulk writes (an import of thousands of scenes) pause the triggers with
:meth:`Database.undo_triggers_paused` and record a few compact inverse statements instead
(:meth:`Database.log_undo`), so the undo log stays small and the import is still one undo step.

Only the story layer talks SQL; everything above it uses :class:`~workbench.story.project.Project`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import (
    DamagedProject,
    InvalidInput,
    NewerSchema,
    NotAProject,
    NothingToUndo,
    ProjectClosed,
    StoryError,
)
from ..files import atomic_path
from . import schema

__all__ = [
    "SQLITE_HEADER",
    "Database",
    "connect",
    "create_schema",
    "dumps",
    "inspect_file",
    "loads",
    "migrate_file",
    "new_id",
    "now",
]

SQLITE_HEADER = b"SQLite format 3\x00"


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
        self._labels: list[str] = []
        self._undoable = True
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
        with self.lock:
            row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
            return row

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.lock:
            return self.conn.execute(sql, params).fetchone()[0]

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
    @contextlib.contextmanager
    def transaction(self, label: str = "change", undoable: bool = True) -> Iterator[Database]:
        """Group writes into one atomic transaction and one undo step. Nested calls join the outer one."""
        with self.lock:
            outer = self._depth == 0
            start = 0
            if outer:
                self.conn.execute("BEGIN IMMEDIATE")
                self._labels = []
                self._undoable = undoable
                start = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
            self._labels.append(label)
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outer:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if not outer:
                return
            try:
                end = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM undolog").fetchone()["n"]
                if end > start:
                    if self._undoable:
                        self.conn.execute(
                            "INSERT INTO undo_steps(label, first_seq, last_seq, ts) VALUES(?,?,?,?)",
                            (self._labels[0], start + 1, end, now()),
                        )
                    else:
                        self.conn.execute("DELETE FROM undolog WHERE seq > ?", (start,))
                self.conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
        self.notify()

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

    # ---- undo
    def undo(self) -> str:
        """Undo the last undo step (of any kind, by anyone). Returns its label."""
        with self.lock:
            step = self.one("SELECT * FROM undo_steps ORDER BY step DESC LIMIT 1")
            if step is None:
                raise NothingToUndo("there is nothing to undo")
            with self.transaction("undo", undoable=False):
                self.conn.execute("PRAGMA defer_foreign_keys=ON")
                rows = self.conn.execute(
                    "SELECT sql FROM undolog WHERE seq BETWEEN ? AND ? ORDER BY seq DESC",
                    (step["first_seq"], step["last_seq"]),
                ).fetchall()
                # an undo is never itself undone: its own changes need no inverse rows
                with self.undo_triggers_paused():
                    for r in rows:
                        self.conn.execute(r["sql"])
                self.conn.execute("DELETE FROM undolog WHERE seq >= ?", (step["first_seq"],))
                self.conn.execute("DELETE FROM undo_steps WHERE step=?", (step["step"],))
            return str(step["label"])

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
        step = self.one("SELECT label FROM undo_steps ORDER BY step DESC LIMIT 1")
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


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the project's settings: WAL, foreign keys, a 60 s busy timeout, autocommit off."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def migrate_file(conn: sqlite3.Connection) -> None:
    """Bring an older project file up to this version's schema (one transaction)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= schema.SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        schema.migrate(conn, version)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


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
