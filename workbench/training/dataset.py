"""Training rows built from a project's feedback log.

The log (:meth:`Project.feedback`) is the single source: current ratings and choices are
derived from it, undone events are already left out, and events logged by a program
(``rater="auto"``) are never read here, so a report run's picks never become human
preferences.

Rows, in TRL's column names, each with a ``metadata`` dict that TRL does not read:

* SFT (``prompt``/``completion``, or ``messages``): the *accepted* takes. A take is accepted
  when a writer chose it (the latest human choice in its scene), wrote it as an edit, or
  rated it at least ``min_rating`` stars (default 4). An explicit rating below
  ``min_rating`` (the latest one) excludes a take even if it was chosen or edited.
* Preferences (``prompt``/``chosen``/``rejected``): a ``choose`` gives the chosen take over
  each sibling it was chosen over, an ``edit`` the edited text over the original, an ``ab``
  the winner over the loser. For each pair of texts the latest judgement wins (a writer who
  changes their mind is not exported twice, both ways). Pairs whose chosen take carries an
  explicit rating below ``min_rating`` are dropped (only when ``min_rating`` is given).
* Ratings (``prompt``/``completion``/``label``/``rating``): every take's latest rating per
  rater; ``label`` is ``rating >= min_rating``, the unpaired format TRL's KTO trainer reads.

Prompts: a model take (and an edit of one, which keeps its provenance) carries the full
rendered prompt the model saw; that is used verbatim. A pair uses its chosen take's prompt,
else its rejected take's. A writer's take without any is given a prompt rebuilt through the
same context assembly a generation would use (ChatML, the default model's chat template;
older scenes cut rather than summarised, so no model is loaded); pass
``rebuild_prompts=False`` to skip such rows instead.

Filters: ``branch`` (scenes on that branch's path), ``since`` (feedback given at or after a
date or time), ``rater`` (one rater's feedback), ``min_rating``. Rows are de-duplicated;
:func:`split_by_scene` holds out whole scenes, deterministically for a seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ..errors import InvalidInput, StoryError, WorkbenchError
from ..story.project import AUTO_RATER, Project, Take

__all__ = [
    "DEFAULT_MIN_RATING",
    "NoFeedback",
    "Selection",
    "chatml",
    "preference_rows",
    "prompt_messages",
    "rating_rows",
    "select",
    "sft_rows",
    "split_by_scene",
]

DEFAULT_MIN_RATING = 4
_CHATML = re.compile(r"<\|im_start\|>(system|user|assistant)\n(.*?)<\|im_end\|>\n?", re.S)


class NoFeedback(WorkbenchError):
    """There is no human feedback (after the filters) to build a dataset from."""


def chatml(system: str, user: str) -> str:
    """A prompt in ChatML, the default model's chat template, ready for the assistant's turn."""
    return (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )


def prompt_messages(prompt: str) -> list[dict[str, str]]:
    """Chat messages recovered from a ChatML prompt; any other prompt becomes one user message."""
    found = [(m.group(1), m.group(2)) for m in _CHATML.finditer(prompt)]
    rest = _CHATML.sub("", prompt).replace("<|im_start|>assistant\n", "").strip()
    if not found or rest:
        return [{"role": "user", "content": prompt}]
    return [{"role": role, "content": content} for role, content in found]


def _parse_since(since: str | date | datetime | None) -> str | None:
    """The cut-off as the event log's timestamp format (UTC, ISO 8601 with a ``Z``)."""
    if since is None or since == "":
        return None
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"--since takes a date like 2025-01-31 (or an ISO time), not {since!r}"
            ) from None
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day, tzinfo=UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_rating(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        stars = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"a minimum rating is a whole number of stars from 1 to 5, not {value!r}"
        ) from None
    if not 1 <= stars <= 5:
        raise InvalidInput(f"a minimum rating is from 1 to 5 stars, not {stars}")
    return stars


@dataclass
class Selection:
    """The live human events that pass the filters, and helpers to turn takes into rows."""

    project: Project
    events: list[Any]
    min_rating: int | None
    rebuild_prompts: bool = True
    render: Callable[[str, str], str] = chatml
    skipped: list[str] = field(default_factory=list)
    _prompts: dict[str, str | None] = field(default_factory=dict)
    _takes: dict[str, Take | None] = field(default_factory=dict)

    def take(self, take_id: str | None) -> Take | None:
        """The take, or None when it no longer exists (its scene was deleted)."""
        if not take_id:
            return None
        if take_id not in self._takes:
            try:
                self._takes[take_id] = self.project.take(take_id)
            except StoryError:
                self._takes[take_id] = None
        return self._takes[take_id]

    def ratings(self) -> dict[str, int]:
        """Each take's latest rating among the selected events."""
        out: dict[str, int] = {}
        for e in self.events:
            if e.kind == "rate" and e.take_id:
                out[e.take_id] = int(e.value)
        return out

    def prompt(self, *takes: Take | None) -> str | None:
        """The first of ``takes`` with a recorded prompt, else one rebuilt for the scene (or None)."""
        for take in takes:
            if take is not None:
                recorded = take.provenance.get("prompt")
                if isinstance(recorded, str) and recorded.strip():
                    return recorded
        first = next((t for t in takes if t is not None), None)
        if first is None or not self.rebuild_prompts:
            return None
        return self._rebuilt(first)

    def _rebuilt(self, take: Take) -> str | None:
        scene = take.scene
        if scene.id in self._prompts:
            return self._prompts[scene.id]
        prompt = None
        try:
            prompt = self.render(*_context_for(self.project, scene, take.provenance.get("branch")))
        except StoryError as exc:
            self.skipped.append(f"{scene.title}: no prompt ({exc})")
        self._prompts[scene.id] = prompt
        return prompt


def _context_for(project: Project, scene: Any, branch: str | None) -> tuple[str, str]:
    """The system and user text a generation of ``scene`` would get (no model needed)."""
    from ..errors import AmbiguousPathError
    from ..generate.context import assemble

    if branch not in project.branches:
        branch = None
    try:
        path = project.path(scene, branch)
    except AmbiguousPathError:
        names = project.branches.of(scene)
        if not names:
            raise
        path = project.path(scene, names[0])
    history = path[:-1]
    choice = None
    if history:
        choice = next((c.label for c, t in history[-1].children if t.id == scene.id), None)
    ctx = assemble(
        project,
        history,
        title=scene.title,
        choice=choice,
        characters=scene.characters,
        summary=scene.summary,
        count_tokens=lambda text: max(1, len(text) // 4),
        budget=1800,
    )
    return ctx.prefix, ctx.suffix


def select(
    project: Project,
    *,
    min_rating: Any = None,
    branch: str | None = None,
    since: str | date | datetime | None = None,
    rater: str | None = None,
    rebuild_prompts: bool = True,
    render: Callable[[str, str], str] | None = None,
) -> Selection:
    """The live human feedback events that pass the filters, oldest first."""
    if rater is not None and rater.strip() == AUTO_RATER:
        raise InvalidInput("choices logged by a program (rater 'auto') are never exported as human feedback")
    cutoff = _parse_since(since)
    scenes: set[str] | None = None
    if branch:
        scenes = set(project.branches[branch].scene_ids)
    events = []
    for e in project.feedback(include_auto=False):
        if e.rater == AUTO_RATER:
            continue
        if rater is not None and e.rater != rater.strip():
            continue
        if cutoff is not None and e.ts < cutoff:
            continue
        if scenes is not None and e.scene_id not in scenes:
            continue
        events.append(e)
    return Selection(project, events, _parse_rating(min_rating), rebuild_prompts, render or chatml)


def _meta(take: Take, prefix: str = "") -> dict[str, Any]:
    prov = take.provenance
    return {
        f"{prefix}take_id": take.id,
        f"{prefix}source": take.source,
        f"{prefix}model": prov.get("model"),
        f"{prefix}seed": prov.get("seed"),
        f"{prefix}take_seed": prov.get("take_seed"),
    }


def sft_rows(project: Project | Selection, *, messages: bool = False, **filters: Any) -> list[dict[str, Any]]:
    """Supervised rows for the accepted takes (see the module docstring), oldest decision first."""
    sel = project if isinstance(project, Selection) else select(project, **filters)
    threshold = sel.min_rating or DEFAULT_MIN_RATING
    ratings = sel.ratings()
    reasons: dict[str, tuple[Any, set[str]]] = {}  # take id -> (deciding event, why)
    latest_choice: dict[str, Any] = {}
    for e in sel.events:
        if e.kind in ("choose", "edit"):
            latest_choice[e.scene_id] = e
        if e.kind == "edit":
            reasons[e.take_id] = (e, reasons.get(e.take_id, (e, set()))[1] | {"edited"})
        if e.kind == "rate" and ratings.get(e.take_id) == e.value and e.value >= threshold:
            reasons[e.take_id] = (e, reasons.get(e.take_id, (e, set()))[1] | {"rated"})
    for e in latest_choice.values():
        prior = reasons.get(e.take_id)
        why = (prior[1] if prior else set()) | {"chosen"}
        reasons[e.take_id] = (max((prior[0], e) if prior else (e,), key=lambda ev: ev.seq), why)
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for take_id, (event, why) in sorted(reasons.items(), key=lambda kv: -kv[1][0].seq):
        if take_id in ratings and ratings[take_id] < threshold:
            continue
        take = sel.take(take_id)
        if take is None:
            continue
        prompt = sel.prompt(take)
        if prompt is None:
            sel.skipped.append(f"take {take_id}: no prompt")
            continue
        key = (prompt, take.text)
        if key in seen:
            continue
        seen.add(key)
        meta = {
            "scene_id": take.scene.id,
            **_meta(take),
            "accepted": sorted(why),
            "rating": ratings.get(take_id),
            "rater": event.rater,
            "ts": event.ts,
            "event_seq": event.seq,
        }
        row: dict[str, Any]
        if messages:
            row = {"messages": [*prompt_messages(prompt), {"role": "assistant", "content": take.text}]}
        else:
            row = {"prompt": prompt, "completion": take.text}
        rows.append((event.seq, {**row, "metadata": meta}))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


def _pairs(sel: Selection) -> Iterable[tuple[Any, str, str]]:
    for e in sel.events:
        if e.kind == "choose":
            for other in e.others:
                yield e, e.take_id, other
        elif e.kind in ("edit", "ab") and e.others:
            yield e, e.take_id, e.others[0]


def preference_rows(project: Project | Selection, **filters: Any) -> list[dict[str, Any]]:
    """``prompt``/``chosen``/``rejected`` rows from choose, edit and A/B events (latest judgement wins)."""
    sel = project if isinstance(project, Selection) else select(project, **filters)
    ratings = sel.ratings()
    latest: dict[tuple[str, frozenset[str]], tuple[Any, Take, Take, str]] = {}
    for event, win_id, lose_id in _pairs(sel):
        win, lose = sel.take(win_id), sel.take(lose_id)
        if win is None or lose is None or win.text == lose.text:
            continue
        prompt = sel.prompt(win, lose)
        if prompt is None:
            sel.skipped.append(f"pair {win_id} > {lose_id}: no prompt")
            continue
        key = (prompt, frozenset((win.text, lose.text)))
        latest.pop(key, None)  # re-insert: dict order follows the latest judgement
        latest[key] = (event, win, lose, prompt)
    rows = []
    for event, win, lose, prompt in latest.values():
        if sel.min_rating is not None and ratings.get(win.id, 5) < sel.min_rating:
            continue
        meta = {
            "scene_id": win.scene.id,
            "kind": event.kind,
            **_meta(win, "chosen_"),
            **_meta(lose, "rejected_"),
            "rater": event.rater,
            "ts": event.ts,
            "event_seq": event.seq,
        }
        rows.append({"prompt": prompt, "chosen": win.text, "rejected": lose.text, "metadata": meta})
    return rows


def rating_rows(project: Project | Selection, **filters: Any) -> list[dict[str, Any]]:
    """One row per (take, rater): the latest rating, with ``label = rating >= min_rating``."""
    sel = project if isinstance(project, Selection) else select(project, **filters)
    threshold = sel.min_rating or DEFAULT_MIN_RATING
    latest: dict[tuple[str, str], Any] = {}
    for e in sel.events:
        if e.kind == "rate":
            latest.pop((e.take_id, e.rater), None)
            latest[(e.take_id, e.rater)] = e
    rows = []
    for (take_id, _), e in latest.items():
        take = sel.take(take_id)
        if take is None:
            continue
        prompt = sel.prompt(take)
        if prompt is None:
            sel.skipped.append(f"take {take_id}: no prompt")
            continue
        stars = int(e.value)
        meta = {"scene_id": take.scene.id, **_meta(take), "rater": e.rater, "ts": e.ts, "event_seq": e.seq}
        rows.append(
            {
                "prompt": prompt,
                "completion": take.text,
                "label": stars >= threshold,
                "rating": stars,
                "metadata": meta,
            }
        )
    return rows


def split_by_scene(
    rows: Sequence[dict[str, Any]], test_fraction: float, seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train and test rows with whole scenes held out (about ``test_fraction`` of the scenes).

    The same rows and seed give the same split; with two or more scenes and a fraction above
    zero at least one scene is held out and at least one kept.
    """
    try:
        fraction = float(test_fraction)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"a split is a fraction between 0 and 1, like 0.1, not {test_fraction!r}"
        ) from None
    if not 0 <= fraction < 1:
        raise InvalidInput(f"a split is a fraction from 0 up to (not including) 1, not {fraction}")
    scenes = sorted({r["metadata"]["scene_id"] for r in rows})
    random.Random(int(seed)).shuffle(scenes)
    n_test = 0
    if fraction > 0 and len(scenes) >= 2:
        n_test = min(len(scenes) - 1, max(1, round(fraction * len(scenes))))
    held = set(scenes[:n_test])
    train = [r for r in rows if r["metadata"]["scene_id"] not in held]
    test = [r for r in rows if r["metadata"]["scene_id"] in held]
    return train, test
