"""The project file's schema, its migrations, and the undo log triggers.

A new file gets ``SCHEMA_V1`` and then every migration in order, so a new file and a migrated
old one have the same schema. Migrations run with the undo triggers dropped and end with the
triggers recreated from the tables as they are then (:func:`create_undo_triggers`): a migration
that adds a column or rebuilds a table keeps undo covering it without writing a trigger itself.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

APPLICATION_ID = 0x53574B42  # "SWKB": marks a file as a Story Workbench project
SCHEMA_VERSION = 4

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
    are built with ``quote()`` so every value round-trips exactly. Each ``undolog`` row also
    names the table and row it restores (``tbl``, ``row``), so undoing one writer's step can
    tell whether someone else changed the same row since.
    """
    located = "tbl" in _columns(conn, "undolog")  # files before version 3 have no tbl/row columns

    def log(sql: str, table: str, row: str) -> str:
        if located:
            return f"INSERT INTO undolog(sql, tbl, row) VALUES({sql}, '{table}', {row});"
        return f"INSERT INTO undolog(sql) VALUES({sql});"

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
            + log(f"'DELETE FROM {table} WHERE rowid=' || new.rowid", table, "new.rowid")
            + " END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_update AFTER UPDATE ON {table} BEGIN "
            + log(f"'UPDATE {table} SET ' || {sets} || ' WHERE rowid=' || old.rowid", table, "old.rowid")
            + " END"
        )
        out.append(
            f"CREATE TRIGGER undo_{table}_delete BEFORE DELETE ON {table} BEGIN "
            + log(f"'INSERT INTO {table}({col_list}) VALUES(' || {old_vals} || ')'", table, "old.rowid")
            + " END"
        )
    # feedback is append-only: the inverse of an event is a 'void' event that points at it
    void = (
        "'INSERT INTO events(ts, rater, kind, ref) VALUES("
        "strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''), ''undo'', ''void'', ' || new.seq || ')'"
    )
    out.append(
        "CREATE TRIGGER undo_events_insert AFTER INSERT ON events WHEN new.kind != 'void' BEGIN "
        + log(void, "events", "new.seq")
        + " END"
    )
    # and the inverse of a 'void' (an undone rating, pick or edit, redone) is the event again
    again = (
        "'INSERT INTO events(ts, rater, kind, scene_id, take_id, others, value, ref) SELECT ts, rater, "
        "kind, scene_id, take_id, others, value, ref FROM events WHERE seq=' || new.ref"
    )
    out.append(
        "CREATE TRIGGER undo_events_void AFTER INSERT ON events WHEN new.kind = 'void' BEGIN "
        + log(again, "events", "new.seq")
        + " END"
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


# --------------------------------------------------------------------------- migrations
_UNDO_SQL = (
    re.compile(r"DELETE FROM (\w+) WHERE rowid=(-?\d+)$"),
    re.compile(r"UPDATE (\w+) SET .* WHERE rowid=(-?\d+)$", re.DOTALL),
    re.compile(r"INSERT INTO (\w+)\(rowid, .*?\) VALUES\((-?\d+),", re.DOTALL),
)


def _v3_undo_authors(conn: sqlite3.Connection) -> None:
    """Version 3: undo steps name who made them; undo log rows name the table and row they restore."""
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


# Version 4: undo per surface, and redo. A step names the surface it was made on ("write": the
# writer's views, notebooks and the CLI; "play": a reader's moves), so the writer's Undo passes
# over a reader's play; undoing a step keeps the inverse of the undo as a redo step (``redo`` = 1)
# until its writer changes something else on that surface.
MIGRATION_V4 = """
ALTER TABLE undo_steps ADD COLUMN surface TEXT NOT NULL DEFAULT 'write';
ALTER TABLE undo_steps ADD COLUMN redo INTEGER NOT NULL DEFAULT 0;
"""


# MIGRATIONS[v] upgrades a file at version v to v + 1 inside the open transaction: SQL statements,
# or a function of the connection for what SQL alone cannot say. The runner drops the undo
# triggers before each migration and recreates them after it, so undo keeps covering the tables
# as they now are (a migration never writes a trigger itself).
Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: dict[int, Migration] = {1: MIGRATION_V2, 2: _v3_undo_authors, 3: MIGRATION_V4}


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
        create_undo_triggers(conn)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
