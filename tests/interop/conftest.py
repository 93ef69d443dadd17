"""Fixtures for the interop tests: a small branching project built through the Project API."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from workbench.story import open_project

REPO = Path(__file__).resolve().parents[2]
JS_DIR = Path(__file__).resolve().parent / "js"

OPENING = """INT. LIGHTHOUSE - NIGHT

Rain hammers the glass. MARA climbs the last steps, lamp in hand.

MARA
(breathless)
Someone lit the beacon.

JONAH
Not me. I swear it.

> CUT TO:"""

CLIFF = """EXT. CLIFF PATH - NIGHT

Wind. Mara follows a trail of wet footprints toward the edge.

MARA
Jonah, bring the rope!

JONAH ^
I've got it!"""

CELLAR = """INT. CELLAR - NIGHT

A trapdoor. Below: crates marked with the harbour master's seal.

ELSPETH
You shouldn't be down here."""

HARBOUR = """EXT. HARBOUR - DAWN

- a list line, * a star, + plus, = equals, ~ tilde, // no comment, /* nor this */ <> glue <- thread -> divert
# not a tag, a|b, {not logic}, 50% off ^caret, \\ backslash

The three of them watch the smuggler's ship slip away.

ELSPETH
It was always going to end like this.

FADE OUT."""

EPILOGUE = "Mara writes the night into the keeper's log: {every} [word] \\ kept, and a line that starts\n:: like a passage header."


def build_story(path: Path):
    """A branching story with a merge, tags, positions, 3 characters and lore."""
    project = open_project(path)
    project.title = "The Keeper's Light"
    project.logline = "A lighthouse keeper finds the beacon lit by someone else."
    project.genre = "mystery"
    opening = project.add_scene(
        "Opening", OPENING, tags=("act1", "storm"), position=(100, 100), characters=("Mara", "Jonah")
    )
    cliff = project.add_scene(
        "The Cliff [path]",
        CLIFF,
        after=opening,
        choice="Follow the footprints",
        tags=("act2",),
        position=(50, 250),
        characters=("Mara", "Jonah"),
    )
    cellar = project.add_scene(
        "Cellar",
        CELLAR,
        after=opening,
        choice="Search the cellar",
        tags=("act2",),
        position=(250, 250.5),
        characters=("Elspeth",),
    )
    harbour = project.add_scene(
        "Harbour",
        HARBOUR,
        after=cliff,
        choice="Run to the harbour",
        position=(150, 400),
        characters=("Mara", "Jonah", "Elspeth"),
    )
    project.connect(cellar, harbour, "Chase the master -> to the docks")
    epilogue = project.add_scene("Epilogue", EPILOGUE, after=harbour, choice="Write it down")
    project.branches["cellar"] = cellar
    project.extend_branch("cellar", harbour)
    project.cast.add(
        name="Mara",
        description="The keeper.",
        personality="stubborn, kind",
        first_message="Who's there?",
        alternate_greetings=["Storm's coming."],
        tags=["lead"],
        voice={"speed": 1.05, "pitch": -1.0},
        appearance="oilskin coat, grey braid",
        extensions={"other_tool": {"mood": "wary"}},
    )
    project.cast.add(name="Jonah", description="Her nephew.", personality="eager", speech_style="Talks fast.")
    project.cast.add(
        name="Elspeth",
        description="The harbour master's widow.",
        scenario="The harbour at dawn.",
        creator_notes="Antagonist until act 3.",
        card_extra={"nickname": "Elsie"},
    )
    project.lore.add(
        ["beacon", "lamp"], "The beacon has not been lit in twenty years.", priority=5, name="Beacon"
    )
    project.lore.add([], "The story is set on a Cornish island in 1952.", always=True, name="Setting")
    assert epilogue.text == EPILOGUE
    return project


@pytest.fixture
def story(tmp_path):
    project = build_story(tmp_path / "keeper.wbproj")
    yield project
    project.close()


def graph(project) -> dict:
    """Everything a story format should carry over, as plain data."""
    return {
        "title": project.title,
        "ifid": project.ifid,
        "start": project.start.title if project.start else None,
        "scenes": [
            {
                "title": s.title,
                "text": s.text,
                "tags": list(s.tags),
                "position": list(s.position) if s.position else None,
                "choices": [(c.label, t.title) for c, t in s.children],
            }
            for s in project.scenes
        ],
        "branches": {name: [s.title for s in b.scenes] for name, b in project.branches.items()},
    }


def content_digest(project) -> str:
    """A digest of the project's logical content (to show an import changed nothing)."""
    data = graph(project)
    data["cast"] = [c.to_dict() for c in project.cast]
    data["lore"] = [(e.keys, e.content, e.always, e.priority, e.name) for e in project.lore]
    data["assets"] = sorted(a.sha256 for a in project.assets)
    data["revision"] = project.revision
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def node_available() -> bool:
    return shutil.which("node") is not None and (REPO / "node_modules").is_dir()


def require_node() -> None:
    """Skip loudly when the npm validators are missing; under CI that is a failure."""
    if node_available():
        return
    msg = (
        "outside validators missing: run `npm ci` in the repository root "
        "(needs node and node_modules/ with extwee, inkjs, fountain-js, @mnbroatch/bondage)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip("SKIPPED LOUDLY: " + msg)


def run_js(script: str, *args: str, stdin: str | None = None) -> dict:
    """Run ``tests/interop/js/<script>`` with node and return its JSON output."""
    require_node()
    proc = subprocess.run(
        ["node", str(JS_DIR / script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stderr}\n{proc.stdout}"
    return json.loads(proc.stdout)
