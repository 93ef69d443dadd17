"""``make docs``: build the documentation site into ``site/`` with every warning an error.

1. The tutorials are the notebooks as the test suite ran them (``build/notebooks/``). Any that are
   missing or stale are made by running their tests: the suite's one way of executing a notebook.
2. ``mkdocs build --strict``: broken links, missing references, undocumented public objects
   (``docs/hooks/api_check.py``) and missing executed notebooks fail the build.

    python docs/build_docs.py [--site-dir DIR] [--no-run-notebooks]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.executed_notebooks import missing  # noqa: E402

NOTEBOOK_TEST = "tests/notebooks/test_notebooks.py::test_notebook_runs[{name}]"
REPORT_TEST = "tests/report/test_report.py::test_first_run_is_kept_for_the_documentation"


def run_notebook_tests(names: list[str]) -> int:
    """Run the tests that execute (and keep) the notebooks ``names``."""
    ids = [REPORT_TEST if n == "pitch_report" else NOTEBOOK_TEST.format(name=n) for n in names]
    print(f"executing {len(ids)} notebook(s) through their tests: {', '.join(names)}", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids], cwd=REPO)


def build(site_dir: Path) -> int:
    """``mkdocs build --strict`` into ``site_dir``."""
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "--site-dir", str(site_dir)]
    return subprocess.call(cmd, cwd=REPO, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-dir", type=Path, default=REPO / "site")
    parser.add_argument(
        "--no-run-notebooks", action="store_true", help="fail instead of running notebook tests"
    )
    args = parser.parse_args(argv)
    todo = missing()
    if todo and not args.no_run_notebooks:
        rc = run_notebook_tests(todo)
        if rc != 0:
            print("the notebook tests failed: no site built", file=sys.stderr)
            return rc
    return build(args.site_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
