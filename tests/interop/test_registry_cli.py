"""The format registry and the export/import commands."""

from __future__ import annotations

import os
import stat

import pytest

from workbench.cli import main
from workbench.errors import TooLarge, UnknownFormat
from workbench.interop import cards, fountain, ink, twee, twine_html, yarn
from workbench.interop.registry import (
    Format,
    ImportResult,
    available_formats,
    export_project,
    get_format,
    import_file,
    register_format,
)
from workbench.story import open_project

from .conftest import build_story, content_digest, graph


def test_entry_points_give_the_built_in_format_objects():
    formats = available_formats()
    assert formats["twee"] is twee.FORMAT and formats["twine-html"] is twine_html.FORMAT
    assert formats["ink"] is ink.FORMAT and formats["yarn"] is yarn.FORMAT
    assert formats["fountain"] is fountain.FORMAT
    assert formats["card-v2"] is cards.CARD_V2 and formats["card-v3"] is cards.CARD_V3


def test_lookup_by_name_suffix_or_file_name():
    assert get_format("TWEE") is twee.FORMAT
    assert get_format(".tw") is twee.FORMAT and get_format("story.twee") is twee.FORMAT
    assert get_format("x.ink") is ink.FORMAT and get_format("script.fountain") is fountain.FORMAT
    assert get_format("nell.png", need="import") is cards.CARD_V3
    with pytest.raises(UnknownFormat, match="known formats"):
        get_format("story.docx")
    with pytest.raises(UnknownFormat, match="cannot import"):
        get_format("trl-sft", need="import")


def test_register_a_format_at_run_time(tmp_path):
    seen = []

    def importer(path, project, **options):
        seen.append(options)
        project.add_scene("From plug-in", path.read_text())
        return ImportResult(format="plain")

    fmt = register_format(Format("plain-test", (".plain",), import_=importer, description="test"))
    assert get_format("notes.plain") is fmt
    with pytest.raises(ValueError, match="already registered"):
        register_format(Format("plain-test", (".plain",)))
    src = tmp_path / "a.plain"
    src.write_text("Hello.")
    with open_project(tmp_path / "p.wbproj") as project:
        import_file(src, project, flavour="x")
        assert project.scene("From plug-in").text == "Hello."
        assert seen == [{"flavour": "x", "max_bytes": fmt.max_bytes}]
        # too large: refused before the importer runs
        with pytest.raises(TooLarge):
            import_file(src, project, max_bytes=3)
        assert len(seen) == 1


def test_cli_export_and_import_round_trip(tmp_path, capsys):
    build_story(tmp_path / "keeper.wbproj").close()
    out = tmp_path / "keeper.twee"
    assert main(["export", str(tmp_path / "keeper.wbproj"), "--format", "twee", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["import", str(out), "--into", str(tmp_path / "copy.wbproj")]) == 0
    assert "imported 5 scenes" in capsys.readouterr().out
    with open_project(tmp_path / "keeper.wbproj") as a, open_project(tmp_path / "copy.wbproj") as b:
        assert graph(a) == graph(b)
    assert (
        main(
            [
                "export",
                str(tmp_path / "keeper.wbproj"),
                "-f",
                "card-v3",
                "--png",
                "-o",
                str(tmp_path / "cast"),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.count("wrote ") == 3
    assert (
        main(
            [
                "export",
                str(tmp_path / "keeper.wbproj"),
                "-f",
                "fountain",
                "--branch",
                "cellar",
                "-O",
                "author=A. Writer",
                "-o",
                str(tmp_path / "c.fountain"),
            ]
        )
        == 0
    )
    assert "Author: A. Writer" in (tmp_path / "c.fountain").read_text()


def test_cli_import_error_is_reported_and_changes_nothing(tmp_path, capsys):
    project = build_story(tmp_path / "keeper.wbproj")
    before = content_digest(project)
    project.close()
    bad = tmp_path / "bad.twee"
    bad.write_text(":: A [x\n")
    assert main(["import", str(bad), "--into", str(tmp_path / "keeper.wbproj")]) == 1
    assert "line 1: the tag list is not closed" in capsys.readouterr().err
    with open_project(tmp_path / "keeper.wbproj") as project:
        assert content_digest(project) == before
    assert main(["export", str(tmp_path / "keeper.wbproj"), "-f", "docx", "-o", str(tmp_path / "x")]) == 1
    assert "no format called" in capsys.readouterr().err


def test_missing_validators_skip_loudly_but_fail_under_ci(monkeypatch):
    from . import conftest

    monkeypatch.setattr(conftest, "node_available", lambda: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="SKIPPED LOUDLY.*npm ci"):
        conftest.require_node()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="npm ci"):
        conftest.require_node()


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("twee", "s.twee"),
        ("twine-html", "s.html"),
        ("ink", "s.ink"),
        ("yarn", "s.yarn"),
        ("fountain", "s.fountain"),
    ],
)
def test_exports_replace_a_link_and_get_the_users_mode(story, tmp_path, umask_022, fmt, name):
    """An export never writes through a link at the output path, and the file is 0o666 less the umask."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours")
    out = tmp_path / "out"
    out.mkdir()
    target = out / name
    target.symlink_to(victim)
    assert export_project(story, fmt, target) == [target]
    assert not target.is_symlink() and victim.read_text() == "not yours"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.stat().st_size > 0
    assert [p.name for p in out.iterdir()] == [name]  # no temporary file left


def test_card_export_replaces_links_and_gets_the_users_mode(story, tmp_path, umask_022):
    victim = tmp_path / "victim.json"
    victim.write_text("not yours")
    out = tmp_path / "cards"
    out.mkdir()
    written = export_project(story, "card-v3", out)
    first = written[0]
    first.unlink()
    first.symlink_to(victim)
    assert export_project(story, "card-v3", out) == written
    assert not first.is_symlink() and victim.read_text() == "not yours"
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o644}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
