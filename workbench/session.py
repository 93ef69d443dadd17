"""``Session``: the one UI-free controller every surface calls (notebooks, CLI, reports, web app).

A session owns a project handle, a :class:`~workbench.generate.writer.Writer` (prompts,
takes, structured calls, saving) for the text model, and the image and voice generators
picked by model specs. Views call its methods and re-render from the project; they hold
no story state of their own.

The examples below share a scratch folder and a session on the sample story (no model is
loaded until a method generates something):

    >>> import pathlib, tempfile
    >>> import workbench
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> session = Session(workbench.build_sample(folder / "sample.story"))
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config
from .errors import GenerationStopped, InvalidInput, StoryError
from .generate.base import ImageGenerator, OnToken, TextGenerator, VoiceGenerator
from .generate.context import ContextView
from .generate.outline import OUTLINE_SCHEMAS, Outline
from .generate.writer import (
    DEFAULT_TAKES_TOKENS,
    MAX_ACTION,
    MAX_ATTEMPTS,
    SUMMARY_TOKENS,
    Writer,
    choices_schema,
)
from .story.project import AUTO_RATER, Branch, Choice, Project, Scene, Take, open_project
from .story.screenplay import parse_scene

if TYPE_CHECKING:
    from .play.core import Play

__all__ = [
    "DEFAULT_TAKES_TOKENS",
    "MAX_ACTION",
    "MAX_ATTEMPTS",
    "OUTLINE_SCHEMAS",
    "SUMMARY_TOKENS",
    "Outline",
    "GridCell",
    "Session",
    "TakeGrid",
    "choices_schema",
]


@dataclass
class GridCell:
    """One cell of a :class:`TakeGrid`: the take ``model`` wrote at ``temperature`` as take
    ``column`` of the grid's seed (``take.provenance["take_seed"]`` is its own seed), and the
    storyboard frames drawn from it (assets; empty when no frames were asked for)."""

    model: str
    temperature: float
    column: int
    take: Take
    frames: list[Any] = field(default_factory=list)

    @property
    def seed(self) -> int | None:
        """The take's own seed (what reproduces this cell)."""
        value = self.take.provenance.get("take_seed")
        return int(value) if value is not None else None


@dataclass
class TakeGrid:
    """Takes of one scene side by side: a row per model and temperature, a column per take of
    one seed. Every cell is a saved take of the scene (pick and rate it like any other).

    >>> grid.cell("default", 0.7, 0).take.text       # doctest: +SKIP
    """

    scene_id: str
    models: list[str]
    temperatures: list[float]
    seed: int
    columns: int
    cells: list[GridCell] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[str, float]]:
        """(model, temperature) per row, in order."""
        return [(m, t) for m in self.models for t in self.temperatures]

    def row(self, model: str, temperature: float) -> list[GridCell]:
        """The cells of one row, left to right."""
        return sorted(
            (c for c in self.cells if c.model == model and c.temperature == temperature),
            key=lambda c: c.column,
        )

    def cell(self, model: str, temperature: float, column: int) -> GridCell:
        """One cell (KeyError when the grid has none there, e.g. it was stopped before it)."""
        for c in self.cells:
            if c.model == model and c.temperature == temperature and c.column == column:
                return c
        raise KeyError((model, temperature, column))


def _grid_key(text: str, prov: dict[str, Any]) -> str:
    """What makes two grid cells the same take: the text and the model, seed, take and settings."""
    params = {k: v for k, v in (prov.get("params") or {}).items() if k != "grammar"}
    return json.dumps(
        [text, prov.get("spec"), prov.get("seed"), prov.get("take_index"), params],
        sort_keys=True,
        default=str,
    )


class Session:
    """The controller: a project plus the generators named by model specs.

    >>> session = Session("story.story")                       # doctest: +SKIP
    >>> takes = session.write_scene("The Lamp Goes Dark", n=3, seed=7)   # doctest: +SKIP
    """

    def __init__(
        self,
        project: Project | str | Path,
        text: str = "default",
        image: str = "sketch",
        voice: str = "default",
        rater: str = "writer",
    ) -> None:
        self.project = project if isinstance(project, Project) else open_project(project)
        self.text_spec = text
        self.image_spec = image
        self.voice_spec = voice
        self.rater = rater
        self.writer = Writer(self.project, spec=text)
        self._writers: dict[str, Writer] = {}
        self._image_gen: ImageGenerator | None = None
        self._voice_gen: VoiceGenerator | None = None

    # ------------------------------------------------------------------ generators (lazy)
    @property
    def text_generator(self) -> TextGenerator:
        """The text generator (loaded on first use); assign one to use it instead."""
        return self.writer.generator

    @text_generator.setter
    def text_generator(self, gen: TextGenerator | None) -> None:
        self.writer.generator = gen

    @property
    def image_generator(self) -> ImageGenerator:
        """The image generator the image spec names (``sketch`` unless given), loaded on first use.

        Portraits and storyboards are drawn with it. ``sketch`` draws offline with Pillow. A
        generator is made once per process for each spec and shared by the sessions that name it.

        >>> session.image_generator.fingerprint["backend"]
        'sketch'
        """
        if self._image_gen is None:
            from .generate.media import load_image_generator

            self._image_gen = load_image_generator(self.image_spec)
        return self._image_gen

    @property
    def voice_generator(self) -> VoiceGenerator:
        """The voice generator the voice spec names, loaded on first use.

        Voice lines and table reads are spoken with it. The default is Piper with its bundled
        English voice (the ``voice`` extra). A generator is made once per process for each spec.
        """
        if self._voice_gen is None:
            from .generate.media import load_voice_generator

            self._voice_gen = load_voice_generator(self.voice_spec)
        return self._voice_gen

    @property
    def last_context(self) -> ContextView | None:
        """The context of the last scene written through this session."""
        return self.writer.last_context

    def close(self) -> None:
        """Close the project file, also when it was opened elsewhere and handed in.

        A ``with`` block closes the session when it ends:

        >>> with Session(folder / "draft.story") as draft:
        ...     _ = draft.project.add_scene("Opening")
        >>> draft.project.title
        Traceback (most recent call last):
        ...
        workbench.errors.ProjectClosed: the project draft.story is closed; open it again with open_project()
        """
        self.project.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ editing
    def scene(self, scene: Scene | str) -> Scene:
        """The scene with this id or title (an exact match first, then any case).

        A :class:`~workbench.story.project.Scene` given is checked to still exist; a scene that
        is not there raises :class:`~workbench.errors.SceneNotFound`.

        >>> session.scene("the lamp goes dark").title
        'The Lamp Goes Dark'
        """
        return self.project.scene(scene)

    def scenes_of(self, scene_or_branch: Scene | Branch | str) -> list[Scene]:
        """The scenes a storyboard or table read covers: a scene, or every scene of a branch (by name)."""
        if isinstance(scene_or_branch, Scene):
            return [scene_or_branch]
        if isinstance(scene_or_branch, Branch):
            return scene_or_branch.scenes
        if isinstance(scene_or_branch, str) and scene_or_branch in self.project.branches:
            return self.project.branches[scene_or_branch].scenes
        return [self.scene(scene_or_branch)]

    def fork(
        self,
        scene: Scene | str,
        choice: str,
        title: str | None = None,
        branch: str | None = None,
        name: str | None = None,
    ) -> Scene:
        """A new sibling path from ``scene``: a new scene after it, on a new branch named after the choice."""
        scene = self.scene(scene)
        choice = self.writer.clean_action(choice)
        from_branch = self.writer.branch_for(scene, branch)
        with self.project.transaction(f"fork at {scene.title}"):
            new_name = self.project.unique_branch_name(name or choice[:40])
            self.project.set_branch(new_name, scene, from_branch=from_branch)
            new = self.project.add_scene(
                self.project.unique_title(title or choice[:60]),
                after=scene,
                choice=choice,
                characters=scene.characters,
                branch=new_name,
            )
        return new

    def connect(self, from_scene: Scene | str, to_scene: Scene | str, choice: str) -> Choice:
        """A choice ``choice`` from one scene to another that already exists: a merge, or a loop back.

        Both scenes are given by title, id or handle. One undo step; the very same choice twice
        raises :class:`~workbench.errors.DuplicateName`.

        >>> again = session.connect("Leaving It Dark", "The Lamp Goes Dark", "Start over")
        >>> again.label, again.target.title
        ('Start over', 'The Lamp Goes Dark')
        """
        return self.project.connect(from_scene, to_scene, choice)

    def choose(self, take: Take, rater: str | None = None) -> Take:
        """Make ``take`` its scene's chosen take; returns it.

        Logged in the feedback as chosen over each of the scene's other takes, by ``rater``
        (default: the session's ``rater``). One undo step.

        >>> lamp = session.scene("The Lamp Goes Dark")
        >>> first = lamp.takes[0]
        >>> session.choose(first) == lamp.chosen
        True
        """
        return take.choose(rater or self.rater)

    def rate(self, take: Take, stars: int, rater: str | None = None) -> Take:
        """Rate ``take`` from 1 to 5 stars, as ``rater`` (default: the session's ``rater``); returns it.

        Anything but a whole number from 1 to 5 raises :class:`~workbench.errors.InvalidInput`.
        One undo step.

        >>> session.rate(session.scene("The Lamp Goes Dark").takes[0], 4).rating
        4
        """
        return take.rate(stars, rater or self.rater)

    def edit(self, take: Take, text: str, rater: str | None = None) -> Take:
        """A hand edit of ``take``: returns a new take with ``text``, made from it and chosen.

        The new take's source is ``"edit"``; the feedback logs it as preferred over ``take``, by
        ``rater`` (default: the session's ``rater``). Text unchanged raises
        :class:`~workbench.errors.InvalidInput`. One undo step.

        >>> quay = session.scene("A Stranger on the Quay")
        >>> edited = session.edit(quay.takes[0], "A stranger waits by the bollard, dripping.")
        >>> edited.source, edited == quay.chosen
        ('edit', True)
        """
        return take.edit(text, rater or self.rater)

    def undo(self, surface: str | None = None) -> str:
        """Undo the last change to the project and return what was undone.

        Whose change: the writer acting now (``Project.acting_as``, as the views do), else
        anyone's last change; ``surface="write"`` passes over a reader's play moves (``"play"``
        takes only those). Nothing left to undo raises :class:`~workbench.errors.NothingToUndo`.

        >>> _ = session.rate(session.scene("Trusting Tomas").takes[0], 2)
        >>> session.undo()
        'rate take'
        >>> session.redo()
        'rate take'
        """
        return self.project.undo(surface=surface)

    def redo(self, surface: str | None = None) -> str:
        """Redo the change undone last (whose and where as in :meth:`undo`) and return what was
        redone. Nothing to redo (or a new change since the undo) raises
        :class:`~workbench.errors.NothingToRedo`."""
        return self.project.redo(surface=surface)

    # ------------------------------------------------------------------ context
    def context(
        self, scene: Scene | str, branch: str | None = None, max_new_tokens: int = DEFAULT_TAKES_TOKENS
    ) -> ContextView:
        """What goes into the prompt for (re)writing ``scene``: parts, token counts, total and budget."""
        return self.writer.context(scene, branch, max_new_tokens)

    # ------------------------------------------------------------------ text generation
    def write_scene(
        self,
        scene: Scene | str,
        n: int = 3,
        seed: int | None = None,
        branch: str | None = None,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
        choose: bool | None = None,
        structure: str | None = None,
        plan: dict[str, Any] | None = None,
        on_plan: OnToken | None = None,
    ) -> list[Take]:
        """Generate ``n`` takes of ``scene`` and save them with full provenance (one transaction).

        Take ``i`` of seed ``s`` is the same whatever ``n`` is; a repeated request is served from
        the generation cache without running the model. ``structure`` is ``"auto"`` (a plan, then
        the screenplay under a grammar, where the backend can enforce it), ``"screenplay"`` or
        ``"free"``; ``plan`` (e.g. a take's stored plan, edited) writes every take from that plan.
        ``on_plan(take_index, piece)`` streams each take's plan (JSON) while it is planned, before
        ``on_token`` streams the scene.
        """
        w = self.writer
        scene = self.scene(scene)
        seed = w.new_seed(seed)
        the_branch, path, choice = self._where(scene, branch)
        history = path[:-1]
        cap = config.cap_new_tokens(max_new_tokens)
        drafts = w.write(
            history,
            title=scene.title,
            choice=choice,
            characters=scene.characters,
            summary=scene.summary,
            n=n,
            seed=seed,
            max_new_tokens=cap,
            on_token=on_token,
            stop=stop,
            structure=structure,
            plan=plan,
            on_plan=on_plan,
        )
        if not drafts:
            raise GenerationStopped("generation was stopped before any take had text; nothing was saved")
        return w.save_takes(scene, drafts, path, the_branch, choose=choose)

    def _where(self, scene: Scene, branch: str | None) -> tuple[str | None, list[Scene], str | None]:
        """The branch ``scene`` is written on, the path to it, and the choice that leads into it."""
        the_branch = self.writer.branch_for(scene, branch)
        path = self.project.path(scene, the_branch)
        choice = None
        if len(path) > 1:
            choice = next((c.label for c, t in path[-2].children if t.id == scene.id), None)
        return the_branch, path, choice

    def continue_take(
        self,
        take: Take,
        n: int = 1,
        seed: int | None = None,
        branch: str | None = None,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
        choose: bool | None = None,
    ) -> list[Take]:
        """Continue ``take`` where it stops: ``n`` new takes of its scene, each the take's text and
        what the model wrote next (streamed to ``on_token``), linked to it (``parent``) and saved
        with provenance in one transaction. The model continues with the scene's own prompt, as
        free text; a take served before comes from the generation cache.

        >>> more = session.continue_take(scene.chosen, seed=3)  # doctest: +SKIP
        >>> more[0].text.startswith(scene.chosen.text), more[0].parent == scene.chosen  # doctest: +SKIP
        (True, True)
        """
        w = self.writer
        scene = take.scene
        seed = w.new_seed(seed)
        the_branch, path, choice = self._where(scene, branch)
        history = path[:-1]
        drafts = w.extend(
            history,
            take.text,
            title=scene.title,
            choice=choice,
            characters=scene.characters,
            summary=scene.summary,
            n=n,
            seed=seed,
            max_new_tokens=config.cap_new_tokens(max_new_tokens),
            on_token=on_token,
            stop=stop,
        )
        if not drafts:
            raise GenerationStopped("the model wrote nothing more before it stopped; nothing was saved")
        return w.save_takes(
            scene, drafts, path, the_branch, choose=choose, extra={"continued_from": take.id}, parent=take
        )

    def regenerate_take(
        self,
        take: Take,
        seed: int | None = None,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        max_new_tokens: int | None = None,
        branch: str | None = None,
        choose: bool | None = None,
    ) -> Take:
        """Write ``take`` again with a new seed: one new take of its scene that takes its place
        among the shown takes (:meth:`shown_takes`), streamed to ``on_token``.

        A structured take is written again from the plan stored in its provenance, so only the
        wording changes; a free take with its settings (structure, temperature, length cap,
        branch); a continued take continues the same take again; a take with nothing recorded
        (a writer's own, an import) is written as a new take of the scene would be. The old take
        is kept (takes are append-only): the new one records ``"regenerated_from": take.id`` and
        links to it (``parent``). It is chosen when ``take`` was (``choose=None``; logged as a
        program's pick, not a preference). One undo step: Undo brings the old take back in its
        place.

        >>> new = session.regenerate_take(scene.takes[1], seed=5)  # doctest: +SKIP
        >>> new.provenance["regenerated_from"] == scene.takes[1].id  # doctest: +SKIP
        True
        """
        w = self.writer
        scene = take.scene
        prov = take.provenance
        seed = w.new_seed(seed)
        if branch is None and prov.get("branch") in self.project.branches:
            on_it = [s.id for s in self.project.branches[prov["branch"]].scenes]
            branch = prov["branch"] if scene.id in on_it else None
        the_branch, path, choice = self._where(scene, branch)
        history = path[:-1]
        params = prov["params"] if isinstance(prov.get("params"), dict) else {}
        if max_new_tokens is None:
            recorded = params.get("max_new_tokens")
            max_new_tokens = recorded if isinstance(recorded, int) and recorded > 0 else DEFAULT_TAKES_TOKENS
        cap = config.cap_new_tokens(max_new_tokens)
        plan = prov.get("plan") if isinstance(prov.get("plan"), dict) else None
        source = prov.get("continued_from")
        parent_text = next((t.text for t in scene.takes if t.id == source), None) if source else None
        common: dict[str, Any] = {
            "title": scene.title,
            "choice": choice,
            "characters": scene.characters,
            "summary": scene.summary,
            "n": 1,
            "seed": seed,
            "max_new_tokens": cap,
            "on_token": on_token,
            "stop": stop,
        }
        temperature = params.get("temperature")
        if parent_text is not None:
            drafts = w.extend(history, parent_text, **common)
        else:
            if isinstance(temperature, (int, float)) and not isinstance(temperature, bool):
                common["temperature"] = float(temperature)  # a take of the take grid keeps its own
            if plan is not None:
                drafts = w.write(history, structure="screenplay", plan=plan, **common)
            else:
                structure = prov.get("structure") if take.source in ("model", "edit") else None
                drafts = w.write(history, structure="free" if structure == "free" else None, **common)
        if not drafts or not drafts[0].text.strip():
            raise GenerationStopped("generation was stopped before the new take had text; nothing was saved")
        if choose is None:
            choose = take.is_chosen
        with self.project.transaction(f"regenerate a take of {scene.title}"):
            extra: dict[str, Any] = {"regenerated_from": take.id}
            if parent_text is not None:
                extra["continued_from"] = source
            saved = w.save_takes(scene, drafts[:1], path, the_branch, choose=choose, extra=extra, parent=take)
        return saved[0]

    def shown_takes(self, scene: Scene | str) -> list[Take]:
        """The takes a view shows of ``scene``, oldest first: each take that was regenerated
        (:meth:`regenerate_take`) is folded away, the take that regenerated it shown in its place.
        Every take stays in :attr:`Scene.takes`.

        >>> [t.id for t in session.shown_takes(scene)]  # doctest: +SKIP
        """
        takes = self.scene(scene).takes
        ids = {t.id for t in takes}
        by: dict[str, str] = {}  # old take id -> the latest take that regenerated it
        for t in takes:
            old = t.provenance.get("regenerated_from")
            if isinstance(old, str) and old in ids:
                by[old] = t.id
        replacing = set(by.values())
        byid = {t.id: t for t in takes}
        shown = []
        for t in takes:
            if t.id in replacing:
                continue  # shown where the take it regenerated was
            tid = t.id
            seen = {tid}
            while tid in by and by[tid] not in seen:
                tid = by[tid]
                seen.add(tid)
            shown.append(byid[tid])
        return shown

    def continue_story(
        self,
        scene: Scene | str,
        choice: str,
        n: int = 1,
        seed: int | None = None,
        branch: str | None = None,
        title: str | None = None,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
        structure: str | None = None,
    ) -> Scene:
        """A new scene after ``scene`` where ``choice`` happens, with ``n`` takes; it becomes the branch's tip.

        Without ``branch`` the branch ending at ``scene`` grows (``main`` first); if none ends
        there, a new branch named after the choice is made. Nothing is saved if generation fails.
        """
        w = self.writer
        scene = self.scene(scene)
        choice = w.clean_action(choice)
        seed = w.new_seed(seed)
        if branch is None:
            tips = self.project.branches.ending_at(scene)
            branch = tips[0] if tips else None
        elif self.project.branches[branch].tip != scene:
            raise StoryError(
                f"{scene.title!r} is not the last scene of branch {branch!r}; "
                "continue from its last scene, or fork a new branch here"
            )
        history = self.project.path(scene, branch if branch else w.branch_for(scene, None))
        cap = config.cap_new_tokens(max_new_tokens)
        new_title = self.project.unique_title(title or choice[:60])
        chars = scene.characters
        drafts = w.write(
            history,
            title=new_title,
            choice=choice,
            characters=chars,
            summary=None,
            n=n,
            seed=seed,
            max_new_tokens=cap,
            on_token=on_token,
            stop=stop,
            structure=structure,
        )
        if not drafts:
            raise GenerationStopped("generation was stopped before any text arrived; nothing was saved")
        with self.project.transaction(f"continue after {scene.title}"):
            if branch is None:
                branch = self.project.unique_branch_name(choice[:40])
                self.project.set_branch(branch, scene, from_branch=w.branch_for(scene, None))
            return w.save_scene(scene, choice, new_title, chars, branch, history, drafts)

    def write_choice(
        self,
        choice: Choice | str,
        n: int = 1,
        seed: int | None = None,
        branch: str | None = None,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
    ) -> Scene:
        """Write the scene behind an open choice (one whose scene is not written yet): a new scene
        with ``n`` takes, titled as the choice wants, that the choice now leads to. It is
        :meth:`continue_story` from the choice's scene with the choice's label."""
        c = self.project.choice(choice)
        if not c.is_open:
            raise StoryError(f"the choice {c.label!r} already leads to a scene; write that scene instead")
        return self.continue_story(
            c.source, c.label, n=n, seed=seed, branch=branch, title=c.wanted, on_token=on_token, stop=stop
        )

    def play(self, start: Scene | str | None = None, branch: str | None = None, **options: Any) -> Play:
        """A reader's walk from ``start`` (default: the first scene) extending ``branch`` (default: a new
        ``play N``); options (``k``, ``seed``, ``pregenerate``, ``continuity``) go to :class:`~workbench.play.Play`."""
        from .play.core import Play

        return Play(self.writer, start, branch, **options)

    # ------------------------------------------------------------------ structured generation
    def suggest_choices(
        self, scene: Scene | str, k: int = 3, seed: int | None = None, branch: str | None = None
    ) -> list[str]:
        """``k`` short suggestions for what could happen next (structured output, validated, cleaned)."""
        return self.writer.suggest_choices(scene, k, seed)

    def outline(self, logline: str, seed: int | None = None) -> Outline:
        """Dramatron-style: title, then characters, then a scene list, each written into the project.

        Scenes are added as a linear ``main`` branch with their summaries and no takes yet
        (``write_scene`` drafts them). The project must have no scenes yet.
        """
        from .generate.outline import outline

        return outline(self.writer, logline, seed)

    def current_outline(self) -> Outline:
        """The outline as the project holds it now, edits included: logline, title, characters
        and the scenes with their summaries. Nothing is generated.

        >>> outline = session.current_outline()
        >>> outline.title, len(outline.scenes)
        ('The Last Light of Skerry Point', 7)
        """
        from .generate.outline import current_outline

        return current_outline(self.project)

    def regenerate(self, outline_level: str, seed: int | None = None) -> Outline:
        """Regenerate one outline level from the levels above it, as they are now (edits included)."""
        from .generate.outline import regenerate

        return regenerate(self.writer, outline_level, seed)

    # ------------------------------------------------------------------ media
    def _cached_asset(self, key_parts: list[Any], make: Any, kind: str) -> Any:
        key = (
            "asset:" + hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()
        )
        sha = self.project.cache_get(key)
        if sha and sha in self.project.assets:
            return self.project.assets.get(sha)
        media = make()
        asset = self.project.assets.put(media.data, media.mime, media.provenance, kind)
        self.project.cache_put(key, asset.sha256)
        return asset

    def portrait(self, character: Any, seed: int | None = None, save: bool = True) -> Any:
        """The character's portrait (cached); saved as the character's portrait unless ``save=False``."""
        from .generate.media import make_portrait

        char = self.project.cast[character] if isinstance(character, str) else character
        gen = self.image_generator
        data = char.data
        asset = self._cached_asset(
            [
                "portrait",
                gen.fingerprint,
                data.get("appearance"),
                data.get("description"),
                char.name,
                data.get("palette"),
                data.get("image_seed"),
                seed,
            ],
            lambda: make_portrait(gen, char, seed=seed),
            "portrait",
        )
        if save and data.get("portrait") != asset.sha256:
            char.update(portrait=asset.sha256)
        return asset

    def storyboard(
        self, scene_or_branch: Any, frames: int = 3, seed: int = 0, poses: dict[int, bytes] | None = None
    ) -> list[Any]:
        """Storyboard frames for a scene (or each scene of a branch), as assets.

        ``poses`` maps a shot index to a pose reference image, for image backends with a ControlNet.
        """

        out: list[Any] = []
        for sc in self.scenes_of(scene_or_branch):
            out.extend(self._board(sc.text, sc.id, frames, seed, poses))
        return out

    def _board(
        self, text: str, scene_id: str, frames: int, seed: int, poses: dict[int, bytes] | None = None
    ) -> list[Any]:
        """The storyboard frames of one scene text (cached in the project by everything they depend on)."""
        from .generate.media import make_storyboard

        gen = self.image_generator
        chars = list(self.project.cast)
        refs = self._identity_references(gen)
        key = [
            "storyboard",
            gen.fingerprint,
            text,
            [c.to_dict() for c in chars],  # the cast the shots are drawn from
            frames,
            seed,
            sorted((int(i), hashlib.sha256(b).hexdigest()) for i, b in (poses or {}).items()),
            sorted((n, hashlib.sha256(b).hexdigest()) for n, b in refs.items()),
        ]
        cache_key = (
            "board:" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
        )
        cached = self.project.cache_get(cache_key)
        if cached and all(s in self.project.assets for s in cached):
            return [self.project.assets.get(s) for s in cached]
        media = make_storyboard(
            gen, text, chars, frames=frames, seed=seed, references=refs or None, poses=poses
        )
        assets = [
            self.project.assets.put(m.data, m.mime, {**m.provenance, "scene": scene_id}, "frame")
            for m in media
        ]
        self.project.cache_put(cache_key, [a.sha256 for a in assets])
        return assets

    def _identity_references(self, gen: Any) -> dict[str, bytes]:
        """Each character's look for backends that condition on images (IP-Adapter): the latest
        expression reference a trainer stored, else the portrait. Empty for backends that take none."""
        import inspect

        if "references" not in inspect.signature(gen.frames).parameters:
            return {}
        from .training.references import references_for

        refs = references_for(self.project, "expression_ref")
        for c in self.project.cast:
            sha = c.portrait
            if c.name not in refs and sha and sha in self.project.assets:
                refs[c.name] = self.project.assets.get(sha).data
        return refs

    def voice_line(self, character: Any, text: str, seed: int = 0) -> Any:
        """``character`` (a name or a character) speaks ``text``: a WAV asset saved in the project.

        The character's ``voice`` settings (speed, variation, pitch, and a voice model of its own
        if it names one) shape the line. The same line again, with the same voice and seed, is the
        stored asset: nothing is spoken twice. Empty text raises
        :class:`~workbench.errors.InvalidInput`.

        ```python
        line = session.voice_line("Mara Quell", "Not tonight. Not with the lamp out.")
        line.mime  # 'audio/wav'
        ```
        """
        from .generate.media import make_voice_line

        char = self.project.cast[character] if isinstance(character, str) else character
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("give the line to speak")
        gen = self.voice_generator
        return self._cached_asset(
            ["voice", gen.fingerprint, char.data.get("voice"), text, seed],
            lambda: make_voice_line(gen, char, text, seed=seed),
            "voice",
        )

    def table_read(self, scene_or_branch: Any, seed: int = 0) -> Any:
        """The dialogue of a scene or branch, voiced line by line, joined into one WAV asset."""
        from .generate.media import make_table_read

        scenes = self.scenes_of(scene_or_branch)
        cast = {c.name: c for c in self.project.cast}
        lines: list[tuple[Any, str]] = []
        for sc in scenes:
            for line in parse_scene(sc.text, list(cast)).lines:
                lines.append((cast.get(line.character or ""), line.text))
        if not lines:
            raise InvalidInput("there is no dialogue to read in that scene")
        gen = self.voice_generator
        key = [
            "table_read",
            gen.fingerprint,
            [(c.name if c else None, c.data.get("voice") if c else None, t) for c, t in lines],
            seed,
        ]
        return self._cached_asset(key, lambda: make_table_read(gen, lines), "table_read")

    # ------------------------------------------------------------------ the take grid
    def writer_for(self, spec: str | None = None) -> Writer:
        """The :class:`Writer` for a text model spec (the session's own for ``None`` or its spec);
        each spec's model is loaded once, on first use."""
        if spec is None or spec == self.text_spec:
            return self.writer
        if spec not in self._writers:
            self._writers[spec] = Writer(self.project, spec=spec)
        return self._writers[spec]

    def take_grid(
        self,
        scene: Scene | str,
        models: Sequence[str] | None = None,
        temperatures: Sequence[float] = (0.8,),
        takes: int = 3,
        seed: int | None = None,
        branch: str | None = None,
        frames: int = 0,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
        structure: str | None = None,
        on_cell: Callable[[GridCell], None] | None = None,
        stop: threading.Event | None = None,
    ) -> TakeGrid:
        """Takes of one scene across models × seeds × temperatures, to compare side by side.

        Each row (a model at a temperature) is one batch of ``takes`` takes of ``seed``, so
        column ``i`` holds take ``i`` of the same seed in every row: the same plan and the same
        noise, with only the model or the temperature changed. Every take is saved with full
        provenance (a row is one transaction); ``frames`` storyboard frames are drawn from each
        take (0: none). ``on_cell`` hears each cell as it is done (a view fills in the grid);
        ``stop`` ends the grid after the row being written, keeping the rows done.

        >>> grid = session.take_grid("The Lamp Goes Dark", temperatures=(0.5, 1.0), takes=2)  # doctest: +SKIP
        """
        scene = self.scene(scene)
        models = list(models) if models else [self.text_spec]
        temps = [float(t) for t in temperatures]
        if not models or not temps:
            raise InvalidInput("a grid needs at least one model and one temperature")
        if len(set(models)) != len(models) or len(set(temps)) != len(temps):
            raise InvalidInput("name each model and each temperature once")
        for t in temps:
            if not 0.0 <= t <= 2.0:
                raise InvalidInput(f"a temperature is between 0 and 2, not {t}")
        if not isinstance(takes, int) or isinstance(takes, bool) or not 1 <= takes <= 8:
            raise InvalidInput(f"a grid row has between 1 and 8 takes, not {takes!r}")
        if not isinstance(frames, int) or not 0 <= frames <= 6:
            raise InvalidInput(f"draw between 0 and 6 storyboard frames per take, not {frames!r}")
        seed = self.writer.new_seed(seed)
        the_branch, path, choice = self._where(scene, branch)
        cap = config.cap_new_tokens(max_new_tokens)
        grid = TakeGrid(scene.id, models, temps, seed, takes)
        for model in models:
            writer = self.writer_for(model)
            for temp in temps:
                if stop is not None and stop.is_set():
                    return grid
                drafts = writer.write(
                    path[:-1],
                    title=scene.title,
                    choice=choice,
                    characters=scene.characters,
                    summary=scene.summary,
                    n=takes,
                    seed=seed,
                    max_new_tokens=cap,
                    stop=stop,
                    structure=structure,
                    temperature=temp,
                )
                drafts = [d for d in drafts if not d.stopped]
                known = {_grid_key(t.text, t.provenance): t for t in scene.takes if t.source == "model"}
                fresh = [d for d in drafts if _grid_key(d.text, d.provenance) not in known]
                saved = iter(
                    writer.save_takes(scene, fresh, path, the_branch, choose=False, extra={"grid": True})
                    if fresh
                    else []
                )
                for d in drafts:  # a cell asked for again is the take saved the first time
                    take = known.get(_grid_key(d.text, d.provenance)) or next(saved)
                    cell = GridCell(model, temp, int(d.provenance.get("take_index", 0)), take)
                    if frames:
                        cell.frames = self.take_frames(take, frames=frames, seed=seed)
                    grid.cells.append(cell)
                    if on_cell is not None:
                        on_cell(cell)
        return grid

    def grid_of(self, scene: Scene | str, seed: int | None = None, frames: int = 0) -> TakeGrid | None:
        """The grid of ``scene``'s saved takes of ``seed`` (default: the seed of its latest grid),
        rebuilt from the project: a row per model and temperature they were written with, a column
        per take index; ``frames``: with each take's storyboard frames. None when there is none."""
        scene = self.scene(scene)
        takes = [t for t in scene.takes if t.source == "model"]
        if seed is None:
            gridded = [t for t in takes if t.provenance.get("grid")]
            if not gridded:
                return None
            seed = int(gridded[-1].provenance["seed"])
        cells: dict[tuple[str, float, int], GridCell] = {}
        for t in takes:
            prov = t.provenance
            if prov.get("seed") != seed or "take_index" not in prov:
                continue
            spec = str(prov.get("spec") or self.text_spec)
            temp = float((prov.get("params") or {}).get("temperature", 0.8))
            cells[(spec, temp, int(prov["take_index"]))] = GridCell(spec, temp, int(prov["take_index"]), t)
        if not cells:
            return None
        models = list(dict.fromkeys(k[0] for k in cells))
        temps = sorted({k[1] for k in cells})
        grid = TakeGrid(scene.id, models, temps, seed, max(k[2] for k in cells) + 1)
        for key in sorted(cells, key=lambda k: (models.index(k[0]), k[1], k[2])):
            cell = cells[key]
            if frames:
                cell.frames = self.take_frames(cell.take, frames=frames, seed=seed)
            grid.cells.append(cell)
        return grid

    def take_frames(self, take: Take, frames: int = 2, seed: int = 0) -> list[Any]:
        """Storyboard frames drawn from one take's text (not only the chosen one), as assets."""
        return self._board(take.text, take.scene.id, frames, seed)

    def mark_auto_chosen(self, take: Take) -> None:
        """A program's pick (a report run choosing the take it generated): logged as ``rater="auto"``."""
        take.choose(AUTO_RATER)

    def __repr__(self) -> str:
        return f"Session({self.project!r}, text={self.text_spec!r}, image={self.image_spec!r}, voice={self.voice_spec!r})"
