"""``make docs`` in the suite: the site builds with every warning an error, works offline, and shows
what it should. This folder sorts after tests/notebooks and tests/report, whose runs it renders.

The build is ``docs/build_docs.py``, the script ``make docs`` runs: where an executed notebook is
missing it runs that notebook's test first, then ``mkdocs build --strict``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
OUTSIDE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host, ws://
RESOURCE_ATTRS = {"src", "href", "srcset", "poster", "data", "action", "formaction", "manifest"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("docs") / "site"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "docs/build_docs.py", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    print(f"docs built in {seconds:.1f} s")
    return {"dir": out, "seconds": seconds, "log": proc.stdout + proc.stderr}


class _Attrs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in RESOURCE_ATTRS:
                for part in value.split(","):
                    self.found.append((tag, name, part.strip().split(" ")[0]))
            if name == "style":
                self.styles.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _css_urls(css: str) -> list[str]:
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    urls += re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return urls


def test_every_page_is_built(site: dict[str, Any]) -> None:
    root = site["dir"]
    for page in [
        "index.html",
        "architecture.html",
        "servers.html",
        *[f"tutorials/{n}.html" for n in ("01_quickstart", "02_branching", "03_cast", "04_play")],
        *[f"tutorials/{n}.html" for n in ("05_trainers", "06_extending", "pitch_report")],
        "howto/text-backend.html",
        "reference/cli.html",
        "reference/api/session.html",
        "reference/project-file.html",
        "explanation/security.html",
    ]:
        assert (root / page).is_file(), page
    assert site["seconds"] < 1200


def test_tutorials_show_the_suites_outputs(site: dict[str, Any]) -> None:
    quick = (site["dir"] / "tutorials" / "01_quickstart.html").read_text(encoding="utf-8")
    assert quick.count('class="nb-output"') >= 3  # the rendered story objects
    assert "A live view" in quick  # the Panel view's note
    report = (site["dir"] / "tutorials" / "pitch_report.html").read_text(encoding="utf-8")
    assert "Provenance" in report and "The Last Light of Skerry Point" in report


def test_reference_is_generated_from_the_code(site: dict[str, Any]) -> None:
    session = (site["dir"] / "reference" / "api" / "session.html").read_text(encoding="utf-8")
    for method in ("write_scene", "continue_story", "fork", "context", "storyboard"):
        assert f'id="workbench.session.Session.{method}"' in session, method
    cli = (site["dir"] / "reference" / "cli.html").read_text(encoding="utf-8")
    for command in ("new", "info", "demo", "write", "report", "serve", "play", "export", "import", "train"):
        assert f'id="workbench-{command}"' in cli, command
    errors = (site["dir"] / "reference" / "api" / "errors.html").read_text(encoding="utf-8")
    assert 'class="language-pycon' in errors or "highlight" in errors  # the doctest examples as code
    assert "&gt;&gt;&gt;" in errors and "<blockquote>" not in errors


def test_no_page_loads_anything_from_outside(site: dict[str, Any]) -> None:
    outside = []
    for path in site["dir"].rglob("*"):
        if path.suffix == ".html":
            parser = _Attrs()
            parser.feed(path.read_text(encoding="utf-8"))
            outside += [f"{path.name}: <{t} {a}={v}>" for t, a, v in parser.found if OUTSIDE.match(v)]
            outside += [
                f"{path.name}: style {u}" for s in parser.styles for u in _css_urls(s) if OUTSIDE.match(u)
            ]
        elif path.suffix == ".css":
            outside += [
                f"{path.name}: {u}" for u in _css_urls(path.read_text(encoding="utf-8")) if OUTSIDE.match(u)
            ]
    assert not outside, "\n".join(sorted(set(outside))[:30])
    index = (site["dir"] / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in index and "unpkg.com" not in index


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """Warnings are errors: the same configuration over a copy of the pages with one bad link fails."""
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs, ignore=shutil.ignore_patterns("__pycache__", "screenshots"))
    (docs / "screenshots").mkdir()
    for png in (REPO / "docs" / "screenshots").glob("*.png"):
        (docs / "screenshots" / png.name).write_bytes(b"")
    page = docs / "explanation" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the lost page](no-such-page.md).\n")
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}").replace(
        "- docs/hooks/", f"- {REPO}/docs/hooks/"
    )
    config = config.replace("paths: [.]", f"paths: [{REPO}]")
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(tmp_path / "mkdocs.yml"),
            "-d",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "'explanation/no-such-page.md' is not found" in log
    assert "Aborted with 1 warnings in strict mode" in log  # that link, and nothing else


# --- in a real browser, from the folder --------------------------------------------------------


@pytest.mark.browser
def test_site_works_offline_in_a_browser(site: dict[str, Any]) -> None:
    """From the folder, no request leaves it, no script fails, and search finds pages."""
    import json

    from tests.browser.helpers import missing_browser
    from tests.conftest import skip_or_fail

    why = missing_browser()
    if why:
        skip_or_fail(why)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.site.browser_check", str(site["dir"])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["outside"] == []
    assert report["errors"] == []
    assert report["code_blocks"]["howto/text-backend.html"] >= 3  # the included example code
    assert report["write_scene_anchor"] == 1
    assert report["search_results"] > 0
