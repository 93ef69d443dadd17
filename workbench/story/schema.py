"""The project file's schema, its migrations, and the undo log triggers."""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x53574B42  # "SWKB": marks a file as a Story Workbench project
SCHEMA_VERSION = 1

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
    are built with ``quote()`` so every value round-trips exactly.
    """
    out = []
    for table in UNDOABLE:
        cols = _columns(conn, table)
        col_list = ", ".join(["rowid", *cols])
        old_vals = " || ',' || ".join(["old.rowid", *[f"quote(old.{c})" for c in cols]])
        sets = " || ',' || ".join([f"'{c}=' || quote(old.{c})" for c in cols])
        out.append(
            f"CREATE TRIGGER undo_{table}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO undolog(sql) VALUES('DELETE FROM {table} WHERE rowid=' || new.rowid); END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_update AFTER UPDATE ON {table} BEGIN "
            f"INSERT INTO undolog(sql) VALUES('UPDATE {table} SET ' || {sets} || ' WHERE rowid=' || old.rowid); END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_delete BEFORE DELETE ON {table} BEGIN "
            f"INSERT INTO undolog(sql) VALUES('INSERT INTO {table}({col_list}) VALUES(' || {old_vals} || ')'); END"
        )
    # feedback is append-only: the inverse of an event is a 'void' event that points at it
    out.append(
        "CREATE TRIGGER undo_events_insert AFTER INSERT ON events WHEN new.kind != 'void' BEGIN "
        "INSERT INTO undolog(sql) VALUES('INSERT INTO events(ts, rater, kind, ref) VALUES("
        "strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), ''undo'', ''void'', ' || new.seq || ')'); END"
    )
    return out


def _statements(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [st.strip() for st in "\n".join(lines).split(";") if st.strip()]


def create(conn: sqlite3.Connection) -> None:
    """Create the schema inside the caller's open transaction (``executescript`` would commit)."""
    for stmt in _statements(SCHEMA_V1):
        conn.execute(stmt)
    for trig in undo_triggers(conn):
        conn.execute(trig)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


# Migrations: MIGRATIONS[v] upgrades a file at version v to v + 1, inside the open transaction.
MIGRATIONS: dict[int, str] = {}


def migrate(conn: sqlite3.Connection, version: int) -> None:
    while version < SCHEMA_VERSION:
        for stmt in _statements(MIGRATIONS[version]):
            conn.execute(stmt)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
