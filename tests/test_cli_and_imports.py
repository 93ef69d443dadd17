"""The CLI's foundation commands, and that ``import workbench`` stays light."""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

import workbench
from workbench.cli import build_parser, main


def test_import_workbench_loads_no_heavy_library():
    code = (
        "import sys, time; t=time.perf_counter(); import workbench; dt=time.perf_counter()-t; "
        "heavy=[m for m in ('torch','transformers','diffusers','panel','bokeh','numpy','PIL') if m in sys.modules]; "
        "print(heavy, dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]"
    assert float(seconds) < 1.0


def test_cli_and_its_parser_load_no_heavy_library():
    code = (
        "import sys, time; t=time.perf_counter(); import workbench.cli; workbench.cli.build_parser(); "
        "dt=time.perf_counter()-t; "
        "heavy=[m for m in ('torch','transformers','diffusers','panel','bokeh','papermill','workbench.session') "
        "if m in sys.modules]; print(heavy, dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]"
    assert float(seconds) < 1.0


def test_every_command_is_a_cmd_handler_in_the_cli_package():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    expected = "new info demo write outline report serve play media export import train backup".split()
    assert set(expected) <= set(sub.choices)
    for name, p in sub.choices.items():
        func = p.get_default("func")
        assert func.__name__ == f"cmd_{name}", name
        assert func.__module__.startswith("workbench.cli."), name


def test_only_the_cli_package_imports_the_cli():
    root = Path(workbench.__file__).parent
    assert not list(root.rglob("commands.py")), "sub-commands live in workbench/cli/"
    offenders = []
    for f in root.rglob("*.py"):
        rel = f.relative_to(root.parent).with_suffix("")
        if rel.parts[:2] == ("workbench", "cli"):
            continue
        package = list(rel.parts[:-1])  # the package a relative import starts from
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(n == "workbench.cli" or n.startswith("workbench.cli.") for n in names):
                offenders.append(str(rel))
    assert offenders == []


def test_new_info_backup(tmp_path, capsys):
    path = tmp_path / "s.story"
    assert main(["new", str(path), "--sample"]) == 0
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "The Last Light of Skerry Point" in out and "main (5 scenes)" in out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["scenes"] == 7 and info["branches"]["ines"] == 5
    assert main(["backup", str(path), str(tmp_path / "b.story")]) == 0
    assert (tmp_path / "b.story").exists()


def test_info_shows_loops_unreachable_scenes_open_choices_and_stuck_places(tmp_path, capsys):
    src = tmp_path / "square.twee"
    src.write_text(
        ":: Start\nHello.\n[[Square]]\n\n:: Square\nA square.\n[[Market]]\n[[Well]]\n[[Tower]]\n\n"
        ":: Market\nStalls.\n[[Back to the square->Square]]\n\n:: Well\nDark.\n\n:: Draft\nNotes.\n\n"
        ":: StoryInit\n<<set $x to 1>>\n"
    )
    path = tmp_path / "s.story"
    assert main(["import", str(src), "--into", str(path)]) == 0
    assert "'Square' links to 'Tower', which is not written yet" in capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Loops: 1 choice(s) lead back to an earlier scene" in out
    assert "Unreachable from the start: Draft" in out
    assert "Open choices (scene not written yet):\n  Square: [Tower] -> Tower" in out
    assert "Where a reader can get stuck: Well (no way out), Draft" not in out
    assert "Where a reader can get stuck: Well (no way out)" in out
    assert "Special passages kept as written: StoryInit" in out
    assert "[Tower] -> Tower (not written yet)" in out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["unreachable"] == ["Draft"] and info["stuck"] == ["Well"] and info["loops"] == 1
    assert info["open_choices"] == [{"scene": "Square", "choice": "Tower", "wants": "Tower"}]


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    junk = tmp_path / "junk.story"
    junk.write_text("hello")
    assert main(["info", str(junk)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("workbench info:") and "not a Story Workbench project" in err
    assert main(["info", str(tmp_path / "missing.story")]) == 1
    assert "no project" in capsys.readouterr().err
    path = tmp_path / "s.story"
    main(["new", str(path)])
    assert main(["new", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_demo_without_report_builds_the_sample(tmp_path, capsys):
    assert main(["demo", "--no-report", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "skerry_point.story").exists()
    assert "sample project:" in capsys.readouterr().out
