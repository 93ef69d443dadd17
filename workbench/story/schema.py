"""The project file's schema, its migrations, and the undo log triggers.

A new file gets ``SCHEMA_V1`` and then every migration in order, so a new file and a migrated
old one have the same schema. Migrations run with the undo triggers dropped and end with the
triggers rebuilt from the tables as they are then (:func:`rebuild_undo_triggers`): a migration
that adds a column or rebuilds a table keeps undo covering it without writing a trigger itself.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x53574B42  # "SWKB": marks a file as a Story Workbench project
SCHEMA_VERSION = 2

# Tables whose changes can be undone. Assets (content-addressed, immutable) and the
# generation cache are not: undoing a change never needs to forget a picture.
UNDOABLE = ("meta", "characters", "lore", "scenes", "choices", "branches", "takes")

SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE characters (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    data            TEXT NOT NULL DEFAULT '{}',
    version         INTEGER NOT NULL DEFAULT 1,
    library_id      TEXT,
    library_version INTEGER,
    seq             INTEGER NOT NULL
);
CREATE TABLE lore (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL DEFAULT '',
    keys     TEXT NOT NULL DEFAULT '[]',
    content  TEXT NOT NULL,
    always   INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    seq      INTEGER NOT NULL
);
CREATE TABLE scenes (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL UNIQUE,
    tags       TEXT NOT NULL DEFAULT '[]',
    characters TEXT NOT NULL DEFAULT '[]',
    x          REAL,
    y          REAL,
    summary    TEXT,
    seq        INTEGER NOT NULL
);
CREATE TABLE choices (
    id     TEXT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    target TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    label  TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    UNIQUE (source, target)
);
CREATE INDEX choices_target ON choices(target);
CREATE TABLE branches (
    name   TEXT PRIMARY KEY,
    scenes TEXT NOT NULL DEFAULT '[]',
    seq    INTEGER NOT NULL
);
CREATE TABLE takes (
    id          TEXT PRIMARY KEY,
    scene_id    TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    source      TEXT NOT NULL,
    parent_id   TEXT,
    provenance  TEXT NOT NULL DEFAULT '{}',
    created     TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX takes_scene ON takes(scene_id);
-- feedback: append-only. Undo appends a 'void' event rather than deleting one.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts       TEXT NOT NULL,
    rater    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    scene_id TEXT,
    take_id  TEXT,
    others   TEXT NOT NULL DEFAULT '[]',
    value    TEXT,
    ref      INTEGER
);
CREATE INDEX events_take ON events(take_id);
CREATE INDEX events_scene ON events(scene_id);
CREATE TABLE assets (
    sha256     TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    data       BLOB NOT NULL,
    provenance TEXT NOT NULL DEFAULT '{}',
    created    TEXT NOT NULL
);
CREATE TABLE cache (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE undolog (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sql TEXT NOT NULL
);
CREATE TABLE undo_steps (
    step      INTEGER PRIMARY KEY AUTOINCREMENT,
    label     TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    ts        TEXT NOT NULL
);
"""


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def undo_triggers(conn: sqlite3.Connection) -> list[str]:
    """Triggers that write the inverse of every change to an undoable table into ``undolog``.

    The technique is SQLite's own "automatic undo/redo using triggers"; inverse statements
    are built with ``quote()`` so every value round-trips exactly. Each ``undolog`` row also
    names the table and row it restores (``tbl``, ``row``), so undoing one writer's step can
    tell whether someone else changed the same row since.
    """
    out = []
    for table in UNDOABLE:
        cols = _columns(conn, table)
        col_list = ", ".join(["rowid", *cols])
        old_vals = " || ',' || ".join(["old.rowid", *[f"quote(old.{c})" for c in cols]])
        sets = " || ',' || ".join([f"'{c}=' || quote(old.{c})" for c in cols])
        out.append(
            f"CREATE TRIGGER undo_{table}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO undolog(sql, tbl, row) VALUES('DELETE FROM {table} WHERE rowid=' || new.rowid, "
            f"'{table}', new.rowid); END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_update AFTER UPDATE ON {table} BEGIN "
            f"INSERT INTO undolog(sql, tbl, row) VALUES('UPDATE {table} SET ' || {sets} || ' WHERE rowid=' "
            f"|| old.rowid, '{table}', old.rowid); END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_delete BEFORE DELETE ON {table} BEGIN "
            f"INSERT INTO undolog(sql, tbl, row) VALUES('INSERT INTO {table}({col_list}) VALUES(' || {old_vals} "
            f"|| ')', '{table}', old.rowid); END"
        )
    # feedback is append-only: the inverse of an event is a 'void' event that points at it
    out.append(
        "CREATE TRIGGER undo_events_insert AFTER INSERT ON events WHEN new.kind != 'void' BEGIN "
        "INSERT INTO undolog(sql, tbl, row) VALUES('INSERT INTO events(ts, rater, kind, ref) VALUES("
        "strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), ''undo'', ''void'', ' || new.seq || ')', 'events', new.seq); END"
    )
    return out


def drop_undo_triggers(conn: sqlite3.Connection) -> None:
    """Drop every undo trigger (before a migration changes the tables they read)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND name LIKE 'undo\\_%' ESCAPE '\\'"
        )
    ]
    for name in names:
        conn.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def rebuild_undo_triggers(conn: sqlite3.Connection) -> None:
    """Drop the undo triggers and create them again from the tables' current columns."""
    drop_undo_triggers(conn)
    for trig in undo_triggers(conn):
        conn.execute(trig)


def _statements(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [st.strip() for st in "\n".join(lines).split(";") if st.strip()]


def create(conn: sqlite3.Connection) -> None:
    """Create the schema inside the caller's open transaction (``executescript`` would commit)."""
    for stmt in _statements(SCHEMA_V1):
        conn.execute(stmt)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    migrate(conn, 1)


# --------------------------------------------------------------------------- migrations
_UNDO_SQL = (
    re.compile(r"DELETE FROM (\w+) WHERE rowid=(-?\d+)$"),
    re.compile(r"UPDATE (\w+) SET .* WHERE rowid=(-?\d+)$", re.DOTALL),
    re.compile(r"INSERT INTO (\w+)\(rowid, .*?\) VALUES\((-?\d+),", re.DOTALL),
)


def _v2_undo_authors(conn: sqlite3.Connection) -> None:
    """Version 2: undo steps name who made them; undo log rows name the table and row they restore."""
    conn.execute("ALTER TABLE undo_steps ADD COLUMN author TEXT")
    conn.execute("ALTER TABLE undolog ADD COLUMN tbl TEXT")
    conn.execute("ALTER TABLE undolog ADD COLUMN row INTEGER")
    for seq, sql in conn.execute("SELECT seq, sql FROM undolog").fetchall():
        if sql.startswith("INSERT INTO events("):
            conn.execute("UPDATE undolog SET tbl='events' WHERE seq=?", (seq,))
            continue
        for pattern in _UNDO_SQL:
            m = pattern.match(sql)
            if m:
                conn.execute(
                    "UPDATE undolog SET tbl=?, row=? WHERE seq=?", (m.group(1), int(m.group(2)), seq)
                )
                break


# MIGRATIONS[v] upgrades a file at version v to v + 1 inside the open transaction: SQL statements,
# or a function of the connection for what SQL alone cannot say. Foreign keys are off while they
# run (a table can be rebuilt) and checked before the upgrade commits. Never rebuild the undo
# triggers here: :func:`migrate` does that after every migration.
Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: dict[int, Migration] = {1: _v2_undo_authors}


def migrate(conn: sqlite3.Connection, version: int, target: int | None = None) -> None:
    """Upgrade from ``version`` to ``target`` (default: :data:`SCHEMA_VERSION`) in the open transaction."""
    target = SCHEMA_VERSION if target is None else target
    while version < target:
        step = MIGRATIONS[version]
        drop_undo_triggers(conn)  # a migration's own row changes are not undo steps
        if callable(step):
            step(conn)
        else:
            for stmt in _statements(step):
                conn.execute(stmt)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
    rebuild_undo_triggers(conn)
