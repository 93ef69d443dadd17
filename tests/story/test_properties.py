"""Property tests over random story graphs with loops: random edit sequences (back edges, self
loops, open choices, revisiting branches) keep branches real paths and ``path()`` consistent,
the story so far assembles along every branch, undo is exact, derived feedback state equals a
replay of the log, and everything survives a reopen."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import open_project
from workbench.errors import AmbiguousPathError, WorkbenchError
from workbench.generate.context import assemble

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "add",
                "add_after",
                "connect",
                "connect",
                "open",
                "fill",
                "take",
                "choose",
                "rate",
                "edit",
                "branch",
                "extend",
                "extend",
                "disconnect",
                "delete",
                "undo",
            ]
        ),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(1, 5),
    ),
    min_size=1,
    max_size=25,
)


def replay_chosen(project):
    """Chosen take per scene and rating per take, recomputed from the raw event log."""
    rows = project.conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
    void = {r["ref"] for r in rows if r["kind"] == "void"}
    live = [r for r in rows if r["kind"] != "void" and r["seq"] not in void]
    takes = {r["id"]: r["scene_id"] for r in project.conn.execute("SELECT id, scene_id FROM takes")}
    chosen, rating = {}, {}
    for r in live:
        if r["kind"] in ("choose", "edit") and r["take_id"] in takes:
            chosen[takes[r["take_id"]]] = r["take_id"]
        if r["kind"] == "rate":
            rating[r["take_id"]] = int(r["value"])
    return chosen, rating


def check_invariants(project):
    scenes = project.scenes
    edges = {(c.source_id, c.target_id) for c in project.choices if c.target_id is not None}
    # every branch is a real path from the start along choices (it may revisit a scene)
    start = project.start
    for name in project.branches:
        b = project.branches[name].scene_ids
        if b:
            assert start is not None and b[0] == start.id
            for x, y in zip(b, b[1:]):
                assert (x, y) in edges
            # path() along the branch agrees, up to its latest visit of any scene on it
            assert [s.id for s in project.path(b[-1], name)] == list(b)
            for sid in b:
                last = max(k for k, x in enumerate(b) if x == sid)
                assert [s.id for s in project.path(sid, name)] == list(b[: last + 1])
            # the story so far assembles along the branch, revisits included
            ctx = assemble(
                project, project.path(b[-1], name), title="Next", choice="on", count_tokens=len, budget=10**6
            )
            assert ctx.part("story").note.startswith(f"{len(b)} scene(s)")
    # without a branch a path is a walk back along choices, unless merges make it ambiguous;
    # for a scene the start reaches it begins at the start
    unreachable = {x.id for x in project.unreachable}
    for s in scenes:
        try:
            path = project.path(s)
        except AmbiguousPathError:
            continue
        ids = [x.id for x in path]
        assert ids[-1] == s.id and len(set(ids)) == len(ids)
        for x, y in zip(ids, ids[1:]):
            assert (x, y) in edges
        if start is not None and s.id not in unreachable:
            assert ids[0] == start.id
    # open choices name a scene and lead nowhere yet
    for c in project.open_choices:
        assert c.target is None and c.wanted
    # derived state equals the replayed log
    chosen, rating = replay_chosen(project)
    for s in scenes:
        c = s.chosen
        assert (c.id if c else None) == chosen.get(s.id)
        for t in s.takes:
            assert t.rating == rating.get(t.id)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_random_edits_keep_invariants_and_survive_reopen(ops):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.story"
        p = open_project(path)
        p.add_scene("S0", "start text")
        counter = 1
        hashes = [p.content_hash()]
        for op, i, j, k in ops:
            scenes = p.scenes
            takes = [t for s in scenes for t in s.takes]
            if not scenes and op not in ("add", "undo"):
                op = "add"  # an undo may have removed the first scene too
            try:
                if op == "add":
                    p.add_scene(f"S{counter}", f"text {counter}")
                elif op == "add_after":
                    p.add_scene(
                        f"S{counter}", f"text {counter}", after=scenes[i % len(scenes)], choice=f"c{counter}"
                    )
                elif op == "connect":  # forward, back, or to itself: loops are allowed
                    p.connect(scenes[i % len(scenes)], scenes[j % len(scenes)], f"link {counter}")
                elif op == "open":
                    p.add_choice(scenes[i % len(scenes)], f"open {counter}", wanted=f"W{counter}")
                elif op == "fill" and p.open_choices:
                    p.fill_choice(p.open_choices[i % len(p.open_choices)], text=f"filled {counter}")
                elif op == "take":
                    scenes[i % len(scenes)].add_take(f"take {counter}", source="model")
                elif op == "choose" and takes:
                    takes[i % len(takes)].choose()
                elif op == "rate" and takes:
                    takes[i % len(takes)].rate(k)
                elif op == "edit" and takes:
                    takes[i % len(takes)].edit(f"edited {counter}")
                elif op == "branch":
                    p.branches[f"b{counter}"] = scenes[i % len(scenes)]
                elif op == "extend":
                    names = list(p.branches)
                    name = names[i % len(names)]
                    tip = p.branches[name].tip
                    kids = [t for _, t in tip.children] if tip is not None else []
                    if kids:
                        p.extend_branch(name, kids[j % len(kids)])
                elif op == "disconnect" and p.choices:
                    p.disconnect(p.choices[i % len(p.choices)])
                elif op == "delete" and len(scenes) > 1:
                    p.delete(scenes[i % len(scenes)])
                elif op == "undo":
                    p.undo()
            except WorkbenchError:
                pass  # refused edits (ambiguity, duplicates, unreachable) must leave the project consistent
            counter += 1
            check_invariants(p)
        final = p.content_hash()
        # undo walks back through every state the edits went through
        p.close()
        q = open_project(path)
        assert q.content_hash() == final
        check_invariants(q)
        assert q.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        q.close()
        assert hashes


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from(["scene", "take", "rate", "title", "cast", "lore", "loop", "open", "fill", "ending"]),
        min_size=1,
        max_size=12,
    )
)
def test_undo_restores_every_previous_state_exactly(steps):
    with tempfile.TemporaryDirectory() as d:
        p = open_project(Path(d) / "u.story")
        p.add_scene("S0", "x")
        history = []
        for n, step in enumerate(steps):
            history.append(p.content_hash())
            if step == "scene":
                p.add_scene(f"N{n}", f"t{n}")
            elif step == "take":
                p.start.add_take(f"take {n}", source="model", choose=True)
            elif step == "rate":
                p.start.takes[-1].rate(1 + n % 5)
            elif step == "title":
                p.title = f"Title {n}"
            elif step == "cast":
                p.cast.add(f"Person {n}", description="d")
            elif step == "loop":  # the last scene leads back to the start
                p.connect(p.scenes[-1], p.start, f"again {n}")
            elif step == "open":
                p.add_choice(p.scenes[-1], f"maybe {n}")
            elif step == "fill":
                if p.open_choices:
                    p.fill_choice(p.open_choices[0], text=f"written {n}")
                else:
                    p.add_choice(p.start, f"later {n}")
            elif step == "ending":
                p.scenes[-1].is_ending = not p.scenes[-1].is_ending
            else:
                p.lore.add([f"k{n}"], "content")
        for h in reversed(history):
            p.undo()
            assert p.content_hash() == h
        p.close()
