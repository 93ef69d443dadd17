"""Pitch report benchmark: a first run that writes three takes, then a re-run served by the caches.

Run 1 renders the report on a fresh copy of the sample project with a branch whose last three
scenes have no takes: one take of up to 120 new tokens is written (and chosen) for each, with an
up-to-3-frame storyboard per scene and the cast's portraits. Run 2 repeats the same command with
nothing changed. Goals: run1/run2 >= 10, run 2 <= 8 s, kernel peak RSS <= 1.5 GB, equal content.

Run: python bench/report.py [--keep DIR]   (ends with one JSON line of figures);
``BENCH_REPORT_MODEL=llamacpp:default`` writes the takes on the llama.cpp engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("WORKBENCH_CACHE", str(REPO / ".cache" / "workbench"))
os.environ.pop("WORKBENCH_MAX_NEW_TOKENS", None)  # full-length takes (up to 120 new tokens)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from workbench.report import read_record, report_content, run_report  # noqa: E402
from workbench.story.sample import build_sample  # noqa: E402

BRANCH = "bench"
NEW_SCENES = [
    ("The Keeper's Watch", "Mara keeps watch alone", ["Mara Quell"]),
    ("A Light on the Water", "A light appears at sea", ["Mara Quell", "Tomas Reyes"]),
    ("The Harbour at Dawn", "Go down to the harbour at dawn", ["Mara Quell", "Ines Quell"]),
]
TOKENS = 120
MODEL = os.environ.get("BENCH_REPORT_MODEL", "default")
GOALS = {"ratio": 10.0, "run2_s": 8.0, "peak_rss_mb": 1536.0}


def build(path: Path) -> None:
    """The sample story plus a branch from its first scene through three new scenes without takes."""
    project = build_sample(path)
    after = project.start
    project.branches[BRANCH] = after
    for title, choice, cast in NEW_SCENES:
        after = project.add_scene(title, after=after, choice=choice, characters=cast, branch=BRANCH)
    open_scenes = [s for s in project.branches[BRANCH].scenes if s.chosen is None]
    assert len(open_scenes) == 3, open_scenes
    project.close()


def timed_run(story: Path, out: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    run_report(story, out, branch=BRANCH, seed=0, model=MODEL, max_new_tokens=TOKENS, progress=False)
    return time.perf_counter() - started, read_record(out.with_suffix(".ipynb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="keep the project and reports in this folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wb-bench-report-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        story = work / "bench.story"
        if story.exists():
            story.unlink()
        build(story)
        run1, rec1 = timed_run(story, work / "run1.html")
        run2, rec2 = timed_run(story, work / "run2.html")
        same = report_content((work / "run1.html").read_text("utf-8")) == report_content(
            (work / "run2.html").read_text("utf-8")
        )
        r1, r2 = rec1["run"], rec2["run"]
        peak = max(r1["peak_rss_mb"], r2["peak_rss_mb"])
        figures = {
            "bench": "report",
            "model": MODEL,
            "cpu_count": os.cpu_count(),
            "run1_s": round(run1, 2),
            "run2_s": round(run2, 2),
            "ratio": round(run1 / run2, 2),
            "run1_kernel_s": r1["seconds"],
            "run2_kernel_s": r2["seconds"],
            "takes_generated_run1": r1["takes_generated"],
            "completion_tokens_run1": [s["completion_tokens"] for s in rec1["scenes"][-len(NEW_SCENES) :]],
            "media_assets_run1": r1["media_assets_generated"],
            "takes_generated_run2": r2["takes_generated"],
            "media_assets_run2": r2["media_assets_generated"],
            "model_loaded_run2": r2["text_model_loaded"],
            "peak_rss_mb_run1": r1["peak_rss_mb"],
            "peak_rss_mb_run2": r2["peak_rss_mb"],
            "content_equal": same,
            "goal_ratio_met": run1 / run2 >= GOALS["ratio"],
            "goal_run2_met": run2 <= GOALS["run2_s"],
            "goal_rss_met": peak <= GOALS["peak_rss_mb"],
        }
        print(
            f"run 1 (3 takes of up to {TOKENS} tokens + media): {run1:.1f} s; run 2 (cached): {run2:.1f} s; "
            f"ratio {run1 / run2:.1f}; kernel peak RSS {peak:.0f} MB; content equal: {same}"
        )
        print(json.dumps(figures))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
