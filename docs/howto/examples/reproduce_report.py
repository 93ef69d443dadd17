"""Reproduce a pitch report from its provenance appendix.

``workbench report`` keeps the executed notebook beside the HTML (``pitch.ipynb`` beside
``pitch.html``). Its provenance record holds what the appendix shows: the parameters, the
project's content hash, the models with their fingerprints, each scene's take and seeds, and the
package versions. Run this as ``python reproduce_report.py STORY PITCH_HTML AGAIN_HTML``.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import workbench
from workbench.report import read_record, report_content, run_report


# --8<-- [start:reproduce]
def reproduce(story: Path, pitch_html: Path, again_html: Path) -> bool:
    """Re-run the report that made ``pitch_html``; True when the two reports say the same."""
    record = read_record(pitch_html.with_suffix(".ipynb"))

    # 1. the same story: the hash covers the story's content, not the file's bytes
    with workbench.open_project(story, create=False) as project:
        if project.content_hash() != record["project"]["content_hash"]:
            print("the story changed since the report was made: restore the backup it was made from")
            return False

    # 2. the same software: a different version may sample different text for an uncached take
    for package, version in record["versions"].items():
        try:
            installed = metadata.version(package) if package != "python" else sys.version.split()[0]
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            print(f"note: {package} {installed} here, {version} in the report")

    # 3. the same parameters: branch, seed, model spec, title, media, token cap
    again = run_report(story, again_html, progress=False, **record["parameters"])

    # the takes come from the generation cache in the project file, so nothing is generated again
    rerun = read_record(again.with_suffix(".ipynb"))["run"]
    print(f"takes generated: {rerun['takes_generated']}, model loaded: {rerun['text_model_loaded']}")
    same = report_content(again.read_text(encoding="utf-8")) == report_content(
        pitch_html.read_text(encoding="utf-8")
    )
    print("same report" if same else "the reports differ")
    return same


# --8<-- [end:reproduce]

if __name__ == "__main__":
    sys.exit(0 if reproduce(*map(Path, sys.argv[1:4])) else 1)
