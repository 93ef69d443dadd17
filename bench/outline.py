"""Outlines a writer can use: naive JSON prompting vs ``Session.outline``, side by side.

For each logline (six of our own across genres, or ``--loglines FILE``: one per line, e.g.
loglines the team has not seen) both arms run on the same model and seeds:

* **naive**: one request asking for the outline as JSON (title, characters, scenes), parsed
  leniently (the first ``{`` to the last ``}``);
* **workbench**: ``Session.outline(logline)`` (a level at a time under usability formats, each
  level checked and regenerated a bounded number of times), then the first scene written from
  its summary (``Session.write_scene``).

Every outline is checked by rules written here, independent of the workbench's own checks:
at least two characters whose names a reader tells apart; scene titles distinct from each
other, from the story's title and from the characters' names; descriptions that end on a
sentence; each summary names a character and says what happens (five words or more); some
summary takes up the logline's premise; and (workbench arm) the first scene written follows its
summary (its cues include the summary's character, its text shares a content word with it).
One JSON line per arm, then one line with both and the share of loglines passing every check.

    python bench/outline.py
    python bench/outline.py --loglines unseen.txt
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOGLINES = [
    "A retired safecracker is blackmailed into one last job: opening the vault of the bank that ruined her father.",
    "On a generation ship, the only two crew members awake discover that the ship turned around a century ago.",
    "A small-town baker enters a televised contest to save her shop, only to find her estranged sister among the judges.",
    "A lighthouse keeper on a northern island finds a drowned sailor who wakes up and cannot remember his name.",
    "Two rival chess prodigies are snowed in at a mountain hotel the night before the final, and one of them goes missing.",
    "A junior archivist finds letters proving that the city's founding hero was a fraud, and the mayor wants them burned.",
]
STOP = set(
    """the a an and or but of to in on at for with from by into onto over under about as is are was were be been
    being it its this that these those then than there here his her hers their them they he she you your we our
    who whom what when where why how not no one only all any each some find finds found night day after before""".split()
)


def content(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.casefold()) if len(w) >= 4 and w not in STOP}


def near(a: str, b: str) -> bool:
    a, b = a.casefold(), b.casefold()
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def check_outline(logline: str, title: str, chars: list[dict], scenes: list[dict]) -> dict[str, bool]:
    names = [str(c.get("name") or "").strip() for c in chars if str(c.get("name") or "").strip()]
    firsts = [n.split()[0] for n in names]
    parts = {p.casefold() for n in names for p in [n, *n.split()]}
    titles = [str(s.get("title") or "").strip() for s in scenes]
    summaries = [str(s.get("summary") or "").strip() for s in scenes]
    descs = [str(c.get(k) or "").strip() for c in chars for k in ("description", "appearance") if c.get(k)]
    return {
        "two_characters": len(names) >= 2,
        "distinct_names": len(names) >= 2
        and not any(near(a, b) for i, a in enumerate(firsts) for b in firsts[i + 1 :]),
        "three_scenes": len(scenes) >= 3,
        "distinct_titles": len({t.casefold() for t in titles}) == len(titles) and all(titles),
        "titles_not_title_or_name": all(
            t.casefold() != title.casefold()
            and t.casefold() not in parts
            and re.sub(r"\s*\(\d+\)$", "", t.casefold()) not in parts
            for t in titles
        ),
        "descriptions_end_on_a_sentence": bool(descs) and all(d[-1] in ".!?\u2026\"'" for d in descs),
        "summaries_name_a_character": bool(summaries)
        and all(any(re.search(r"\b" + re.escape(p) + r"\b", s.casefold()) for p in parts) for s in summaries),
        "summaries_say_what_happens": bool(summaries) and all(len(s.split()) >= 5 for s in summaries),
        "follows_the_premise": any(content(s) & content(logline) for s in summaries),
    }


def naive_arm(logline: str, gen, seed: int) -> dict:
    from workbench.generate.base import TextRequest

    req = TextRequest(
        prefix="You are a story developer. You answer only with JSON.",
        suffix=(
            f"Logline: {logline}\nWrite an outline of this story as JSON: "
            '{"title": ..., "characters": [{"name": ..., "description": ...}], '
            '"scenes": [{"title": ..., "summary": ...}]} with 2 or 3 characters and 4 scenes.'
        ),
        seed=seed,
        max_new_tokens=400,
    )
    t = time.perf_counter()
    text = gen.generate(req)[0].text
    seconds = time.perf_counter() - t
    try:
        value = json.loads(text[text.index("{") : text.rindex("}") + 1])
        assert isinstance(value, dict)
    except (ValueError, AssertionError):
        value = {}
    chars = [c for c in value.get("characters") or [] if isinstance(c, dict)]
    scenes = [s for s in value.get("scenes") or [] if isinstance(s, dict)]
    title = str(value.get("title") or "")
    return {"parsed": bool(value), "title": title, "characters": chars, "scenes": scenes, "seconds": seconds}


def workbench_arm(logline: str, seed: int, tokens: int) -> dict:
    import workbench as wb
    from workbench.story.screenplay import parse_scene

    folder = tempfile.mkdtemp(prefix="bench-outline-")
    project = wb.open_project(Path(folder) / "outline.story")
    session = wb.Session(project)
    t = time.perf_counter()
    o = session.outline(logline, seed=seed)
    seconds = time.perf_counter() - t
    follows = False
    scene_seconds = 0.0
    if o.scenes:
        first = project.scene(o.scenes[0]["title"])
        t = time.perf_counter()
        [take] = session.write_scene(first, n=1, seed=seed, max_new_tokens=tokens)
        scene_seconds = time.perf_counter() - t
        cast = [c.name for c in project.cast]
        summary = first.summary or ""
        who = [n for n in cast if any(p.casefold() in summary.casefold() for p in n.split())]
        cues = {el.text.casefold() for el in parse_scene(take.text, cast).elements if el.kind == "character"}
        follows = (
            bool(who)
            and any(n.casefold() in cues for n in who)
            and bool(content(take.text) & content(summary))
        )
        scene_text = take.text
    else:
        scene_text = ""
    out = {
        "parsed": True,
        "title": o.title,
        "characters": o.characters,
        "scenes": o.scenes,
        "seconds": seconds,
        "scene_seconds": scene_seconds,
        "scene_follows_summary": follows,
        "scene": scene_text,
    }
    project.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loglines", type=Path, default=None, help="a file with one logline per line")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument(
        "--tokens", type=int, default=220, help="new tokens for the scene written from the outline"
    )
    ap.add_argument("--show", action="store_true", help="print every outline")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    loglines = (
        [ln.strip() for ln in args.loglines.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if args.loglines
        else LOGLINES
    )
    from workbench.generate.local import get_local_generator

    gen = get_local_generator("default")
    arms: dict[str, list[dict]] = {"naive": [], "workbench": []}
    for i, logline in enumerate(loglines):
        seed = args.seed + i
        for arm in arms:
            r = naive_arm(logline, gen, seed) if arm == "naive" else workbench_arm(logline, seed, args.tokens)
            r["checks"] = check_outline(logline, r["title"], r["characters"], r["scenes"])
            if arm == "workbench":
                r["checks"]["scene_follows_summary"] = r["scene_follows_summary"]
            r["logline"] = logline
            arms[arm].append(r)
            if args.show:
                print(
                    f"--- {arm}: {logline}\n{json.dumps({k: r[k] for k in ('title', 'characters', 'scenes')}, ensure_ascii=False, indent=1)}"
                )
                if r.get("scene"):
                    print(r["scene"])
                print(r["checks"], flush=True)
    lines = {}
    for arm, rows in arms.items():
        keys = sorted({k for r in rows for k in r["checks"]})
        lines[arm] = {
            "arm": arm,
            "loglines": len(rows),
            "all_checks": round(sum(all(r["checks"].values()) for r in rows) / max(1, len(rows)), 3),
            "by_check": {k: sum(bool(r["checks"].get(k)) for r in rows) for k in keys},
            "parsed": sum(r["parsed"] for r in rows),
            "seconds_per_outline": round(sum(r["seconds"] for r in rows) / max(1, len(rows)), 2),
        }
        if arm == "workbench":
            lines[arm]["seconds_per_scene"] = round(
                sum(r["scene_seconds"] for r in rows) / max(1, len(rows)), 2
            )
        print(json.dumps(lines[arm]))
    print(
        json.dumps(
            {
                "naive_all_checks": lines["naive"]["all_checks"],
                "workbench_all_checks": lines["workbench"]["all_checks"],
                "loglines": len(loglines),
                "workbench_seconds_per_outline": lines["workbench"]["seconds_per_outline"],
            }
        )
    )


if __name__ == "__main__":
    main()
