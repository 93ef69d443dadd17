"""Faults: killed writers, concurrent writers, and files that are not (intact) projects."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench import open_project
from workbench.errors import DamagedProject, NewerSchema, NotAProject

WRITER = textwrap.dedent("""
    import sys
    from workbench import open_project
    path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = open_project(path)
    start = p.start
    for i in range(count):
        with p.transaction("write"):
            s = p.add_scene(f"{tag}-{i}", f"text {tag} {i}", after=start, choice=f"{tag} {i}")
            s.add_take(f"second take {i}", source="model", provenance={"seed": i})
        print(i, flush=True)
    p.close()
""")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_writer(path: Path, tag: str, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_sigkill_mid_write_loses_no_committed_work(tmp_path):
    path = tmp_path / "k.story"
    p = open_project(path)
    p.add_scene("Start", "begin")
    p.close()
    committed_total = 0
    for round_ in range(8):
        proc = run_writer(path, f"r{round_}", 10_000)
        # wait for some commits, then kill it at an arbitrary moment
        last = -1
        deadline = time.time() + 20
        while time.time() < deadline:
            line = proc.stdout.readline()
            if line.strip():
                last = int(line.split()[0])
            if last >= 3 + round_ * 2:
                break
        time.sleep(0.003 * round_)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # every commit the writer reported is there, with both of its takes
        q = open_project(path)
        assert q.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for i in range(last + 1):
            s = q.scene(f"r{round_}-{i}")
            assert [t.text for t in s.takes] == [f"text r{round_} {i}", f"second take {i}"]
        # and no half transaction: each scene has both takes or does not exist
        for s in q.scenes[1:]:
            assert len(s.takes) == 2
        committed_total += last + 1
        q.close()
    assert committed_total >= 8 * 4


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "c.story"
    p = open_project(path)
    p.add_scene("Start", "begin")
    p.close()
    procs = [run_writer(path, tag, 60) for tag in ("a", "b")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err  # no "database is locked" reaches the caller
    q = open_project(path)
    titles = {s.title for s in q.scenes}
    assert {f"a-{i}" for i in range(60)} <= titles and {f"b-{i}" for i in range(60)} <= titles
    assert len(q.start.children) == 120
    q.close()


def test_non_project_files_are_refused_and_untouched(tmp_path):
    cases = {}
    text = tmp_path / "notes.story"
    text.write_text("just some notes\n")
    cases[text] = NotAProject
    empty = tmp_path / "empty.story"
    empty.write_bytes(b"")
    cases[empty] = NotAProject
    other_db = tmp_path / "other.db"
    c = sqlite3.connect(other_db)
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    cases[other_db] = NotAProject
    folder = tmp_path / "folder.story"
    folder.mkdir()
    cases[folder] = NotAProject
    for path, err in cases.items():
        before = sha(path) if path.is_file() else None
        with pytest.raises(err) as info:
            open_project(path)
        assert str(path.name) in str(info.value)
        if before:
            assert sha(path) == before


def test_truncated_project_is_reported_damaged_and_untouched(tmp_path, sample):
    for _ in range(20):
        sample.add_scene(f"Filler {_}", "x" * 5000, after=sample.start, choice=f"filler {_}")
    path = sample.file
    sample.close()
    data = path.read_bytes()
    broken = tmp_path / "broken.story"
    broken.write_bytes(data[: len(data) // 2])
    before = sha(broken)
    with pytest.raises(DamagedProject):
        open_project(broken)
    assert sha(broken) == before
    garbage = tmp_path / "garbage.story"
    garbage.write_bytes(data[:100] + os.urandom(len(data) - 100))
    before = sha(garbage)
    with pytest.raises((DamagedProject, NotAProject)):
        open_project(garbage)
    assert sha(garbage) == before


def test_newer_schema_is_refused_and_untouched(tmp_path, sample):
    path = sample.file
    sample.close()
    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 99")
    c.commit()
    c.close()
    before = sha(path)
    with pytest.raises(NewerSchema) as info:
        open_project(path)
    assert "newer" in str(info.value)
    assert sha(path) == before
