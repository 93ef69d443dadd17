"""The pitch report: papermill run, offline HTML, auto choices, reproducibility, caches, bad input."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup

from tests.executed_notebooks import is_current, save_executed
from workbench.errors import ReportError
from workbench.report import read_record, report_content, run_report
from workbench.report.pipeline import check_parameters
from workbench.report.run import _strip_widgets
from workbench.report.sections import provenance_section
from workbench.story.project import AUTO_RATER, open_project
from workbench.story.sample import build_sample

BRANCH = "pitch"
NEW_SCENE = "Night Watch"
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)


def _sample_with_open_branch(path: Path) -> Path:
    """The sample story plus a branch from its first scene to a new scene with no takes."""
    project = build_sample(path)
    start = project.start
    project.branches[BRANCH] = start
    project.add_scene(
        NEW_SCENE, after=start, choice="Mara keeps watch alone", characters=["Mara Quell"], branch=BRANCH
    )
    project.close()
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two runs of the report on one project: the first writes a take, the second changes nothing."""
    root = tmp_path_factory.mktemp("report")
    story = _sample_with_open_branch(root / "sample.story")
    first = run_report(story, root / "first.html", branch=BRANCH, seed=3, progress=False)
    second = run_report(story, root / "second.html", branch=BRANCH, seed=3, progress=False)
    return {"story": story, "first": first, "second": second}


def frame_assets_of(project: Any, scene_id: str) -> list[Any]:
    return [a for a in project.assets if a.kind == "frame" and a.provenance.get("scene") == scene_id]


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.slow
def test_report_sections_from_the_dom(runs: dict[str, Any]) -> None:
    soup = _soup(runs["first"])
    names = [s["data-section"] for s in soup.select("section.report-section")]
    assert names == ["title", "cast", "branch-map", "screenplay", "storyboard", "provenance"]
    project = open_project(runs["story"], create=False)
    try:
        assert soup.select_one("h1.report-title").get_text(strip=True) == project.title
        assert soup.select_one("#title .logline").get_text(strip=True) == project.logline
        assert soup.select_one("#title .genre").get_text(strip=True) == project.genre
        # cast sheet: one card per character, with a portrait, the description and voice settings
        cards = soup.select("#cast article.cast-card")
        assert [c["data-character"] for c in cards] == [c.name for c in project.cast]
        mara = project.cast["Mara Quell"]
        card = cards[0]
        assert card.select_one("img.portrait")["src"].startswith("data:image/png;base64,")
        assert mara.description in card.select_one(".description").get_text()
        voice = {tr.th.get_text(): tr.td.get_text() for tr in card.select("table.voice tr")}
        assert voice["Speed"] == "1.08" and voice["Pitch (semitones)"] == "-1.5"
        # branch map: the render SVG with every scene, the pitched path highlighted
        svg = soup.select_one("#branch-map svg.wb-branch-map")
        assert {g["data-scene-id"] for g in svg.select("g.wb-scene")} == {s.id for s in project.scenes}
        # the screenplay follows the branch: its scenes, in order, formatted
        path = project.branches[BRANCH].scenes
        articles = soup.select("#screenplay article.scene")
        assert [a["data-scene-id"] for a in articles] == [s.id for s in path]
        assert articles[0].select_one(".wb-heading").get_text(strip=True).startswith("INT.")
        assert articles[0].select(".wb-cue") and articles[0].select(".wb-dialogue")
        assert articles[1].select_one(".choice").get_text() == "Choice: Mara keeps watch alone"
        new_text = path[-1].text
        assert new_text.strip(), "the open scene got a take"
        assert articles[1].select_one(".wb-screenplay").get_text(strip=True)
        # the scene the report wrote is a screenplay of the cast: a heading, cues of the cast, dialogue
        made = articles[-1]
        assert re.match(r"(INT|EXT)\.", made.select_one(".wb-heading").get_text(strip=True))
        cues = {c.get_text(strip=True) for c in made.select(".wb-cue")}
        assert cues and cues <= {c.name.upper() for c in project.cast}
        assert made.select(".wb-dialogue")
        # and its storyboard frames show its characters
        shown = [a.provenance["parameters"]["characters"] for a in frame_assets_of(project, path[-1].id)]
        assert any(shown) and all(set(who) <= {c.name for c in project.cast} for who in shown)
        # storyboard contact sheet: up to three inline frames per scene (fewer when a scene has fewer beats)
        boards = soup.select("#storyboard .board")
        assert [b["data-scene-id"] for b in boards] == [s.id for s in path]
        frame_assets = [a for a in project.assets if a.kind == "frame"]
        for board, scene in zip(boards, path, strict=True):
            frames = board.select("figure.frame img")
            assert 1 <= len(frames) <= 3
            assert len(frames) == len([a for a in frame_assets if a.provenance.get("scene") == scene.id])
            assert all(f["src"].startswith("data:image/png;base64,") for f in frames)
            assert board.select_one("figcaption").get_text(strip=True)
        # provenance: the model's file hash, the seed, and the content hash after the run
        prov = soup.select_one("#provenance").get_text(" ")
        record = read_record(runs["first"].with_suffix(".ipynb"))
        assert record["project"]["content_hash"] == project.content_hash()
        assert project.content_hash() in prov
        text_model = next(m for m in record["models"] if m["role"] == "text")
        assert text_model["spec"] == "default" and len(text_model["fingerprint"]["sha256"]) == 64
        assert text_model["fingerprint"]["sha256"] in prov
        assert record["parameters"]["seed"] == 3 and record["parameters"]["branch"] == BRANCH
        assert record["scenes"][-1]["chosen_by"] == AUTO_RATER and record["scenes"][-1]["seed"] == 3
        assert record["versions"]["story-workbench"] and record["versions"]["python"]
    finally:
        project.close()


@pytest.mark.slow
def test_report_is_self_contained_and_has_no_code(runs: dict[str, Any]) -> None:
    html = runs["first"].read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "link", "iframe", "object", "embed"])
    for tag in soup.find_all(src=True):
        assert tag["src"].startswith("data:"), tag.name
    for tag in soup.find_all(href=True):
        assert not EXTERNAL.match(tag["href"]), tag["href"]
    css = " ".join(s.get_text() for s in soup.find_all("style"))
    assert "@import" not in css and not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    portraits = soup.select("#cast img.portrait")
    frames = soup.select("#storyboard img.frame-image")
    assert len(portraits) == 3 and 2 <= len(frames) <= 6
    assert len(soup.find_all("img")) == len(portraits) + len(frames)
    # no code cells: none of the notebook's source made it in
    for needle in ("import ", "pipeline.", "session = Session", "In [", "jp-Cell"):
        assert needle not in soup.get_text(), needle
    assert "@media print" in css


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@pytest.mark.slow
def test_report_files_get_the_users_mode(runs: dict[str, Any]) -> None:
    """The report and its notebook are ordinary files a writer can share: 0o666 less the umask."""
    expected = 0o666 & ~_umask()
    for path in (runs["first"], runs["first"].with_suffix(".ipynb")):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert not [p for p in runs["first"].parent.iterdir() if ".tmp" in p.name]


@pytest.mark.slow
def test_auto_choice_is_logged_and_kept_out_of_human_feedback(runs: dict[str, Any]) -> None:
    project = open_project(runs["story"], create=False)
    try:
        scene = project.scene(NEW_SCENE)
        takes = scene.takes
        assert len(takes) == 1, "the re-run wrote no second take"
        take = takes[0]
        assert take.source == "model" and take.provenance["seed"] == 3
        events = [e for e in project.feedback() if e.take_id == take.id and e.kind == "choose"]
        assert [e.rater for e in events] == [AUTO_RATER]
        assert not [e for e in project.feedback(include_auto=False) if e.take_id == take.id]
    finally:
        project.close()


@pytest.mark.slow
def test_rerun_is_reproducible_and_loads_no_model(runs: dict[str, Any]) -> None:
    first = runs["first"].read_text(encoding="utf-8")
    second = runs["second"].read_text(encoding="utf-8")
    assert first != second  # times and run facts differ ...
    assert report_content(first) == report_content(second)  # ... the report's content does not
    r1 = read_record(runs["first"].with_suffix(".ipynb"))["run"]
    r2 = read_record(runs["second"].with_suffix(".ipynb"))["run"]
    assert r1["takes_generated"] == 1 and r1["text_model_loaded"] is True
    assert r1["media_assets_generated"] > 0
    assert r2["takes_generated"] == 0 and r2["media_assets_generated"] == 0
    assert r2["text_model_loaded"] is False and r2["heavy_modules_imported"] == []
    assert r2["peak_rss_mb"] > 0


@pytest.mark.slow
def test_executed_notebook_is_kept_without_widget_state(runs: dict[str, Any]) -> None:
    nb = nbformat.read(str(runs["second"].with_suffix(".ipynb")), as_version=4)
    assert "widgets" not in nb.metadata
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and f'branch = "{BRANCH}"' in injected[0].source
    assert not [c for c in nb.cells if c.get("outputs") and any(o.output_type == "error" for o in c.outputs)]


@pytest.mark.slow
def test_first_run_is_kept_for_the_documentation(runs: dict[str, Any]) -> None:
    """The run that wrote a take, outputs and all, is the pitch-report tutorial of the docs site."""
    nb = nbformat.read(str(runs["first"].with_suffix(".ipynb")), as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    save_executed("pitch_report", nb)
    assert is_current("pitch_report")


@pytest.mark.slow
def test_cli_report_without_media(runs: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "nomedia.html"
    victim = tmp_path / "victim.html"
    victim.write_text("not yours")
    out.symlink_to(victim)  # a link at the output is replaced, never written through
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "report",
            str(runs["story"]),
            "--branch",
            BRANCH,
            "--seed",
            "3",
            "--no-media",
            "--quiet",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert not out.is_symlink() and victim.read_text() == "not yours"
    soup = _soup(out)
    names = [s["data-section"] for s in soup.select("section.report-section")]
    assert names == ["title", "cast", "branch-map", "screenplay", "provenance"]
    record = read_record(out.with_suffix(".ipynb"))
    assert record["run"]["text_model_loaded"] is False
    assert [m["role"] for m in record["models"]] == ["text"]


@pytest.mark.slow
def test_failing_cell_keeps_partial_notebook_and_writes_no_html(tmp_path: Path) -> None:
    story = _sample_with_open_branch(tmp_path / "s.story")
    out = tmp_path / "pitch.html"
    with pytest.raises(ReportError) as err:
        run_report(story, out, branch=BRANCH, model=str(tmp_path / "no-such-model"), progress=False)
    msg = str(err.value)
    assert "Write a take" in msg and "ModelUnavailable" in msg and "no-such-model" in msg
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    executed = out.with_suffix(".ipynb")
    assert executed.is_file() and str(executed) in msg
    nb = nbformat.read(str(executed), as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0].ename == "ModelUnavailable"


# --- fast: bad input fails before a kernel starts --------------------------------------------


def test_missing_project(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no project file"):
        run_report(tmp_path / "nope.story", tmp_path / "pitch.html", progress=False)
    assert not (tmp_path / "nope.story").exists() and not (tmp_path / "pitch.html").exists()


def test_not_a_project(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.story"
    bogus.write_text("just some notes", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot open the project"):
        run_report(bogus, tmp_path / "pitch.html", progress=False)
    assert not (tmp_path / "pitch.html").exists()


def test_unknown_branch(tmp_path: Path) -> None:
    story = tmp_path / "s.story"
    build_sample(story).close()
    with pytest.raises(ReportError, match=r"no branch named 'sequel' \(its branches: main, ines\)"):
        run_report(story, tmp_path / "pitch.html", branch="sequel", progress=False)
    assert not (tmp_path / "pitch.html").exists() and not (tmp_path / "pitch.ipynb").exists()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"seed": "7"}, "seed"),
        ({"seed": True}, "seed"),
        ({"seed": -1}, "seed"),
        ({"media": "yes"}, "media"),
        ({"model": 3}, "model"),
        ({"title": 5}, "title"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 2.5}, "max_new_tokens"),
        ({"branch": ""}, "branch"),
    ],
)
def test_bad_parameter_types(tmp_path: Path, kwargs: dict[str, Any], needle: str) -> None:
    story = tmp_path / "s.story"
    build_sample(story).close()
    with pytest.raises(ReportError, match=f"the {needle} parameter"):
        run_report(story, tmp_path / "pitch.html", progress=False, **kwargs)
    assert not (tmp_path / "pitch.html").exists()


def test_output_needs_an_html_name_and_a_folder(tmp_path: Path) -> None:
    story = tmp_path / "s.story"
    build_sample(story).close()
    with pytest.raises(ReportError, match="does not exist"):
        run_report(story, tmp_path / "missing" / "pitch.html", progress=False)
    with pytest.raises(ReportError, match=r"\.html name"):
        run_report(story, tmp_path / "pitch.ipynb", progress=False)


def test_check_parameters_accepts_good_values() -> None:
    check_parameters("s.story", "main", 0, "default", None, True, None)
    check_parameters(Path("s.story"), "ines", 12, "openai:m@http://x", "T", False, 120)


def test_volatile_parts_are_marked_and_stripped() -> None:
    html = provenance_section({"parameters": {"seed": 1}, "run": {"seconds": 1.5, "peak_rss_mb": 100.0}})
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select("[data-volatile]")
    stripped = BeautifulSoup(report_content(html), "html.parser")
    assert not stripped.select("[data-volatile]")
    assert "Peak rss mb" not in stripped.get_text() and "Seed" in stripped.get_text()


def test_widget_state_is_stripped() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "a"}, "text/plain": "bar"},
        ),
        nbformat.v4.new_output(
            "display_data",
            data={"application/vnd.jupyter.widget-view+json": {"model_id": "b"}, "text/html": "<b>kept</b>"},
        ),
    ]
    nb.cells.append(cell)
    _strip_widgets(nb)
    assert "widgets" not in nb.metadata
    assert [o.data for o in cell.outputs] == [{"text/html": "<b>kept</b>"}]


@pytest.mark.slow
def test_notebook_runs_as_it_is(tmp_path: Path) -> None:
    """Without parameters (JupyterLab, nbval) the notebook pitches a fresh copy of the sample story."""
    import papermill

    from workbench.report.run import _collect, _kernel_manager_class, notebook_path

    out = tmp_path / "as_is.ipynb"
    papermill.execute_notebook(
        str(notebook_path()), str(out), progress_bar=False, kernel_manager_class=_kernel_manager_class()
    )
    sections, record = _collect(nbformat.read(str(out), as_version=4))
    assert list(sections) == ["title", "cast", "branch-map", "screenplay", "storyboard", "provenance"]
    assert record is not None and record["parameters"]["branch"] == "main"
    assert record["run"]["takes_generated"] == 0 and record["run"]["text_model_loaded"] is False


@pytest.mark.slow
def test_cached_request_is_served_without_the_model(runs: dict[str, Any], tmp_path: Path) -> None:
    """A scene whose take was undone, asked for again: the generation cache answers, no model loads."""
    source = open_project(runs["story"], create=False)
    try:
        original = source.scene(NEW_SCENE).takes[0].text
        copy = source.backup(tmp_path / "undone.story")
    finally:
        source.close()
    project = open_project(copy, create=False)
    try:
        while project.scene(NEW_SCENE).takes:
            project.undo()
    finally:
        project.close()
    code = (
        "import json, sys\n"
        "from workbench.session import Session\n"
        "from workbench.report.pipeline import fill_branch\n"
        f"s = Session({str(copy)!r})\n"
        f"made = fill_branch(s, {BRANCH!r}, 3)\n"
        "print(json.dumps({'texts': [t.text for t in made], 'chosen': [t.is_chosen for t in made],\n"
        "                  'heavy': [m for m in ('torch', 'transformers') if m in sys.modules]}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"texts": [original], "chosen": [True], "heavy": []}
