"""The format registry and the export/import commands."""

from __future__ import annotations

import pytest

from workbench.cli import main
from workbench.errors import TooLarge, UnknownFormat
from workbench.interop import cards, fountain, ink, twee, twine_html, yarn
from workbench.interop.registry import (
    Format,
    ImportResult,
    available_formats,
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
        get_format("ink", need="import")


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
