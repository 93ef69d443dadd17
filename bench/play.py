"""Play latency on the default model (CPU): from a move to the first text shown.

* offered: the reader picks an offered choice whose scene was written in the background while
  they read (goal < 0.1 s);
* typed: the reader types an action after reading, so the story-so-far prefix is already in the
  key/value cache (goal <= 0.5 s); a cold typed move (prefix cache emptied) is shown for contrast.
* ten typed moves in a row on a story that grows by a scene each time (the reader reads each
  new scene first): the first text of each move, and the 10th over the 1st (goal: no slower,
  the story so far is never prefilled again in full). ``BENCH_PLAY_MOVES`` sets how many.

Run: python bench/play.py   (ends with one JSON line of figures); ``BENCH_PLAY_MODEL=llamacpp:default``
runs it on the llama.cpp engine.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from workbench.session import Session
from workbench.story.sample import build_sample

TOKENS = int(os.environ.get("BENCH_PLAY_TOKENS", "60"))
MODEL = os.environ.get("BENCH_PLAY_MODEL", "default")
MOVES = int(os.environ.get("BENCH_PLAY_MOVES", "10"))
ACTIONS = [
    "Mara climbs the tower stairs with a lantern",
    "Tomas asks Ines about the missing ledger page",
    "Ines hides the key under the loose stone",
    "Mara lights the lamp by hand",
    "Tomas rows out towards the reef",
    "Ines reads the last entry aloud",
    "Mara tells Tomas what she saw on the quay",
    "the storm breaks and the lamp flickers",
    "Ines gives Mara the key",
    "Tomas signals the ship with the lamp",
]


def moves_in_a_row(session: Session, moves: int) -> dict[str, object]:
    """``moves`` typed moves, each after the reader has read the scene before (prefetch done)."""
    gen = session.text_generator
    play = session.play(start="The Light Returns", seed=11, k=2, max_new_tokens=TOKENS)
    first, prompt, prefilled = [], [], []
    for i in range(moves):
        play.wait_prefetch()  # the reader reads; the story so far is warmed meanwhile
        before = gen.stats["prefill_tokens"]
        play.move(ACTIONS[i % len(ACTIONS)], on_token=lambda _i, _t: None)
        first.append(play.last_move["first_token_s"])
        prefilled.append(gen.stats["prefill_tokens"] - before)
        take = play.scene.takes[0].provenance if play.scene.takes else {}
        prompt.append(take.get("prompt_tokens"))
    play.close()
    return {
        "moves_first_text_s": first,
        "moves_prompt_tokens": prompt,
        "moves_prefilled_tokens": prefilled,
        "move_last_over_first": round(first[-1] / first[0], 2) if first and first[0] else None,
    }


def main() -> dict[str, object]:
    import torch

    workdir = Path(tempfile.mkdtemp(prefix="bench-play-"))
    project = build_sample(workdir / "bench.story")
    session = Session(project, text=MODEL)
    t0 = time.perf_counter()
    gen = session.text_generator
    load_s = time.perf_counter() - t0
    # warm: one short scene written outside the measured path
    session.continue_story(
        "The Boat in the Dark", "Tomas starts the launch's engine", seed=1, max_new_tokens=8
    )

    play = session.play(start="The Light Returns", seed=7, k=3, max_new_tokens=TOKENS)
    t0 = time.perf_counter()
    play.wait_prefetch()
    prefetch_s = time.perf_counter() - t0
    offered = play.choices
    states = play.pending()
    play.move(0, on_token=lambda _i, _t: None)
    offered_move = dict(play.last_move)

    # the reader reads the new scene: its choices and their scenes are written meanwhile
    t0 = time.perf_counter()
    play.wait_prefetch()
    prefetch2_s = time.perf_counter() - t0
    hits_before = gen.stats["prefix_hits"]
    play.move("Ines climbs down to the harbour alone", on_token=lambda _i, _t: None)
    typed_move = dict(play.last_move)
    typed_hit = gen.stats["prefix_hits"] > hits_before

    # for contrast: a typed move with the prefix cache emptied
    play.cancel()
    play.wait_prefetch()
    gen.clear_prefix_cache()
    play.move("Mara follows her down the cliff path", on_token=lambda _i, _t: None)
    cold_move = dict(play.last_move)
    play.close()

    take = project.branches[play.branch].scenes[-3].takes[0].provenance
    in_a_row = moves_in_a_row(session, MOVES) if MOVES > 0 else {}
    figures: dict[str, object] = {
        "offered_first_token_s": offered_move["first_token_s"],
        "offered_source": offered_move["source"],
        "typed_first_token_s": typed_move["first_token_s"],
        "typed_prefix_cache_hit": typed_hit,
        "typed_scene_s": typed_move["seconds"],
        "typed_cold_first_token_s": cold_move["first_token_s"],
        "prefetch_first_scene_s": round(prefetch_s, 2),
        "prefetch_next_scene_s": round(prefetch2_s, 2),
        "offered": offered,
        "pregenerated_states": sorted(set(states.values())),
        "prompt_tokens": take.get("prompt_tokens"),
        **in_a_row,
        "new_tokens_cap": TOKENS,
        "model": MODEL,
        "model_load_s": round(load_s, 2),
        "device": "cpu",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    project.close()
    return figures


if __name__ == "__main__":
    result = main()
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(result))
