"""workbench.files: write-then-rename with fsync, the user's file mode, links replaced, nothing half-written."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench import files
from workbench.files import atomic_dir, atomic_path, atomic_write_bytes, atomic_write_text


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or p.name.endswith(".old"))


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_new_file_gets_the_users_mode(tmp_path: Path, umask_022: None) -> None:
    out = atomic_write_text(tmp_path / "pitch.html", "<p>hi</p>")
    assert out.read_text() == "<p>hi</p>" and mode(out) == 0o644
    os.umask(0o077)
    assert mode(atomic_write_bytes(tmp_path / "private.bin", b"x")) == 0o600
    assert leftovers(tmp_path) == []


def test_replaced_file_keeps_its_mode_and_mode_can_be_set(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "cards.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o640
    atomic_write_bytes(target, b"secret", mode=0o600)
    assert target.read_bytes() == b"secret" and mode(target) == 0o600


def test_text_is_written_as_given(tmp_path: Path) -> None:
    out = atomic_write_text(tmp_path / "a.twee", "é\nline\r\n", encoding="utf-8")
    assert out.read_bytes() == "é\nline\r\n".encode()


def test_file_and_folder_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    atomic_write_text(tmp_path / "a.txt", "a")
    assert len(calls) == 2  # the file, then the folder holding the new name
    calls.clear()
    with atomic_path(tmp_path / "b.png") as tmp:
        tmp.write_bytes(b"png")
    assert len(calls) == 2


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_failure_mid_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "story.twee"
    target.write_text("the old story")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if failing == "write":  # the disk fills up half-way through
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fh: object) -> None:
                self.fh = fh

            def __enter__(self) -> HalfWriter:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()  # type: ignore[attr-defined]

            def write(self, data: bytes) -> None:
                self.fh.write(data[: len(data) // 2])  # type: ignore[attr-defined]
                self.fh.flush()  # type: ignore[attr-defined]
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, "the new story")
    monkeypatch.undo()
    assert target.read_text() == "the old story"
    assert leftovers(tmp_path) == []


def test_failing_writer_in_atomic_path_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "pitch.ipynb"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("kernel died")
    assert target.read_text() == "old" and leftovers(tmp_path) == []
    with pytest.raises(FileNotFoundError), atomic_path(target) as tmp:
        tmp.unlink()  # a writer that produced nothing
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_atomic_path_names_and_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "frame.png"
    with atomic_path(target, keep_suffix=True) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".frame.png.") and tmp.suffix == ".png"
        assert tmp.exists() and mode(tmp) == 0o644
        tmp.write_bytes(b"\x89PNG")
    with atomic_path(tmp_path / "card.json") as tmp:
        assert tmp.name.endswith(".tmp")  # never picked up by a reader globbing *.json
        tmp.write_text("{}")
    assert target.read_bytes() == b"\x89PNG" and (tmp_path / "card.json").read_text() == "{}"
    assert mode(target) == 0o644 and leftovers(tmp_path) == []


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path: Path, umask_022: None) -> None:
    victim = tmp_path / "elsewhere" / "important.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    victim.chmod(0o600)
    out = tmp_path / "out"
    out.mkdir()
    for i, write in enumerate(
        [
            lambda p: atomic_write_text(p, "export"),
            lambda p: atomic_write_bytes(p, b"export"),
            lambda p: _via_path(p, b"export"),
        ]
    ):
        link = out / f"story{i}.twee"
        link.symlink_to(victim)
        write(link)
        assert not link.is_symlink() and link.read_text() == "export"
        assert mode(link) == 0o644  # a new file's mode, not the link target's
        assert victim.read_text() == "keep me"
    dangling = out / "dangling.ink"
    dangling.symlink_to(tmp_path / "nowhere" / "x.ink")
    atomic_write_text(dangling, "ink")
    assert not dangling.is_symlink() and not (tmp_path / "nowhere").exists()


def _via_path(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def test_missing_folder_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write_text(tmp_path / "no" / "such.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_mode_replace_and_failure(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "adapter"
    with atomic_dir(target) as tmp:
        (tmp / "a.json").write_text("1")
    assert mode(target) == 0o755 and (target / "a.json").read_text() == "1"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.json").write_text("2")
        raise RuntimeError("training failed")
    assert (target / "a.json").read_text() == "1" and leftovers(tmp_path) == []
    target.chmod(0o750)
    with atomic_dir(target) as tmp:
        (tmp / "b.json").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b.json"] and mode(target) == 0o750
    assert leftovers(tmp_path) == []


def test_atomic_dir_replaces_a_link_and_refuses_a_file(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("keep")
    link = tmp_path / "split"
    link.symlink_to(real, target_is_directory=True)
    with atomic_dir(link) as tmp:
        (tmp / "train.jsonl").write_text("{}\n")
    assert not link.is_symlink() and (link / "train.jsonl").exists()
    assert (real / "keep.txt").read_text() == "keep" and not (real / "train.jsonl").exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(FileExistsError), atomic_dir(a_file):
        pass
    assert a_file.read_text() == "x" and leftovers(tmp_path) == []


def test_module_imports_only_the_standard_library() -> None:
    import ast
    import sys

    tree = ast.parse(Path(files.__file__).read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= set(sys.stdlib_module_names) | {"__future__"}
