"""``Session``: the one UI-free controller every surface calls (notebooks, CLI, reports, web app).

A session owns a project handle and the generators picked by model specs. Views call
its methods and re-render from the project; they hold no story state of their own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from . import config
from .errors import GenerationStopped, InvalidInput, StoryError
from .story.project import AUTO_RATER, DEFAULT_BRANCH, Project, Scene, Take, open_project
from .story.screenplay import parse_scene

DEFAULT_TAKES_TOKENS = 200
SUMMARY_TOKENS = 60
MAX_ATTEMPTS = 3  # resampling attempts when a take copies an earlier scene
MAX_ACTION = 500  # characters in a typed action / choice label

OUTLINE_SCHEMAS: dict[str, dict[str, Any]] = {
    "title": {
        "type": "object",
        "properties": {"title": {"type": "string", "minLength": 2, "maxLength": 60}},
        "required": ["title"],
    },
    "characters": {
        "type": "object",
        "properties": {
            "characters": {
                "type": "array",
                "minItems": 2,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 2, "maxLength": 30},
                        "description": {"type": "string", "minLength": 5, "maxLength": 160},
                        "personality": {"type": "string", "minLength": 3, "maxLength": 80},
                        "appearance": {"type": "string", "minLength": 5, "maxLength": 120},
                    },
                    "required": ["name", "description", "personality", "appearance"],
                },
            }
        },
        "required": ["characters"],
    },
    "scenes": {
        "type": "object",
        "properties": {
            "scenes": {
                "type": "array",
                "minItems": 3,
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 2, "maxLength": 50},
                        "summary": {"type": "string", "minLength": 5, "maxLength": 200},
                    },
                    "required": ["title", "summary"],
                },
            }
        },
        "required": ["scenes"],
    },
}


def choices_schema(k: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "choices": {
                "type": "array",
                "minItems": k,
                "maxItems": k,
                "items": {"type": "string", "minLength": 3, "maxLength": 80},
            }
        },
        "required": ["choices"],
    }


@dataclass
class Outline:
    """The outline written into the project: title, characters, scene list."""

    logline: str
    title: str = ""
    characters: list[dict[str, str]] = field(default_factory=list)
    scenes: list[dict[str, str]] = field(default_factory=list)

    def _repr_html_(self) -> str:
        chars = "".join(
            f"<li><b>{escape(c['name'])}</b>: {escape(c.get('description', ''))}</li>"
            for c in self.characters
        )
        scenes = "".join(
            f"<li><b>{escape(s['title'])}</b>: {escape(s.get('summary', ''))}</li>" for s in self.scenes
        )
        return (
            f"<div class='wb-outline'><h3>{escape(self.title)}</h3><p><i>{escape(self.logline)}</i></p>"
            f"<h4>Characters</h4><ul>{chars}</ul><h4>Scenes</h4><ol>{scenes}</ol></div>"
        )


def _request_key(
    fingerprint: dict[str, Any],
    prefix: str,
    suffix: str,
    params: dict[str, Any],
    seed: int,
    index: int,
    attempt: int,
) -> str:
    blob = json.dumps(
        [fingerprint, prefix, suffix, params, seed, index, attempt], sort_keys=True, default=str
    )
    return "gen:" + hashlib.sha256(blob.encode()).hexdigest()


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
        self._text_gen: Any = None
        self._image_gen: Any = None
        self._voice_gen: Any = None
        self._gen_lock = threading.Lock()
        self.last_context: Any = None

    # ------------------------------------------------------------------ generators (lazy)
    @property
    def text_generator(self) -> Any:
        if self._text_gen is None:
            from .generate.loading import load_text_generator

            self._text_gen = load_text_generator(self.text_spec)
        return self._text_gen

    @text_generator.setter
    def text_generator(self, gen: Any) -> None:
        self._text_gen = gen

    @property
    def image_generator(self) -> Any:
        if self._image_gen is None:
            from .generate.media import load_image_generator

            self._image_gen = load_image_generator(self.image_spec)
        return self._image_gen

    @property
    def voice_generator(self) -> Any:
        if self._voice_gen is None:
            from .generate.media import load_voice_generator

            self._voice_gen = load_voice_generator(self.voice_spec)
        return self._voice_gen

    def close(self) -> None:
        self.project.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ editing
    def scene(self, scene: Scene | str) -> Scene:
        return self.project.scene(scene)

    def _branch_for(self, scene: Scene, branch: str | None) -> str | None:
        if branch is not None:
            self.project.branches[branch]
            return branch
        names = self.project.branches.of(scene)
        if DEFAULT_BRANCH in names:
            return DEFAULT_BRANCH
        return names[0] if names else None

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
        choice = self._clean_action(choice)
        from_branch = self._branch_for(scene, branch)
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

    def connect(self, from_scene: Scene | str, to_scene: Scene | str, choice: str) -> Any:
        return self.project.connect(from_scene, to_scene, choice)

    def choose(self, take: Take, rater: str | None = None) -> Take:
        return take.choose(rater or self.rater)

    def rate(self, take: Take, stars: int, rater: str | None = None) -> Take:
        return take.rate(stars, rater or self.rater)

    def edit(self, take: Take, text: str, rater: str | None = None) -> Take:
        return take.edit(text, rater or self.rater)

    def undo(self) -> str:
        return self.project.undo()

    @staticmethod
    def _clean_action(text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("say what happens: the choice or action is empty")
        text = " ".join(text.split())
        if len(text) > MAX_ACTION:
            raise InvalidInput(f"keep the action under {MAX_ACTION} characters (this one has {len(text)})")
        return text

    # ------------------------------------------------------------------ context
    def _budget(self, gen: Any, max_new_tokens: int) -> int:
        return max(256, int(gen.context_window) - max_new_tokens - 32)

    def _summarise(self, gen: Any) -> Any:
        def summarise(scene: Scene) -> str:
            from .generate import prompts
            from .generate.base import TextRequest
            from .generate.context import summary_key

            text = scene.text
            if not text.strip():
                return ""
            key = summary_key(gen.fingerprint, text)
            cached = self.project.cache_get(key)
            if cached is not None:
                return cached
            req = TextRequest(
                prefix="You summarise screenplay scenes.",
                suffix=prompts.render(prompts.SUMMARY, text=text),
                n=1,
                seed=0,
                max_new_tokens=config.cap_new_tokens(SUMMARY_TOKENS),
                temperature=0.3,
            )
            out = gen.generate(req)[0].text.strip()
            self.project.cache_put(key, out)
            return out

        return summarise

    def _context_for(
        self,
        history: Sequence[Scene],
        title: str | None,
        choice: str | None,
        characters: Sequence[str],
        summary: str | None,
        max_new_tokens: int,
    ) -> Any:
        from .generate.context import assemble

        gen = self.text_generator
        return assemble(
            self.project,
            list(history),
            title=title,
            choice=choice,
            characters=characters,
            summary=summary,
            count_tokens=gen.count_tokens,
            budget=self._budget(gen, max_new_tokens),
            summarise=self._summarise(gen),
        )

    def context(
        self, scene: Scene | str, branch: str | None = None, max_new_tokens: int = DEFAULT_TAKES_TOKENS
    ) -> Any:
        """What goes into the prompt for (re)writing ``scene``: parts, token counts, total and budget."""
        scene = self.scene(scene)
        path = self.project.path(scene, self._branch_for(scene, branch))
        history = path[:-1]
        choice = None
        if history:
            choice = next((c.label for c, t in history[-1].children if t.id == scene.id), None)
        return self._context_for(
            history,
            scene.title,
            choice,
            scene.characters,
            scene.summary,
            config.cap_new_tokens(max_new_tokens),
        )

    # ------------------------------------------------------------------ text generation
    def _generate_takes(
        self,
        ctx: Any,
        n: int,
        seed: int,
        max_new_tokens: int,
        on_token: Any,
        stop: Any,
        recent: list[str],
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.8,
    ) -> list[tuple[Any, dict[str, Any]]]:
        """n results (from the generation cache where possible) with their provenance records."""
        from .generate.base import TextRequest
        from .generate.quality import repair_cast_names, too_similar, trim_loops

        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 16:
            raise InvalidInput(f"ask for between 1 and 16 takes, not {n!r}")
        gen = self.text_generator
        cast = [c.name for c in self.project.cast]
        base = TextRequest(
            prefix=ctx.prefix,
            suffix=ctx.suffix,
            n=n,
            seed=seed,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            json_schema=json_schema,
        )
        params = base.params()
        fp = gen.fingerprint
        results: list[Any] = [None] * n
        provs: list[dict[str, Any]] = [{} for _ in range(n)]
        attempts = [0] * n
        for i in range(n):
            hit = self.project.cache_get(_request_key(fp, ctx.prefix, ctx.suffix, params, seed, i, 0))
            if hit is not None:
                results[i] = hit
                attempts[i] = hit.get("attempt", 0)
                if on_token is not None:
                    on_token(i, hit["text"])
        for attempt in range(MAX_ATTEMPTS):
            todo = [i for i in range(n) if results[i] is None]
            if not todo:
                break
            first = todo[0]
            shifted = None
            if on_token is not None:

                def shifted(j: int, t: str, off: int = first) -> None:
                    on_token(off + j, t)

            req = TextRequest(
                prefix=ctx.prefix,
                suffix=ctx.suffix,
                n=n - first,
                seed=seed,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                json_schema=json_schema,
                attempt=attempt,
                take_offset=first,
                on_token=shifted,
                stop=stop,
            )
            with self._gen_lock:
                out = gen.generate(req)
            for j, r in enumerate(out):
                i = first + j
                if results[i] is not None:
                    continue
                text = r.text
                if json_schema is None:
                    text = trim_loops(text).strip()
                    text, fixes = repair_cast_names(text, cast)
                    if fixes:
                        provs[i]["name_fixes"] = fixes
                    copies = too_similar(text, recent)
                    if copies and attempt + 1 < MAX_ATTEMPTS and r.finish_reason != "stopped":
                        provs[i].setdefault("resampled", []).append(attempt)
                        continue  # resample as the next attempt
                rec = {
                    "text": text,
                    "raw": r.text,
                    "seed": r.seed,
                    "take_index": i,
                    "attempt": attempt,
                    "prompt_tokens": r.prompt_tokens,
                    "completion_tokens": r.completion_tokens,
                    "seconds": round(r.seconds, 4),
                    "first_token_seconds": None
                    if r.first_token_seconds is None
                    else round(r.first_token_seconds, 4),
                    "finish_reason": r.finish_reason,
                    "rendered_prompt": r.rendered_prompt,
                }
                results[i] = rec
                attempts[i] = attempt
                if r.finish_reason != "stopped":
                    self.project.cache_put(_request_key(fp, ctx.prefix, ctx.suffix, params, seed, i, 0), rec)
            if stop is not None and stop.is_set():
                break
        done = []
        for i in range(n):
            rec = results[i]
            if rec is None:
                continue
            prov = {
                "backend": fp.get("backend"),
                "model": fp.get("model"),
                "fingerprint": fp,
                "spec": self.text_spec,
                "params": params,
                "seed": seed,
                "take_seed": rec["seed"],
                "take_index": i,
                "attempt": rec["attempt"],
                "prompt": rec["rendered_prompt"] or (ctx.prefix + "\n\n" + ctx.suffix),
                "prompt_tokens": rec["prompt_tokens"],
                "completion_tokens": rec["completion_tokens"],
                "seconds": rec["seconds"],
                "first_token_seconds": rec["first_token_seconds"],
                "finish_reason": rec["finish_reason"],
                **provs[i],
            }
            done.append((rec, prov))
        return done

    def _new_seed(self, seed: int | None) -> int:
        if seed is None:
            return secrets.randbelow(2**31)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidInput(f"a seed is a whole number, not {seed!r}")
        return seed

    def write_scene(
        self,
        scene: Scene | str,
        n: int = 3,
        seed: int | None = None,
        branch: str | None = None,
        on_token: Any = None,
        stop: threading.Event | None = None,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
        choose: bool | None = None,
    ) -> list[Take]:
        """Generate ``n`` takes of ``scene`` and save them with full provenance (one transaction).

        Take ``i`` of seed ``s`` is the same whatever ``n`` is; a repeated request is served from
        the generation cache without running the model.
        """
        scene = self.scene(scene)
        seed = self._new_seed(seed)
        the_branch = self._branch_for(scene, branch)
        path = self.project.path(scene, the_branch)
        cap = config.cap_new_tokens(max_new_tokens)
        ctx = self.context(scene, the_branch, cap)
        self.last_context = ctx
        recent = [s.text for s in path[:-1][-3:]]
        results = self._generate_takes(ctx, n, seed, cap, on_token, stop, recent)
        if not results:
            raise GenerationStopped("generation was stopped before any take had text; nothing was saved")
        path_ids = [s.id for s in path]
        with self.project.transaction(f"write {len(results)} take(s) of {scene.title}"):
            takes = []
            for rec, prov in results:
                prov.update(
                    {
                        "path": path_ids,
                        "branch": the_branch,
                        "screenplay": parse_scene(rec["text"]).screenplay,
                    }
                )
                takes.append(scene.add_take(rec["text"], source="model", provenance=prov, choose=choose))
        return takes

    def continue_story(
        self,
        scene: Scene | str,
        choice: str,
        n: int = 1,
        seed: int | None = None,
        branch: str | None = None,
        title: str | None = None,
        on_token: Any = None,
        stop: threading.Event | None = None,
        max_new_tokens: int = DEFAULT_TAKES_TOKENS,
    ) -> Scene:
        """A new scene after ``scene`` where ``choice`` happens, with ``n`` takes; it becomes the branch's tip.

        Without ``branch`` the branch ending at ``scene`` grows (``main`` first); if none ends
        there, a new branch named after the choice is made. Nothing is saved if generation fails.
        """
        scene = self.scene(scene)
        choice = self._clean_action(choice)
        seed = self._new_seed(seed)
        if branch is None:
            tips = [b for b in self.project.branches if self.project.branches[b].tip == scene]
            branch = DEFAULT_BRANCH if DEFAULT_BRANCH in tips else (tips[0] if tips else None)
        elif self.project.branches[branch].tip != scene:
            raise StoryError(
                f"{scene.title!r} is not the last scene of branch {branch!r}; "
                "continue from its last scene, or fork a new branch here"
            )
        history = self.project.path(scene, branch if branch else self._branch_for(scene, None))
        cap = config.cap_new_tokens(max_new_tokens)
        new_title = self.project.unique_title(title or choice[:60])
        chars = scene.characters
        ctx = self._context_for(history, new_title, choice, chars, None, cap)
        self.last_context = ctx
        results = self._generate_takes(ctx, n, seed, cap, on_token, stop, [s.text for s in history[-3:]])
        if not results:
            raise GenerationStopped("generation was stopped before any text arrived; nothing was saved")
        with self.project.transaction(f"continue after {scene.title}"):
            if branch is None:
                branch = self.project.unique_branch_name(choice[:40])
                self.project.set_branch(branch, scene, from_branch=self._branch_for(scene, None))
            new = self.project.add_scene(
                new_title, after=scene, choice=choice, characters=chars, branch=branch
            )
            path_ids = [s.id for s in history] + [new.id]
            for rec, prov in results:
                prov.update(
                    {"path": path_ids, "branch": branch, "screenplay": parse_scene(rec["text"]).screenplay}
                )
                new.add_take(rec["text"], source="model", provenance=prov)
        return new

    def play(self, start: Scene | str | None = None, branch: str | None = None, **options: Any) -> Any:
        """A reader's walk from ``start`` (default: the first scene) extending ``branch`` (default: a new
        ``play N``); options (``k``, ``seed``, ``pregenerate``, ``continuity``) go to :class:`~workbench.play.Play`."""
        from .play.core import Play

        return Play(self, start, branch, **options)

    # ------------------------------------------------------------------ structured generation
    def _structured(
        self, prefix: str, suffix: str, schema: dict[str, Any], seed: int, max_new_tokens: int = 400
    ) -> dict[str, Any]:
        from .generate.base import TextRequest
        from .generate.structured import extract_json

        gen = self.text_generator
        fp = gen.fingerprint
        req = TextRequest(
            prefix=prefix,
            suffix=suffix,
            n=1,
            seed=seed,
            max_new_tokens=max_new_tokens,
            temperature=0.7,
            json_schema=schema,
        )
        key = _request_key(fp, prefix, suffix, req.params(), seed, 0, 0)
        hit = self.project.cache_get(key)
        if hit is not None:
            return hit
        with self._gen_lock:
            out = gen.generate(req)[0]
        value = extract_json(out.text, schema)  # raises InvalidOutput with the reason
        self.project.cache_put(key, value)
        return value

    def suggest_choices(
        self, scene: Scene | str, k: int = 3, seed: int | None = None, branch: str | None = None
    ) -> list[str]:
        """``k`` short suggestions for what could happen next (structured output, validated)."""
        from .generate import prompts

        scene = self.scene(scene)
        if not isinstance(k, int) or not 1 <= k <= 6:
            raise InvalidInput("ask for between 1 and 6 suggestions")
        seed = self._new_seed(seed)
        text = scene.text.strip() or f"(The scene '{scene.title}' has no text yet.)"
        system = prompts.render(
            prompts.SYSTEM, style=self.project.style, title=self.project.title, logline=self.project.logline
        )
        value = self._structured(
            system,
            prompts.render(prompts.CHOICES, text=text[-2000:], k=k),
            choices_schema(k),
            seed,
            max_new_tokens=60 * k,
        )
        out: list[str] = []
        for c in value["choices"]:
            c = " ".join(c.split()).strip(" .")
            if c and c.casefold() not in {o.casefold() for o in out}:
                out.append(c)
        return out

    def outline(self, logline: str, seed: int | None = None) -> Outline:
        """Dramatron-style: title, then characters, then a scene list, each written into the project.

        Scenes are added as a linear ``main`` branch with their summaries and no takes yet
        (``write_scene`` drafts them). The project must have no scenes yet.
        """
        logline = self._clean_action(logline) if len(logline or "") <= MAX_ACTION else logline.strip()
        if not logline:
            raise InvalidInput("an outline needs a logline")
        if self.project.scenes:
            raise StoryError("this project already has scenes; outline a new project, or use regenerate()")
        seed = self._new_seed(seed)
        self.project.logline = logline
        self.project._set_meta("outline_seed", str(seed))
        for level in ("title", "characters", "scenes"):
            self.regenerate(level, seed=seed)
        return self.current_outline()

    def current_outline(self) -> Outline:
        p = self.project
        chars = [
            {
                "name": c.name,
                "description": c.description,
                "personality": c.personality,
                "appearance": c.appearance,
            }
            for c in p.cast
        ]
        scenes = [{"title": s.title, "summary": s.summary or ""} for s in p.scenes]
        return Outline(p.logline, p.title, chars, scenes)

    def regenerate(self, outline_level: str, seed: int | None = None) -> Outline:
        """Regenerate one outline level from the levels above it, as they are now (edits included)."""
        from .generate import prompts

        if outline_level not in OUTLINE_SCHEMAS:
            raise InvalidInput(f"outline levels are {', '.join(OUTLINE_SCHEMAS)}, not {outline_level!r}")
        seed = self._new_seed(seed)
        p = self.project
        system = "You are a story developer. You answer only with JSON."
        schema = OUTLINE_SCHEMAS[outline_level]
        if outline_level == "title":
            value = self._structured(
                system, prompts.render(prompts.OUTLINE_TITLE, logline=p.logline), schema, seed, 60
            )
            p.title = " ".join(value["title"].split()).strip(" \"'")
        elif outline_level == "characters":
            value = self._structured(
                system,
                prompts.render(prompts.OUTLINE_CHARACTERS, title=p.title, logline=p.logline, k=3),
                schema,
                seed,
                500,
            )
            with p.transaction("outline characters"):
                for c in list(p.cast):
                    if "outline" in (c.tags or []):
                        p.cast.remove(c.id)
                seen: set[str] = {c.name.casefold() for c in p.cast}
                for c in value["characters"]:
                    name = " ".join(c["name"].split()).strip(" .")
                    if not name or name.casefold() in seen:
                        continue
                    seen.add(name.casefold())
                    p.cast.add(
                        name,
                        description=c["description"].strip(),
                        personality=c["personality"].strip(),
                        appearance=c["appearance"].strip(),
                        tags=["outline"],
                    )
        else:
            chars = [{"name": c.name, "description": c.description} for c in p.cast]
            value = self._structured(
                system,
                prompts.render(
                    prompts.OUTLINE_SCENES, title=p.title, logline=p.logline, characters=chars, k=4
                ),
                schema,
                seed,
                600,
            )
            with p.transaction("outline scenes"):
                outlined = [s for s in p.scenes if "outline" in s.tags]
                if any(s.takes for s in outlined):
                    raise StoryError(
                        "some outlined scenes already have takes; delete them before regenerating "
                        "the scene list"
                    )
                for s in reversed(outlined):
                    if s.exists:
                        p.delete(s)
                names = [c.name for c in p.cast]
                prev = None
                for item in value["scenes"]:
                    title = p.unique_title(item["title"].strip(" .") or "Scene")
                    summary = " ".join(item["summary"].split())
                    present = [
                        n for n in names if any(part.casefold() in summary.casefold() for part in n.split())
                    ]
                    sc = p.add_scene(
                        title,
                        after=prev,
                        choice=title if prev else None,
                        characters=present,
                        tags=["outline"],
                    )
                    p.set_summary(sc, summary)
                    prev = sc
        return self.current_outline()

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
        from .generate.media import make_storyboard

        scenes = self._scenes_of(scene_or_branch)
        gen = self.image_generator
        chars = list(self.project.cast)
        refs = self._identity_references(gen)
        out: list[Any] = []
        for sc in scenes:
            text = sc.text
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
                out.extend(self.project.assets.get(s) for s in cached)
                continue
            media = make_storyboard(
                gen, text, chars, frames=frames, seed=seed, references=refs or None, poses=poses
            )
            assets = [
                self.project.assets.put(m.data, m.mime, {**m.provenance, "scene": sc.id}, "frame")
                for m in media
            ]
            self.project.cache_put(cache_key, [a.sha256 for a in assets])
            out.extend(assets)
        return out

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

        scenes = self._scenes_of(scene_or_branch)
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

    def scenes_of(self, scene_or_branch: Any) -> list[Scene]:
        """The scenes a scene-or-branch argument names: ``[scene]`` for a scene (or its title or id),
        the branch's scenes for a branch (or its name)."""
        if isinstance(scene_or_branch, Scene):
            return [scene_or_branch]
        if isinstance(scene_or_branch, str) and scene_or_branch in self.project.branches:
            return self.project.branches[scene_or_branch].scenes
        if hasattr(scene_or_branch, "scene_ids"):
            return scene_or_branch.scenes
        return [self.scene(scene_or_branch)]

    def _scenes_of(self, scene_or_branch: Any) -> list[Scene]:
        return self.scenes_of(scene_or_branch)

    def mark_auto_chosen(self, take: Take) -> None:
        """A program's pick (a report run choosing the take it generated): logged as ``rater="auto"``."""
        take.choose(AUTO_RATER)

    def __repr__(self) -> str:
        return f"Session({self.project!r}, text={self.text_spec!r}, image={self.image_spec!r}, voice={self.voice_spec!r})"
