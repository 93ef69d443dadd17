"""Scenes that hold together: naive prompting vs the workbench's play mode, side by side.

For each story (bench/stories.json, or ``--stories FILE`` with stories the team has not seen:
same format) the script plays the reader's eight moves twice on the same model and seeds:

* **naive**: the story so far plus the move, sampled freely (160 new tokens);
* **free**: ``Session.play(structure="free")`` (the workbench's prompts and continuity, free text): what
  structure costs is measured against it;
* **workbench**: ``Session.play()`` (plans, the screenplay grammar, continuity).

Every scene is then checked by rules written here, independent of the workbench's own
continuity code: violations (a dead character speaking, the old holder using a handed-over
item, near-miss names, loops, monologues, a line said twice) and positive measures (scenes
naming a cast member, reflecting the move, in screenplay form). One JSON line per arm, then
one line with both arms and the ratios.

    python bench/quality.py                       # the four bundled stories
    python bench/quality.py --stories mine.json --moves 4
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

STOP = set(
    """the a an and or but of to in on at for with from by into onto over under about as is are was were be been
    being it its this that these those then than there here his her hers their them they he she you your we our
    i me my him who whom what when where why how not no yes do does did has have had will would can could should
    shall may might must up down out off again just now very too all any each some""".split()
)
SPEECH_VERBS = r"(?:said|says|asked|asks|replied|replies|whispered|whispers|shouted|shouts|answered|answers|told|tells|cried|cries|muttered|mutters)"
USE_VERBS = r"(?:use|uses|used|using|open|opens|opened|unlock|unlocks|unlocked|hold|holds|held|holding|raise|raises|raised|pin|pins|pinned|wave|waves|waved|grip|grips|gripped|show|shows|showed|pull|pulls|pulled|read|reads|flash|flashes)"
HEADING = re.compile(r"^\s*(?:INT|EXT|INT\./EXT|I/E)[.\s]", re.M)


# --- rule checks (independent of the workbench's continuity code) ---------------------
def words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)


def content_words(text: str, cast: list[str]) -> set[str]:
    names = {p.casefold() for n in cast for p in n.split()}
    return {
        w.casefold()
        for w in words(text)
        if len(w) >= 4 and w.casefold() not in STOP and w.casefold() not in names
    }


def parts_of(cast: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in cast:
        out[n.casefold()] = n
        for p in n.split():
            out.setdefault(p.casefold(), n)
    return out


def cues(text: str, cast: list[str]) -> list[tuple[str, str]]:
    """(speaker, line) for screenplay blocks: a line in capitals naming a cast member, then speech."""
    names = parts_of(cast)
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        t = re.sub(r"\(.*?\)", "", line).strip()
        if not t or t != t.upper() or not re.search(r"[A-Z]", t) or len(t.split()) > 4 or HEADING.match(t):
            continue
        who = names.get(t.casefold()) or names.get(t.split()[0].casefold())
        if who is None:
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip().startswith("("):
            j += 1
        if j < len(lines) and lines[j].strip():
            out.append((who, lines[j].strip()))
    return out


def prose_speech(text: str, cast: list[str]) -> list[tuple[str, str]]:
    """(speaker, line) for prose: quoted speech attributed to a cast member by a speech verb."""
    names = parts_of(cast)
    out = []
    for m in re.finditer(r"[\"“]([^\"”]{2,})[\"”],?\s*([A-Z][\w']+)\s+" + SPEECH_VERBS, text):
        who = names.get(m.group(2).casefold())
        if who:
            out.append((who, m.group(1)))
    for m in re.finditer(r"([A-Z][\w']+)\s+" + SPEECH_VERBS + r",?\s*[\"“]([^\"”]{2,})[\"”]", text):
        who = names.get(m.group(1).casefold())
        if who:
            out.append((who, m.group(2)))
    return out


def on_page(text: str, cast: list[str]) -> set[str]:
    found = set()
    for n in cast:
        for p in [n, *n.split()]:
            if re.search(r"\b" + re.escape(p) + r"\b", text, re.I):
                found.add(n)
    return found


def ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    ws = [w.casefold() for w in words(text)]
    return {tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)}


def near_misses(text: str, cast: list[str]) -> list[str]:
    parts = {p.casefold() for n in cast for p in n.split() if len(p) >= 3}
    out = []
    for w in set(re.findall(r"\b[A-Z][a-z]{2,}\b", text)):
        low = w.casefold()
        if low in parts or low in STOP:
            continue
        if any(difflib.SequenceMatcher(a=low, b=p).ratio() >= 0.8 for p in parts):
            out.append(w)
    return out


def check_scene(
    text: str, move: str, cast: list[str], dead: set[str], item: dict | None, prev: list[str]
) -> dict:
    blocks = cues(text, cast) or prose_speech(text, cast)
    speakers = [s for s, _ in blocks]
    v = {
        "dead_speaking": sum(1 for s in speakers if s in dead),
        "holder_uses_item": 0,
        "near_miss_names": len(near_misses(text, cast)),
        "loop": 0,
        "monologue": 0,
        "line_twice": 0,
    }
    if item is not None:
        first = item["from"].split()[0]
        for sent in re.split(r"(?<=[.!?])\s+|\n+", text):
            if re.search(r"\b" + re.escape(first) + r"\b", sent) and re.search(
                r"\b" + item["item"] + r"s?\b", sent, re.I
            ):
                if re.search(r"\b" + USE_VERBS + r"\b", sent, re.I) and not re.search(
                    r"\b(gives?|gave|hands?|handed)\b", sent, re.I
                ):
                    v["holder_uses_item"] += 1
    mine = ngrams(text)
    if mine and any(len(mine & ngrams(p)) / len(mine) > 0.35 for p in prev[-2:]):
        v["loop"] = 1
    present = on_page(text, cast)
    run = 1
    for a, b in zip(speakers, speakers[1:]):
        run = run + 1 if a == b else 1
        if run >= 3:
            v["monologue"] = 1
    if len(present) >= 2 and len(set(speakers)) < 2:
        v["monologue"] = 1
    said = [" ".join(words(line.casefold())) for _, line in blocks]
    v["line_twice"] = len(said) - len(set(said))
    good = {
        "names_cast": bool(present),
        "reflects_move": bool(content_words(text, cast) & content_words(move, cast)),
        "screenplay": bool(HEADING.search(text)) and bool(cues(text, cast)),
    }
    return {"violations": v, **good}


# --- the two arms --------------------------------------------------------------------
def build(story: dict, path: Path):
    import workbench as wb

    p = wb.open_project(path)
    p.title = story["title"]
    p.style = story.get("style", "")
    for c in story["cast"]:
        p.cast.add(c["name"], description=c.get("description", ""), personality=c.get("personality", ""))
    for e in story.get("lore", []):
        p.lore.add(e["keys"], e["content"])
    o = story["opening"]
    p.add_scene(o["title"], text=o["text"], characters=o.get("characters", []))
    return p


def naive_arm(story: dict, gen, seed: int, moves: int, tokens: int) -> list[dict]:
    from workbench.generate.base import TextRequest

    so_far = [story["opening"]["text"]]
    out = []
    for i, move in enumerate(story["moves"][:moves]):
        story_text = "\n\n".join(so_far)[-3000:]
        req = TextRequest(
            prefix="You continue stories.",
            suffix=f"Story so far:\n{story_text}\n\nNext: {move}\nWrite the next scene.",
            seed=seed + i,
            max_new_tokens=tokens,
        )
        t = time.perf_counter()
        text = gen.generate(req)[0].text.strip()
        out.append({"move": move, "text": text, "seconds": time.perf_counter() - t})
        so_far.append(f"(Then: {move})\n{text}")
    return out


def workbench_arm(
    story: dict, project, seed: int, moves: int, tokens: int, structure: str = "auto"
) -> list[dict]:
    import workbench as wb

    session = wb.Session(project)
    play = session.play(
        project.start, seed=seed, pregenerate=False, max_new_tokens=tokens, structure=structure
    )
    out = []
    for move in story["moves"][:moves]:
        t = time.perf_counter()
        scene = play.move(move)
        out.append({"move": move, "text": scene.text, "seconds": time.perf_counter() - t})
    play.close()
    return out


def score(story: dict, scenes: list[dict]) -> list[dict]:
    cast = [c["name"] for c in story["cast"]]
    facts = story.get("facts", {})
    death, handover = facts.get("death"), facts.get("handover")
    prev = [story["opening"]["text"]]
    rows = []
    for i, sc in enumerate(scenes):
        dead = {death["who"]} if death and i > death["after_move"] else set()
        item = handover if handover and i > handover["after_move"] else None
        r = check_scene(sc["text"], sc["move"], cast, dead, item, prev)
        r["seconds"] = sc["seconds"]
        rows.append(r)
        prev.append(sc["text"])
    return rows


def summary(rows: list[dict]) -> dict:
    n = max(1, len(rows))
    kinds = rows[0]["violations"].keys() if rows else []
    viol = {k: sum(r["violations"][k] for r in rows) for k in kinds}
    return {
        "scenes": len(rows),
        "names_cast": round(sum(r["names_cast"] for r in rows) / n, 3),
        "reflects_move": round(sum(r["reflects_move"] for r in rows) / n, 3),
        "screenplay": round(sum(r["screenplay"] for r in rows) / n, 3),
        "violations": sum(viol.values()),
        "violations_by_kind": viol,
        "seconds_per_scene": round(sum(r["seconds"] for r in rows) / n, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=Path, default=ROOT / "bench" / "stories.json")
    ap.add_argument("--moves", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--show", action="store_true", help="print every scene")
    ap.add_argument(
        "--arms",
        default="naive,free,workbench",
        help="naive (story so far + the move), free (play mode, free text), workbench (play mode, structured)",
    )
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from workbench.generate.local import get_local_generator

    stories = json.loads(args.stories.read_text(encoding="utf-8"))
    gen = get_local_generator("default")
    arms: dict[str, list[dict]] = {arm: [] for arm in args.arms.split(",")}
    with tempfile.TemporaryDirectory() as tmp:
        for k, story in enumerate(stories):
            seed = args.seed + 100 * k
            written = {}
            for arm in arms:
                if arm == "naive":
                    written[arm] = naive_arm(story, gen, seed, args.moves, args.tokens)
                    continue
                project = build(story, Path(tmp) / f"story{k}-{arm}.story")
                structure = "free" if arm == "free" else "auto"
                written[arm] = workbench_arm(story, project, seed, args.moves, args.tokens, structure)
                project.close()
            for arm, scenes in written.items():
                rows = score(story, scenes)
                arms[arm] += rows
                if args.show:
                    for sc, r in zip(scenes, rows):
                        print(f"\n=== {arm} · {story['title']} · {sc['move']}\n{sc['text']}\n--- {r}")
    result = {arm: summary(rows) for arm, rows in arms.items()}
    for arm in arms:
        print(json.dumps({"arm": arm, **result[arm]}))
    ratios = {}
    w = result.get("workbench")
    for base in ("naive", "free"):
        b = result.get(base)
        if w and b:
            ratios[f"violations_workbench_over_{base}"] = round(w["violations"] / max(1, b["violations"]), 3)
            ratios[f"seconds_workbench_over_{base}"] = round(
                w["seconds_per_scene"] / max(0.01, b["seconds_per_scene"]), 2
            )
    result["ratios"] = ratios
    print(json.dumps(result))


if __name__ == "__main__":
    main()
