"""The how-to guides' code runs: each guide includes its code from ``docs/howto/examples/``, and these
tests run those files (Python, shell and configuration) the way the guides tell a reader to."""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import FormatError, ModelUnavailable
from workbench.generate import parse_spec, unregister_backend

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
EXAMPLES = DOCS / "howto" / "examples"


def example(name: str) -> dict[str, Any]:
    """The example module's namespace (run as a module, not as a script)."""
    return runpy.run_path(str(EXAMPLES / name), run_name=f"howto_{Path(name).stem}")


def section(path: Path, name: str) -> str:
    """The text between ``--8<-- [start:NAME]`` and ``--8<-- [end:NAME]`` (what the guide shows)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"--8<-- \[start:{name}\]\n(.*?)\n[^\n]*--8<-- \[end:{name}\]", text, re.S)
    assert m, f"{path.name} has no section {name!r}"
    return m.group(1)


def test_every_example_is_shown_in_a_guide() -> None:
    """An example file nobody includes would be tested but never read; every section is included."""
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "howto").glob("*.md"))
    pages += (DOCS / "servers.md").read_text(encoding="utf-8")
    for path in sorted(EXAMPLES.iterdir()):
        if path.name.startswith(("_", ".")) or path.is_dir():
            continue
        names = re.findall(r"--8<-- \[start:([\w-]+)\]", path.read_text(encoding="utf-8"))
        rel = f"howto/examples/{path.name}"
        if names:
            for name in names:
                assert f'"{rel}:{name}"' in pages, f"no guide includes {rel}:{name}"
        else:
            assert f'"{rel}"' in pages, f"no guide includes {rel}"


# --- a text backend ------------------------------------------------------------------------


def test_text_backend_writes_takes_with_its_provenance(tmp_path: Path, capsys) -> None:
    ns = example("text_backend.py")
    (tmp_path / "again").mkdir()
    try:
        takes = ns["main"](tmp_path)
        again = ns["main"](tmp_path / "again")
    finally:
        unregister_backend("text", "phrasebook")
    assert len(takes) == 2 and all(t.source == "model" for t in takes)
    assert {t.provenance["backend"] for t in takes} == {"phrasebook"}
    assert all(t.text and set(t.text.split()) <= set(" ".join(ns["PHRASES"]["storm"]).split()) for t in takes)
    # the seed rule the guide states: same request, same takes; the two takes differ in seed
    assert [t.text for t in again] == [t.text for t in takes]
    assert takes[0].provenance["take_seed"] != takes[1].provenance["take_seed"]
    assert "phrasebook" in capsys.readouterr().out


def test_text_backend_reports_an_unknown_model_clearly() -> None:
    ns = example("text_backend.py")
    with pytest.raises(ModelUnavailable, match="no phrase book called 'sunshine'"):
        ns["factory"](parse_spec("phrasebook:sunshine"))


# --- an export format ----------------------------------------------------------------------


def test_export_format_round_trips_the_sample(tmp_path: Path) -> None:
    ns = example("export_format.py")
    copy, written = ns["main"](tmp_path)
    import workbench

    sample = workbench.open_project(tmp_path / "sample.story")
    assert written.name == "skerry.scenes.csv"
    assert sorted(s.title for s in copy.scenes) == sorted(s.title for s in sample.scenes)
    for scene in sample.scenes:
        other = copy.scene(scene.title)
        assert other.text == scene.text
        assert sorted((c.label, t.title) for c, t in other.children) == sorted(
            (c.label, t.title) for c, t in scene.children
        )


def test_export_format_rejects_a_bad_file_and_changes_nothing(tmp_path: Path) -> None:
    ns = example("export_format.py")
    import workbench
    from workbench.interop.registry import import_file

    ns["register_format"](ns["FORMAT"], replace=True)
    bad = tmp_path / "bad.scenes.csv"
    bad.write_text("title,text,choices\nStart,Once,go -> Nowhere\n", encoding="utf-8")
    project = workbench.open_project(tmp_path / "p.story")
    with pytest.raises(FormatError, match="'Start' leads to 'Nowhere'"):
        import_file(bad, project)
    assert project.scenes == []


# --- a view --------------------------------------------------------------------------------


def test_view_is_a_tab_and_follows_the_story(tmp_path: Path) -> None:
    pytest.importorskip("panel")
    from workbench.widgets.registry import unregister_view

    ns = example("view.py")
    try:
        app = ns["main"](tmp_path)
    finally:
        unregister_view("Takes")
    assert "Takes" in app.tab_names
    session = app.session
    pane = ns["takes_view"](session)
    assert "| The Lamp Goes Dark | 1 |" in pane.object
    session.project.scene("The Lamp Goes Dark").add_take("MARA\nStill dark.")
    assert "| The Lamp Goes Dark | 2 |" in pane.object  # re-rendered by on_change


# --- inference servers ---------------------------------------------------------------------


def test_every_server_spec_in_the_guide_parses_to_a_known_preset() -> None:
    from workbench.generate.openai_backend import PRESETS

    text = (DOCS / "servers.md").read_text(encoding="utf-8")
    specs = re.findall(r"openai:[^\s\"'`]+@https?://[^\s\"'`]+", text)
    assert len(specs) >= 7
    for raw in specs:
        spec = parse_spec(raw)
        assert spec.backend == "openai" and spec.model, raw
        assert spec.base_url and "/v1" in spec.base_url, raw
        server = re.search(r"[?&]server=([\w-]+)", raw)
        if server:
            assert server.group(1) in PRESETS or server.group(1) == "auto", raw


def test_the_python_in_the_server_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's Python blocks construct their generators without reaching a server."""
    monkeypatch.chdir(tmp_path)
    text = (DOCS / "servers.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, "servers.md", "exec"), {})  # noqa: S102 - the guide's own code
    assert (tmp_path / "heist.story").is_file()


# --- serving to a team ---------------------------------------------------------------------


def _commands(script: str) -> list[list[str]]:
    out = []
    for line in script.splitlines():
        line = line.strip()
        if line.startswith("workbench "):
            out.append(shlex.split(line.replace("$PANEL_COOKIE_SECRET", "secret"))[1:])
    return out


def test_serve_commands_in_the_guide_match_the_parser() -> None:
    from workbench.cli import build_parser

    parser = build_parser()
    script = EXAMPLES / "serve_team.sh"
    seen = 0
    for name in ("behind-proxy", "basic-auth", "oauth", "refused"):
        for argv in _commands(section(script, name)):
            args = parser.parse_args(argv)  # SystemExit on a flag the program does not have
            assert args.command == "serve"
            seen += 1
    assert seen == 5


def test_proxy_config_points_at_the_served_port_and_passes_websockets() -> None:
    conf = (EXAMPLES / "nginx.conf").read_text(encoding="utf-8")
    (argv,) = _commands(section(EXAMPLES / "serve_team.sh", "behind-proxy"))
    from workbench.cli import build_parser

    args = build_parser().parse_args(argv)
    assert f"proxy_pass http://{args.address}:{args.port};" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and 'Connection "upgrade"' in conf
    server_name = re.search(r"server_name ([^;]+);", conf).group(1)
    assert f"BOKEH_ALLOW_WS_ORIGIN={server_name}" in section(EXAMPLES / "serve_team.sh", "behind-proxy")


def test_serving_on_a_public_address_without_auth_is_refused(tmp_path: Path, capsys) -> None:
    import workbench
    from workbench.cli import main

    workbench.build_sample(tmp_path / "team.story").close()
    before = (tmp_path / "team.story").read_bytes()
    (argv,) = _commands(section(EXAMPLES / "serve_team.sh", "refused"))
    argv[1] = str(tmp_path / "team.story")
    with pytest.MonkeyPatch.context() as mp:
        for key in ("WORKBENCH_BASIC_AUTH", "PANEL_OAUTH_PROVIDER"):
            mp.delenv(key, raising=False)
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0" in err and "--basic-auth" in err
    assert (tmp_path / "team.story").read_bytes() == before


# --- a cast library in git -----------------------------------------------------------------


def _bash(script: str, home: Path, remote: Path) -> None:
    env = {
        **os.environ,
        "WORKBENCH_HOME": str(home),
        "TEAM_REMOTE": str(remote),
        "GIT_AUTHOR_NAME": "Mara",
        "GIT_AUTHOR_EMAIL": "mara@example.org",
        "GIT_COMMITTER_NAME": "Mara",
        "GIT_COMMITTER_EMAIL": "mara@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_cast_library_shared_through_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = example("cast_library.py")
    script = EXAMPLES / "cast_library.sh"
    remote, author, teammate = tmp_path / "team-cast.git", tmp_path / "author", tmp_path / "teammate"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)

    monkeypatch.setenv("WORKBENCH_HOME", str(author))
    cast = ns["author_creates"]()
    assert len(list(cast.path.glob("*.json"))) == 2
    _bash(section(script, "share"), author, remote)

    monkeypatch.setenv("WORKBENCH_HOME", str(teammate))
    _bash(section(script, "join"), teammate, remote)
    project = ns["teammate_uses"](tmp_path / "heist.story")
    assert project.cast["Mara Quell"].library_version == 1

    monkeypatch.setenv("WORKBENCH_HOME", str(author))
    ns["author_updates"]()
    _bash(section(script, "publish"), author, remote)

    monkeypatch.setenv("WORKBENCH_HOME", str(teammate))
    assert project.cast.outdated() == []  # not pulled from git yet
    _bash(section(script, "pull"), teammate, remote)
    assert ns["teammate_refreshes"](project) == [("Mara Quell", 2)]
    mara = project.cast["Mara Quell"]
    assert mara.library_version == 2 and "keeper" in mara.data["speech_style"]
    # the card in git is a plain Character Card V3 with the workbench's fields in its extension
    card = json.loads(next((teammate / "cast").glob("mara*.json")).read_text(encoding="utf-8"))
    assert card["spec"] == "chara_card_v3"
    assert card["data"]["extensions"]["story_workbench"]["version"] == 1


# --- feedback and fine-tuning --------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("trl")
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def test_feedback_export_and_fine_tune(tmp_path: Path, tiny_model: Path) -> None:
    ns = example("feedback_finetune.py")
    written, spec = ns["main"](tmp_path, model=str(tiny_model), steps=1)
    assert [p.name for p in written] == ["trl-sft.jsonl", "trl-dpo.jsonl", "ratings.jsonl"]
    pairs = [json.loads(line) for line in (tmp_path / "trl-dpo.jsonl").read_text().splitlines()]
    # the chosen take over each sibling: the other new take and the sample's own take
    assert len(pairs) == 2 and len({p["chosen"] for p in pairs}) == 1
    assert all(p["chosen"] != p["rejected"] for p in pairs)
    assert spec == f"{tiny_model}+{tmp_path / 'adapter'}"
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()


# --- reproducing a pitch report ------------------------------------------------------------


@pytest.mark.slow
def test_reproduce_a_report_from_its_provenance(tmp_path: Path, capsys) -> None:
    import workbench
    from workbench.report import run_report

    story = tmp_path / "skerry.story"
    project = workbench.build_sample(story)
    project.branches["pitch"] = project.start  # a branch whose last scene has no take: the report writes one
    project.add_scene("Night Watch", after=project.start, choice="Mara keeps watch", branch="pitch")
    project.close()
    pitch = run_report(
        story, tmp_path / "pitch.html", branch="pitch", seed=5, media=False, max_new_tokens=16, progress=False
    )
    ns = example("reproduce_report.py")
    assert ns["reproduce"](story, pitch, tmp_path / "again.html") is True
    out = capsys.readouterr().out
    assert "takes generated: 0, model loaded: False" in out and "same report" in out

    # a story edited after the report is caught before anything runs
    with workbench.open_project(story) as project:
        project.logline = "A different story now."
    assert ns["reproduce"](story, pitch, tmp_path / "third.html") is False
    assert not (tmp_path / "third.html").exists()


def test_writers_room_undo_redo_keys_and_files(tmp_path: Path) -> None:
    pytest.importorskip("panel")
    out = example("writers_room.py")["main"](tmp_path)
    assert out["undone"] == "rename scene The Sister's Ledger"
    assert out["history"] == [("rename scene The Sister's Ledger", True)]
    assert out["redone"] == "rename scene The Sister's Ledger"
    assert {"ctrl+enter", "ctrl+z", "alt+arrowleft"} <= set(out["shortcuts"])
    assert "The Sister's Ledger" in out["after_key"] and "Mara swims out" in out["after_key"]
    name, data = out["export"]
    assert name.endswith(".fountain") and b"INT." in data


def test_writers_room_grid(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_llama

    tiny = build_tiny_llama(tmp_path / "tiny", seed=3)
    out = example("writers_room.py")["grid"](tmp_path, text=str(tiny))
    assert out["cells"] == 4 and [t for _, t in out["rows"]] == [0.6, 1.0]
    assert out["chosen"] and out["rating"] == 5
    assert out["again"] == out["ids"]


def test_fast_engine(tmp_path: Path) -> None:
    from tests.conftest import skip_or_fail
    from workbench.generate import llamacpp

    if not llamacpp.available():
        skip_or_fail(f"the llama.cpp engine is not installed: {llamacpp.how_to_install()}")
    out = example("fast_engine.py")["main"](tmp_path)
    assert out["backend"] == "llamacpp" and out["structure"] == ["screenplay"] * 4
    assert out["evaluated_first"] > 100 and out["evaluated_again"] == 0
    assert all(t.strip() for t in out["texts"])
