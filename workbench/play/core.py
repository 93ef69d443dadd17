"""``Play``: read a story as a reader would, one move at a time, writing new scenes as needed.

A play stands on a scene and extends one branch (a new ``play N`` branch unless one is
named). It offers choices: the scene's existing choices where the graph has them (open ones,
whose scene is not written yet, included), suggested ones otherwise. A move along an existing
choice just follows it, back to a scene read before too (a hub, a loop): the branch then
revisits that scene. Any other move (an open choice, a suggested choice not yet written, or an
action the reader types) writes the next scene, streaming, and saves it on the play's branch
with the move as the choice label; an open choice's scene gets the title it wanted.

While the reader reads, one background thread writes the scenes behind the offered choices
(kept in memory, saved only when picked), so picking one shows text at once. Moving
elsewhere stops that work. A move while another move is being written is refused with
:class:`PlayBusy`; nothing is saved unless generation succeeded.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..errors import GenerationError, GenerationStopped, InvalidInput, StoryError, WorkbenchError
from ..generate.context import ContextPart, ContextView
from ..generate.writer import Draft, Writer, clean_action
from ..seeding import new_seed, play_seed
from ..story.continuity import Continuity, SceneContinuity
from ..story.project import Scene, clean_branch_name

__all__ = ["Play", "PlayBusy", "DEFAULT_K", "PLAY_BRANCH", "PLAY_TOKENS", "is_play_branch"]

DEFAULT_K = 3
PLAY_TOKENS = 200  # new tokens per scene (``WORKBENCH_MAX_NEW_TOKENS`` caps it)
OnToken = Callable[[int, str], None]


_LIVE: weakref.WeakSet[Play] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Stop background writing before the interpreter (and torch) shut down."""
    for play in list(_LIVE):
        play.close()
    for play in list(_LIVE):
        play.wait_prefetch(10)


class PlayBusy(GenerationError):
    """A move was asked for while the previous one is still being written."""


PLAY_BRANCH = "play"  # a play-through the reader did not name is the branch "play 1", "play 2"...


def is_play_branch(name: str) -> bool:
    """Whether ``name`` is a branch the player named itself ("play 3")."""
    return re.fullmatch(rf"{PLAY_BRANCH} \d+", name) is not None


@dataclass
class _Pending:
    """A scene written in the background for one offered choice (in memory until picked)."""

    label: str
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: str = "queued"  # queued | running | done | failed | stopped
    text: str = ""
    title: str = ""
    results: list[Draft] | None = None
    ctx: ContextView | None = None
    error: BaseException | None = None
    listener: OnToken | None = None

    def feed(self, _index: int, piece: str) -> None:
        with self.lock:
            self.text += piece
            listener = self.listener
        if listener is not None:
            listener(0, piece)

    def attach(self, listener: OnToken | None) -> None:
        """Send the text so far to ``listener`` at once, then every new piece."""
        if listener is None:
            return
        with self.lock:
            so_far = self.text
            self.listener = listener
        if so_far:
            listener(0, so_far)


class Play:
    """A reader's walk through the story. See the module docstring.

    >>> play = session.play()                      # doctest: +SKIP
    >>> play.scene.title, play.choices             # doctest: +SKIP
    >>> play.move(0)                               # follow the first offered choice  # doctest: +SKIP
    >>> play.move("Mara throws the key into the sea")   # doctest: +SKIP
    """

    def __init__(
        self,
        writer: Writer,
        start: Scene | str | None = None,
        branch: str | None = None,
        *,
        k: int = DEFAULT_K,
        seed: int | None = None,
        pregenerate: bool = True,
        continuity: bool = True,
        max_new_tokens: int = PLAY_TOKENS,
        structure: str | None = None,
    ) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 6:
            raise InvalidInput(f"offer between 1 and 6 choices, not {k!r}")
        self.writer = writer
        self.project = writer.project
        self.k = k
        self.seed = new_seed(seed)
        self.pregenerate = pregenerate
        self.use_continuity = continuity
        self.max_new_tokens = max_new_tokens
        self.structure = structure  # "auto" (None), "screenplay" or "free": see Writer.write
        self.continuity = Continuity(self.project)
        self.notice = ""  # a non-fatal problem worth showing (e.g. suggestions failed)
        self.last_move: dict[str, Any] = {}
        self.last_context: ContextView | None = None
        branches = self.project.branches
        if branch is not None and branch in branches:
            tip = branches[branch].tip
            scene = self.project.scene(start) if start is not None else tip
            if scene is None or tip is None or scene.id != tip.id:
                raise StoryError(
                    f"a play on branch {branch!r} starts at its last scene "
                    f"({tip.title if tip else 'none'}); name a new branch to play from elsewhere"
                )
            self._branch, self._created = branch, True
            self._from: str | None = branch
        else:
            if start is None:
                scene = self.project.start
                if scene is None:
                    raise StoryError("this story has no scenes yet: add a first scene, then play it")
            else:
                scene = self.project.scene(start)
            if branch is not None:
                branch = clean_branch_name(branch)
            self._branch = branch or self._free_name()
            self._created = False
            self._from = writer.branch_for(scene, None)
        self._scene = scene
        self._choices: dict[str, list[str]] = {}
        self._choices_lock = threading.Lock()
        self._move_lock = threading.Lock()
        self._move_stop: threading.Event | None = None
        self._pending: dict[str, _Pending] = {}
        self._retries: dict[str, int] = {}
        self._worker: threading.Thread | None = None
        self._worker_cancel = threading.Event()
        self._named = branch is not None
        self._closed = False
        _LIVE.add(self)
        if pregenerate:
            self.prefetch()

    # ------------------------------------------------------------------ state
    @property
    def scene(self) -> Scene:
        """The scene the reader is on."""
        return self._scene

    @property
    def branch(self) -> str:
        """The branch this play extends (created at the first move)."""
        return self._branch

    @property
    def busy(self) -> bool:
        """True while a move is being written."""
        return self._move_lock.locked()

    def path(self) -> list[Scene]:
        """The story so far, up to the current scene."""
        return self.project.path(self._scene, self._branch if self._created else self._from)

    def _free_name(self) -> str:
        n = 1
        while f"{PLAY_BRANCH} {n}" in self.project.branches:
            n += 1
        return f"{PLAY_BRANCH} {n}"

    def state(self) -> SceneContinuity:
        """Continuity after the current scene (who is dead, where, holding what)."""
        return self.continuity.along(self._scene, self._branch if self._created else self._from)[-1]

    # ------------------------------------------------------------------ choices
    @property
    def choices(self) -> list[str]:
        """The ``k`` offered choices: the scene's existing ones, else suggestions (cached per scene)."""
        return list(self._offer(self._scene))

    def _existing(self, scene: Scene) -> dict[str, Scene]:
        out: dict[str, Scene] = {}
        for choice, target in scene.children:
            if choice.kind != "include":  # a reference is not a way on
                out.setdefault(choice.label.casefold(), target)
        return out

    def _title_for(self, scene: Scene, label: str) -> str:
        """The title of a new scene behind ``label``: what an open choice wants, else the label."""
        for c in scene.open_choices:
            if c.label.casefold() == label.casefold() and c.wanted:
                return self.project.unique_title(c.wanted)
        return self.project.unique_title(label[:60])

    def _offer(self, scene: Scene, stop: threading.Event | None = None) -> list[str]:
        with self._choices_lock:
            if scene.id in self._choices:
                return self._choices[scene.id]
            labels = list(dict.fromkeys(c.label for c in scene.choices if c.kind != "include"))
            if not labels:
                try:
                    labels = self._suggest(scene, stop)
                except GenerationStopped:
                    return []
                except WorkbenchError as exc:
                    self.notice = f"no suggestions for this scene ({exc}); type what happens next"
                    labels = []
            self._choices[scene.id] = labels
            return labels

    def _suggest(self, scene: Scene, stop: threading.Event | None) -> list[str]:
        """``k`` suggestions (the writer's, stoppable), else plain moves from continuity."""
        seed = play_seed("choices", self.seed, scene.title)
        labels = self.writer.suggest_choices(scene, self.k, seed, stop=stop)
        return labels or self._fallback_choices(scene)

    def _fallback_choices(self, scene: Scene) -> list[str]:
        """Plain moves from the continuity state, when the model's suggestions are unusable."""
        state = self.continuity.along(scene, self._branch if self._created else self._from)[-1]
        out = [f"Follow {name.split()[0]}" for name in state.present[1:2]]
        if state.location:
            out.append(f"Leave the {state.location.lower()}")
        absent = [n for n, c in state.characters.items() if c.alive and not c.present]
        out += [f"Go and find {name.split()[0]}" for name in absent[:1]]
        out.append("Wait and watch what happens")
        return out[: self.k]

    def refresh_choices(self) -> list[str]:
        """Forget the cached choices of the current scene and offer them again."""
        with self._choices_lock:
            self._choices.pop(self._scene.id, None)
        self.notice = ""
        return self.choices

    # ------------------------------------------------------------------ background work
    def prefetch(self) -> None:
        """Start (or restart) the background thread: offer choices, then write the new scenes behind them."""
        if self._closed:
            return
        self.cancel()
        cancel = threading.Event()
        self._worker_cancel = cancel
        scene = self._scene
        thread = threading.Thread(
            target=self._work, args=(scene, cancel), name="workbench-play-prefetch", daemon=True
        )
        self._worker = thread
        thread.start()

    def _work(self, scene: Scene, cancel: threading.Event) -> None:
        try:
            labels = self._offer(scene, cancel)
            existing = self._existing(scene)
            jobs = [_Pending(lb, self._seed_for(scene, lb)) for lb in labels if lb.casefold() not in existing]
            if cancel.is_set():
                return
            self._pending = {job.label.casefold(): job for job in jobs}
            for job in jobs:
                if cancel.is_set() or job.stop.is_set() or scene != self._scene:
                    job.state = "stopped"
                    job.done.set()
                    continue
                job.state = "running"
                try:
                    job.title = self._title_for(scene, job.label)
                    history = self.project.path(scene, self._branch if self._created else self._from)
                    job.results = self._draft(history, job.title, job.label, job.seed, job.feed, job.stop)
                    job.ctx = job.results[0].context if job.results else None
                    stopped = not job.results or job.results[0].stopped
                    job.state = "stopped" if stopped else "done"
                except GenerationStopped:
                    job.state = "stopped"
                except Exception as exc:  # kept for the move that picks it; the worker goes on
                    job.state, job.error = "failed", exc
                finally:
                    job.done.set()
            if not jobs and not cancel.is_set():
                self._warm(scene, cancel)
        except Exception as exc:
            self.notice = f"background writing stopped: {exc}"

    def _warm(self, scene: Scene, cancel: threading.Event) -> None:
        """Prefill the local model's key/value cache with the story so far, so a typed action starts fast."""
        from ..generate.base import TextRequest

        gen = self.writer.generator
        if not getattr(gen, "keeps_prefix_cache", False):
            return  # a server has its own prefix caching (or none): never send it a throwaway request
        history = self.project.path(scene, self._branch if self._created else self._from)
        cap = config.cap_new_tokens(self.max_new_tokens)
        ctx = self.writer.context_for(
            history, "What happens next", "what the reader does next", [], None, cap, self._extra(history)
        )
        with self.writer.lock:
            if not cancel.is_set():
                with contextlib.suppress(GenerationStopped):
                    gen.generate(
                        TextRequest(prefix=ctx.prefix, suffix=ctx.suffix, max_new_tokens=1, stop=cancel)
                    )

    def cancel(self) -> None:
        """Stop the background work (pending scenes are dropped, nothing is saved)."""
        self._worker_cancel.set()
        for job in list(self._pending.values()):
            job.stop.set()
        self._pending = {}

    def pending(self) -> dict[str, str]:
        """Each offered new choice and the state of its background scene (queued, running, done...)."""
        return {job.label: job.state for job in self._pending.values()}

    def wait_prefetch(self, timeout: float | None = None) -> bool:
        """Block until the background work ends (for scripts, tests and benchmarks)."""
        if self._worker is not None:
            self._worker.join(timeout)
            return not self._worker.is_alive()
        return True

    def stop(self) -> None:
        """Stop the move being written (it then saves nothing)."""
        if self._move_stop is not None:
            self._move_stop.set()

    def close(self) -> None:
        """Stop all work; the play can no longer move."""
        self._closed = True
        self.stop()
        self.cancel()

    # ------------------------------------------------------------------ context
    def _seed_for(self, scene: Scene, label: str) -> int:
        key = " ".join(label.split()).casefold()
        return play_seed("move", self.seed, scene.title, key, self._retries.get(key, 0))

    def _extra(self, history: list[Scene]) -> list[ContextPart]:
        """The continuity note for the prompt (who is dead, who holds what), when continuity is on."""
        if not (self.use_continuity and history):
            return []
        state = self.writer.continuity(history)
        note = state.note() if state is not None else ""
        if not note:
            return []
        tokens = self.writer.generator.count_tokens(note)
        return [ContextPart("continuity", note, tokens, False, "derived by rules; editable")]

    def _draft(
        self,
        history: list[Scene],
        title: str,
        label: str,
        seed: int,
        on_token: OnToken | None,
        stop: threading.Event | None,
        on_plan: OnToken | None = None,
    ) -> list[Draft]:
        """The scene behind a move, written (not saved): planned and structured where the model allows."""
        return self.writer.write(
            history,
            title=title,
            choice=label,
            characters=history[-1].characters if history else [],
            summary=None,
            n=1,
            seed=seed,
            max_new_tokens=config.cap_new_tokens(self.max_new_tokens),
            on_token=on_token,
            stop=stop,
            structure=self.structure,
            extra=self._extra(history),
            on_plan=on_plan,
        )

    # ------------------------------------------------------------------ moves
    def _resolve(self, move: int | str) -> tuple[str, Scene | None]:
        offered = self._choices.get(self._scene.id)
        if isinstance(move, bool) or not isinstance(move, (int, str)):
            raise InvalidInput(f"a move is a choice number or what happens, not {move!r}")
        if isinstance(move, int):
            offered = self.choices if offered is None else offered
            if not offered:
                raise InvalidInput("there are no choices to pick here; type what happens instead")
            if not 0 <= move < len(offered):
                raise InvalidInput(
                    f"pick a choice from 0 to {len(offered) - 1} (or type what happens), not {move}"
                )
            label = offered[move]
        else:
            label = clean_action(move)
            for o in offered or []:
                if o.casefold() == label.casefold():
                    label = o
        return label, self._existing(self._scene).get(label.casefold())

    def move(
        self,
        move: int | str,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        on_plan: OnToken | None = None,
    ) -> Scene:
        """Go on by an offered choice (its index) or a typed action; returns the new current scene.

        An existing choice is followed; anything else writes the next scene (streamed through
        ``on_token(take_index, text)``; its plan, while it is planned, through ``on_plan``) and
        saves it on the play's branch.
        """
        if self._closed:
            raise StoryError("this play is closed; start a new one with session.play()")
        if not self._move_lock.acquire(blocking=False):
            raise PlayBusy(
                "the next scene is still being written: wait for it, or stop it, before moving again"
            )
        started = time.perf_counter()
        first: list[float] = []

        def shown(i: int, piece: str) -> None:
            if not first:
                first.append(time.perf_counter() - started)
            if on_token is not None:
                on_token(i, piece)

        self._move_stop = stop = stop or threading.Event()
        try:
            if not self._scene.exists:
                raise StoryError("the scene this play stood on was deleted; start a new play")
            label, target = self._resolve(move)
            if target is not None:
                self.cancel()
                new = self._follow(target)
                shown(0, new.text)
                source = "followed"
            else:
                job = self._pending.get(label.casefold())
                if job is not None and job.state not in ("running", "done"):
                    job = None
                self._stop_others(job)
                new, source = self._write(label, job, shown, stop, on_plan)
            self.last_move = {
                "move": label,
                "source": source,
                "scene": new.title,
                "first_token_s": round(first[0], 4) if first else None,
                "seconds": round(time.perf_counter() - started, 4),
            }
            self._scene = new
            self.notice = ""
        finally:
            self._move_stop = None
            self._move_lock.release()
        if self.pregenerate:
            self.prefetch()
        return self._scene

    def _stop_others(self, keep: _Pending | None) -> None:
        self._worker_cancel.set()
        for job in list(self._pending.values()):
            if job is not keep:
                job.stop.set()

    def _ensure_branch(self) -> None:
        if self._created:
            return
        if self._branch in self.project.branches:
            if self._named:
                raise StoryError(
                    f"a branch called {self._branch!r} appeared meanwhile; play on it or pick another"
                )
            self._branch = self._free_name()
        self.project.set_branch(self._branch, self._scene, from_branch=self._from)

    def _follow(self, target: Scene) -> Scene:
        with self.project.transaction(f"play: follow to {target.title}", surface="play"):
            self._ensure_branch()
            self.project.extend_branch(self._branch, target)
        self._created = True
        return target

    def _write(
        self,
        label: str,
        job: _Pending | None,
        shown: OnToken,
        stop: threading.Event,
        on_plan: OnToken | None = None,
    ) -> tuple[Scene, str]:
        results: list[Draft] | None = None
        title = ""
        source = "generated"
        if job is not None and job.state in ("running", "done"):
            job.attach(shown)
            while not job.done.wait(0.05):
                if stop.is_set():
                    job.stop.set()
            if job.state == "done" and job.results:
                results, title, source = job.results, job.title, "pregenerated"
                self.last_context = job.ctx
                if not job.text:
                    shown(0, results[0].text)
            elif stop.is_set():
                raise GenerationStopped(
                    "the move was stopped before the scene was finished; nothing was saved"
                )
        self.cancel()
        history = self.path()
        if results is None:
            title = self._title_for(self._scene, label)
            seed = self._seed_for(self._scene, label)
            results = self._draft(history, title, label, seed, shown, stop, on_plan)
            self.last_context = results[0].context if results else None
            if not results or stop.is_set():
                raise GenerationStopped(
                    "the move was stopped before the scene was finished; nothing was saved"
                )
        if not any(d.text.strip() for d in results):
            key = " ".join(label.split()).casefold()
            self._retries[key] = self._retries.get(key, 0) + 1  # the next try samples afresh
            raise GenerationError(
                "the model wrote nothing for this move; nothing was saved. "
                "Try it again, or type another action"
            )
        return self._save(history, label, title, results), source

    def _save(self, history: list[Scene], label: str, title: str, results: list[Draft]) -> Scene:
        scene = self._scene
        with self.project.transaction(f"play: {label[:60]}", surface="play"):
            self._ensure_branch()
            new = self.writer.save_scene(
                scene,
                label,
                title or label[:60],
                scene.characters,
                self._branch,
                history,
                results,
                extra={"play": True},
            )
        self._created = True
        return new

    def __repr__(self) -> str:
        return f"Play(scene={self._scene.title!r}, branch={self._branch!r})"
