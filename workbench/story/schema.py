"""The project file's schema, its migrations, and the undo log triggers."""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x53574B42  # "SWKB": marks a file as a Story Workbench project
SCHEMA_VERSION = 2

# Tables whose changes can be undone. Assets (content-addressed, immutable) and the
# generation cache are not: undoing a change never needs to forget a picture.
UNDOABLE = ("meta", "characters", "lore", "scenes", "choices", "branches", "takes", "specials")

# Triggers made by :func:`undo_triggers` all start with this; :func:`drop_undo_triggers` finds them by it.
UNDO_TRIGGER_PREFIX = "undo_"

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


# Version 2: the story graph is a directed graph that may loop, and nothing an imported file holds
# is dropped. A choice may have no target yet (an open choice, naming the scene it wants), may lead
# to the same scene as another choice under another label, and has a kind: "choice" (the reader
# picks it), "goto" (the story moves on by itself) or "include" (the scene shows another one's
# text). Scenes keep what their source format said that the workbench does not model (``extra``);
# ``specials`` keeps a story format's non-scene passages (scripts, stylesheets, StoryInit...) verbatim.
MIGRATION_V2 = """
CREATE TABLE choices_v2 (
    id     TEXT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES scenes(id) ON DELETE CASCADE,
    target TEXT REFERENCES scenes(id) ON DELETE CASCADE,
    wanted TEXT,
    label  TEXT NOT NULL,
    kind   TEXT NOT NULL DEFAULT 'choice',
    seq    INTEGER NOT NULL
);
INSERT INTO choices_v2(rowid, id, source, target, wanted, label, kind, seq)
    SELECT rowid, id, source, target, NULL, label, 'choice', seq FROM choices;
DROP TABLE choices;
ALTER TABLE choices_v2 RENAME TO choices;
CREATE INDEX choices_source ON choices(source, seq);
CREATE INDEX choices_target ON choices(target);
CREATE INDEX choices_seq ON choices(seq);
ALTER TABLE scenes ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
CREATE INDEX scenes_seq ON scenes(seq);
CREATE INDEX takes_seq ON takes(seq);
CREATE INDEX events_ref ON events(ref);
CREATE TABLE specials (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    tags   TEXT NOT NULL DEFAULT '[]',
    text   TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT '',
    extra  TEXT NOT NULL DEFAULT '{}',
    seq    INTEGER NOT NULL
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
        if not cols:  # a table a later migration adds
            continue
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


def drop_undo_triggers(conn: sqlite3.Connection) -> None:
    """Drop every undo trigger (inside the caller's transaction); :func:`create_undo_triggers` brings them back."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type='trigger' AND substr(name, 1, ?) = ?",
        (len(UNDO_TRIGGER_PREFIX), UNDO_TRIGGER_PREFIX),
    ).fetchall()
    for (name,) in rows:
        conn.execute(f'DROP TRIGGER "{name}"')


def create_undo_triggers(conn: sqlite3.Connection) -> None:
    """(Re)create the undo triggers for the tables as they are now."""
    drop_undo_triggers(conn)
    for trig in undo_triggers(conn):
        conn.execute(trig)


def _statements(script: str) -> list[str]:
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [st.strip() for st in "\n".join(lines).split(";") if st.strip()]


def create(conn: sqlite3.Connection) -> None:
    """Create the schema inside the caller's open transaction (``executescript`` would commit).

    A new file is built as version 1 and then migrated, so new and upgraded files have the same schema.
    """
    for stmt in _statements(SCHEMA_V1):
        conn.execute(stmt)
    create_undo_triggers(conn)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    migrate(conn, 1)


# Migrations: MIGRATIONS[v] upgrades a file at version v to v + 1, inside the open transaction.
# Every migration ends by dropping and recreating the undo triggers (the runner does it), so undo
# keeps covering the tables as they now are.
MIGRATIONS: dict[int, str] = {1: MIGRATION_V2}


def migrate(conn: sqlite3.Connection, version: int) -> None:
    while version < SCHEMA_VERSION:
        drop_undo_triggers(conn)
        for stmt in _statements(MIGRATIONS[version]):
            conn.execute(stmt)
        create_undo_triggers(conn)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
