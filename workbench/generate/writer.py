"""``Writer``: the generation engine that :class:`~workbench.session.Session` and the player share.

A writer holds a project and a text generator. It assembles prompts (context), draws
takes (cached per take in the project's generation cache, resampled when a take copies
an earlier scene), makes structured calls (JSON under a schema, validated), suggests
choices, and saves what it wrote in one transaction. It owns the generation lock, so a
session's editor and a play in the same process never drive the model at once.

    >>> from workbench import open_project                     # doctest: +SKIP
    >>> writer = Writer(open_project("story.story"))            # doctest: +SKIP
    >>> ctx = writer.context("The Lamp Goes Dark")              # doctest: +SKIP
    >>> drafts = writer.takes(ctx, n=2, seed=7)                 # doctest: +SKIP
    >>> writer.save_takes(project.scene("The Lamp Goes Dark"), drafts, path=..., branch="main")  # doctest: +SKIP

Nothing here knows about sessions, plays or views: they call the writer.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..errors import GenerationStopped, InvalidInput
from ..seeding import new_seed
from ..story.continuity import Continuity, SceneContinuity, derive, who_dies
from ..story.project import Project, Scene, Take
from ..story.screenplay import parse_scene
from .base import OnToken, TextGenerator, TextRequest
from .context import ContextPart, ContextView, assemble, summary_key
from .names import language_of
from .plan import ScenePlan, beat_from_instruction, plan_schema
from .scene_grammar import ScreenplaySpec

__all__ = [
    "DEFAULT_TAKES_TOKENS",
    "Draft",
    "MAX_ACTION",
    "MAX_ATTEMPTS",
    "SUMMARY_TOKENS",
    "Writer",
    "choices_schema",
    "clean_action",
    "clean_choice",
    "request_key",
]

DEFAULT_TAKES_TOKENS = 200
SUMMARY_TOKENS = 60
MAX_ATTEMPTS = 3  # resampling attempts when a take copies an earlier scene
MAX_ACTION = 500  # characters in a typed action / choice label
CHOICE_TOKENS = 60  # new tokens per suggested choice
PLAN_TOKENS = 90  # new tokens for a scene plan (raised to what its schema needs)


def request_key(
    fingerprint: dict[str, Any],
    prefix: str,
    suffix: str,
    params: dict[str, Any],
    seed: int,
    index: int,
    attempt: int,
) -> str:
    """The generation-cache key of one take (or one structured value) of a request.

    The formula is fixed: cached takes in existing project files are found by it.
    """
    blob = json.dumps(
        [fingerprint, prefix, suffix, params, seed, index, attempt], sort_keys=True, default=str
    )
    return "gen:" + hashlib.sha256(blob.encode()).hexdigest()


def clean_action(text: Any) -> str:
    """A reader's move or a choice label as one clean line; :class:`InvalidInput` when empty or too long."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("say what happens: the choice or action is empty")
    text = " ".join(text.split())
    if len(text) > MAX_ACTION:
        raise InvalidInput(f"keep the action under {MAX_ACTION} characters (this one has {len(text)})")
    return text


def clean_choice(raw: str, story: str | None = None) -> str | None:
    """A suggested choice as a short plain action, or None when it is not one (markup, numbering, junk).

    ``story``: text of the story it is offered in. A choice with a letter that is neither plain
    ASCII nor anywhere in it (another alphabet, another language's letters) is dropped.

    >>> clean_choice("2. Mara lights the lamp.")
    'Mara lights the lamp'
    >>> clean_choice("Mara light og talet fer leke efterst eller klä", story="Mara keeps the light.") is None
    True
    """
    text = re.sub(r"[{}\[\]<>|#*_`\\]", " ", raw)
    text = re.sub(r"^\s*(?:\d+\s*[.):-]|[-•])\s*", "", text)
    text = " ".join(text.split()).strip(" .,:;\"'")
    words = re.findall(r"[^\W\d_]{2,}", text)
    letters = sum(ch.isalpha() for ch in text)
    tokens = text.split()
    if (
        len(words) < 2
        or not 2 <= len(tokens) <= 14
        or max(map(len, tokens)) > 25
        or letters < 0.6 * max(1, len(text.replace(" ", "")))
        or len(text) > 120
    ):
        return None
    if story is not None:
        known = {ch.casefold() for ch in story if ch.isalpha()}
        if any(ch.isalpha() and not ch.isascii() and ch.casefold() not in known for ch in text):
            return None
    return text[0].upper() + text[1:]


def choices_schema(k: int, who: Sequence[str] = (), names: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON schema of ``k`` suggested choices.

    With ``who`` (the living cast, those in the scene first) each choice is chosen, not spelled:
    a character from ``who`` and what they do (prose that goes on after the name, where the only
    capitalised words are ``names``), so a suggestion is an action of somebody in the story,
    never markup, a stranger or a shout. Without, a short free string.
    """
    if not who:
        item: dict[str, Any] = {"type": "string", "minLength": 3, "maxLength": 80}
        unique: dict[str, Any] = {}
    else:
        item = {
            "type": "object",
            "properties": {
                "who": {"enum": list(who)},
                "does": {
                    "type": "string",
                    "minLength": 10,
                    "maxLength": 60,
                    "x-format": "predicate",
                    "x-names": sorted({*who, *names}),
                },
            },
            "required": ["who", "does"],
        }
        unique = {"x-unique-key": "does"}
    return {
        "type": "object",
        "properties": {"choices": {"type": "array", "minItems": k, "maxItems": k, "items": item, **unique}},
        "required": ["choices"],
    }


def choice_label(value: Any, cast: Sequence[str]) -> str:
    """A suggested choice as the words a reader clicks: ``{"who": "Mara Quell", "does": "climbs the
    tower."}`` becomes "Mara climbs the tower" (the first name when no one else in ``cast`` has it).

    >>> choice_label({"who": "Mara Quell", "does": "climbs the tower."}, ["Mara Quell", "Ines Quell"])
    'Mara climbs the tower'
    """
    if not isinstance(value, dict):
        return str(value)
    who = str(value.get("who", "")).strip()
    first = who.split()[0] if who else ""
    if first and sum(1 for n in cast if n.split()[:1] == [first]) == 1:
        who = first
    return f"{who} {str(value.get('does', '')).strip()}".strip().rstrip(".!?\u2026")


@dataclass
class Draft:
    """One generated take, not saved yet: the cached record and its provenance."""

    record: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    context: ContextView | None = None  # the prompt it was written from (not saved)

    @property
    def text(self) -> str:
        return str(self.record["text"])

    @property
    def finish_reason(self) -> str:
        return str(self.record.get("finish_reason", ""))

    @property
    def stopped(self) -> bool:
        return self.finish_reason == "stopped"


class Writer:
    """Prompt assembly, takes, structured calls, suggestions and saving, over one project and model.

    ``generator`` is a :class:`~workbench.generate.base.TextGenerator`, or None to load
    ``spec`` (a model spec string) on first use.
    """

    def __init__(
        self, project: Project, generator: TextGenerator | None = None, spec: str = "default"
    ) -> None:
        self.project = project
        self.spec = spec
        self._generator = generator
        self.lock = threading.Lock()  # one generation at a time through this writer
        self.last_context: ContextView | None = None

    # ------------------------------------------------------------------ the model
    @property
    def generator(self) -> TextGenerator:
        """The text generator (loaded from ``spec`` on first use)."""
        if self._generator is None:
            from .loading import load_text_generator

            self._generator = load_text_generator(self.spec)
        return self._generator

    @generator.setter
    def generator(self, gen: TextGenerator | None) -> None:
        self._generator = gen

    @property
    def loaded(self) -> bool:
        """Whether a generator is loaded (or was given)."""
        return self._generator is not None

    # ------------------------------------------------------------------ inputs
    new_seed = staticmethod(new_seed)
    clean_action = staticmethod(clean_action)

    def branch_for(self, scene: Scene, branch: str | None) -> str | None:
        """``branch`` (checked to exist), else the branch a scene is read along by default."""
        if branch is not None:
            self.project.branches[branch]
            return branch
        return self.project.branches.default_for(scene)

    # ------------------------------------------------------------------ context
    def budget(self, max_new_tokens: int) -> int:
        """Prompt tokens available when ``max_new_tokens`` are to be written."""
        return max(256, int(self.generator.context_window) - max_new_tokens - 32)

    def summarise(self, scene: Scene) -> str:
        """A short summary of a scene's chosen text (cached in the project per model and text)."""
        from . import prompts

        text = scene.text
        if not text.strip():
            return ""
        gen = self.generator
        key = summary_key(gen.fingerprint, text)
        cached = self.project.cache_get(key)
        if cached is not None:
            return str(cached)
        req = TextRequest(
            prefix="You summarise screenplay scenes.",
            suffix=prompts.render(prompts.SUMMARY, text=text),
            n=1,
            seed=0,
            max_new_tokens=config.cap_new_tokens(SUMMARY_TOKENS),
            temperature=0.3,
        )
        with self.lock:
            out = gen.generate(req)[0].text.strip()
        self.project.cache_put(key, out)
        return out

    def context_for(
        self,
        history: Sequence[Scene],
        title: str | None,
        choice: str | None,
        characters: Sequence[str],
        summary: str | None,
        max_new_tokens: int,
        extra: Sequence[ContextPart] = (),
    ) -> ContextView:
        """The context for a scene that follows ``history``; ``extra`` parts go before the instruction."""
        gen = self.generator
        extra_tokens = sum(p.tokens for p in extra)
        ctx = assemble(
            self.project,
            list(history),
            title=title,
            choice=choice,
            characters=characters,
            summary=summary,
            count_tokens=gen.count_tokens,
            budget=self.budget(max_new_tokens + extra_tokens),
            summarise=self.summarise,
        )
        if extra:
            at = next((i for i, p in enumerate(ctx.parts) if p.name == "instruction"), len(ctx.parts))
            ctx.parts[at:at] = list(extra)
        return ctx

    def context(
        self, scene: Scene | str, branch: str | None = None, max_new_tokens: int = DEFAULT_TAKES_TOKENS
    ) -> ContextView:
        """What goes into the prompt for (re)writing ``scene``: parts, token counts, total and budget."""
        scene = self.project.scene(scene)
        path = self.project.path(scene, self.branch_for(scene, branch))
        history = path[:-1]
        choice = None
        if history:
            choice = next((c.label for c, t in history[-1].children if t.id == scene.id), None)
        return self.context_for(
            history,
            scene.title,
            choice,
            scene.characters,
            scene.summary,
            config.cap_new_tokens(max_new_tokens),
        )

    # ------------------------------------------------------------------ takes
    def takes(
        self,
        ctx: ContextView,
        n: int,
        seed: int,
        max_new_tokens: int,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        recent: Sequence[str] = (),
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.8,
        grammars: Sequence[dict[str, Any]] | None = None,
        continue_from: str = "",
    ) -> list[Draft]:
        """``n`` takes for the prompt ``ctx`` (from the generation cache where possible), with provenance.

        ``continue_from``: the start of the answer, already written; each take is what comes next.

        A take that copies one of the ``recent`` scene texts is resampled as the next attempt
        (up to :data:`MAX_ATTEMPTS`); decoding loops are trimmed and near-miss cast names
        repaired. ``grammars`` gives take ``i`` its own screenplay grammar (a
        :class:`~workbench.generate.scene_grammar.ScreenplaySpec` as a dict). A stopped take
        comes back with ``finish_reason="stopped"`` and is not cached.
        """
        from .quality import end_on_sentence, repair_cast_names, repair_names_in_text, too_similar, trim_loops

        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 16:
            raise InvalidInput(f"ask for between 1 and 16 takes, not {n!r}")
        gen = self.generator
        cast = [c.name for c in self.project.cast]
        prefix, suffix = ctx.prefix, ctx.suffix
        params = TextRequest(
            prefix=prefix,
            suffix=suffix,
            n=n,
            seed=seed,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            json_schema=json_schema,
            continue_from=continue_from,
        ).params()
        fp = gen.fingerprint
        if grammars is not None and len(grammars) < n:
            raise InvalidInput(f"{n} takes need {n} screenplay grammars, not {len(grammars)}")

        def key(i: int) -> str:
            take_params = params if grammars is None else {**params, "grammar": grammars[i]}
            return request_key(fp, prefix, suffix, take_params, seed, i, 0)

        results: list[dict[str, Any] | None] = [None] * n
        provs: list[dict[str, Any]] = [{} for _ in range(n)]
        for i in range(n):
            hit = self.project.cache_get(key(i))
            if hit is not None:
                results[i] = hit
                if on_token is not None:
                    on_token(i, hit["text"])
        for attempt in range(MAX_ATTEMPTS):
            todo = [i for i in range(n) if results[i] is None]
            if not todo:
                break
            first = todo[0]
            shifted: OnToken | None = None
            if on_token is not None:

                def shifted(j: int, t: str, off: int = first) -> None:
                    on_token(off + j, t)

            req = TextRequest(
                prefix=prefix,
                suffix=suffix,
                n=n - first,
                seed=seed,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                json_schema=json_schema,
                grammar=list(grammars) if grammars is not None else None,
                attempt=attempt,
                take_offset=first,
                on_token=shifted,
                stop=stop,
                continue_from=continue_from,
            )
            with self.lock:
                out = gen.generate(req)
            for j, r in enumerate(out):
                i = first + j
                if results[i] is not None:
                    continue
                text = r.text
                if grammars is not None:
                    text, fixes = repair_names_in_text(text.strip(), cast)
                    if fixes:
                        provs[i]["name_fixes"] = fixes
                    if (
                        too_similar(text, list(recent))
                        and attempt + 1 < MAX_ATTEMPTS
                        and r.finish_reason != "stopped"
                    ):
                        provs[i].setdefault("resampled", []).append(attempt)
                        continue
                elif json_schema is None:
                    text = trim_loops(text).strip()
                    if r.finish_reason == "length":  # cut by the cap: end on a sentence, not mid-word
                        text = end_on_sentence(text)
                    text, fixes = repair_cast_names(text, cast)
                    if fixes:
                        provs[i]["name_fixes"] = fixes
                    if (
                        too_similar(text, list(recent))
                        and attempt + 1 < MAX_ATTEMPTS
                        and r.finish_reason != "stopped"
                    ):
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
                if r.finish_reason != "stopped":
                    self.project.cache_put(key(i), rec)
            if stop is not None and stop.is_set():
                break
        drafts = []
        for i, done in enumerate(results):
            if done is None:
                continue
            rec = done
            prov: dict[str, Any] = {
                "backend": fp.get("backend"),
                "model": fp.get("model"),
                "fingerprint": fp,
                "spec": getattr(gen, "spec", self.spec),
                "params": params,
                "seed": seed,
                "take_seed": rec["seed"],
                "take_index": i,
                "attempt": rec["attempt"],
                "prompt": rec["rendered_prompt"] or (prefix + "\n\n" + suffix),
                "prompt_tokens": rec["prompt_tokens"],
                "completion_tokens": rec["completion_tokens"],
                "seconds": rec["seconds"],
                "first_token_seconds": rec["first_token_seconds"],
                "finish_reason": rec["finish_reason"],
                **provs[i],
            }
            drafts.append(Draft(rec, prov))
        return drafts

    # ------------------------------------------------------------------ scenes
    def structure_for(self, structure: str | None) -> str:
        """``"screenplay"`` (plan, then a screenplay grammar) or ``"free"`` (free text).

        ``None``/``"auto"``: structured wherever the backend can enforce the grammar (the local
        backend; servers with a grammar preset), free text elsewhere.
        """
        if structure in (None, "auto"):
            gen = self.generator
            able = getattr(gen, "supports_grammar", None)
            return "screenplay" if (able() if callable(able) else bool(able)) else "free"
        if structure not in ("screenplay", "structured", "free"):
            raise InvalidInput(f"structure is 'screenplay', 'free' or 'auto', not {structure!r}")
        return "free" if structure == "free" else "screenplay"

    def continuity(self, history: Sequence[Scene]) -> SceneContinuity | None:
        """Continuity after the last scene of ``history`` (rules plus the writer's corrections)."""
        if not history:
            return None
        cast = [c.name for c in self.project.cast]
        lore = [e.content for e in self.project.lore]
        states = derive(
            [(s.id, s.title, s.text, s.characters) for s in history],
            cast,
            lore,
            Continuity(self.project).overrides,
        )
        return states[-1]

    def scene_inputs(
        self, history: Sequence[Scene], instruction: str | None, characters: Sequence[str]
    ) -> dict[str, Any]:
        """Who is alive and dead, who the instruction names, the protagonist, the opening beat and
        the last place: what a plan is built from. A move whose subject is dead is refused."""
        cast = [c.name for c in self.project.cast]
        if not cast:
            raise InvalidInput("the story has no characters yet: add at least one to the cast before writing")
        state = self.continuity(history)
        dead = [n for n in cast if state is not None and not state.characters[n].alive]
        alive = [n for n in cast if n not in dead]
        named = _named(instruction or "", cast)
        if instruction and named and named[0] in dead and _subject_is(instruction, named[0]):
            raise InvalidInput(
                f"{named[0]} is dead at this point of the story, so they cannot do that. "
                "Pick another action, or correct continuity if they should be alive"
            )
        listed = [c for c in characters if c in alive]
        present = list(state.present) if state is not None else []
        protagonist = next((n for n in named if n in alive), next(iter(listed or present or alive), None))
        must = [n for n in named if n in alive]
        first = beat_from_instruction(instruction, protagonist, cast) if instruction else None
        names = set(cast)
        for e in self.project.lore:
            names.update(k for k in e.keys if k[:1].isupper())
            if e.name[:1].isupper():
                names.add(e.name)
        for text in (self.project.title, state.location if state is not None and state.location else ""):
            names.update(w.capitalize() if w.isupper() else w for w in text.split() if len(w) > 2)
        return {
            "names": sorted(n for n in names if n),
            "cast": cast,
            "alive": alive,
            "dead": dead,
            "must": must,
            "protagonist": protagonist,
            "first": first or None,
            "dying": who_dies(first, alive) if first else [],
            "place": state.location if state is not None else None,
            "language": language_of(
                [
                    self.project.logline,
                    *(c.description for c in self.project.cast),
                    *(s.text for s in history[-2:]),
                ]
            ),
            "listed": listed,
        }

    def plans(
        self,
        ctx: ContextView,
        n: int,
        seed: int,
        inputs: dict[str, Any],
        title: str | None,
        stop: threading.Event | None = None,
        on_plan: OnToken | None = None,
    ) -> list[ScenePlan]:
        """One plan per take (take ``i``'s plan is the same whatever ``n`` is), under a JSON schema,
        then checked and repaired by rules. ``on_plan(take_index, piece)`` hears each plan's JSON
        as it is written (:func:`.plan.plan_preview` makes a line a writer reads of it)."""
        from . import prompts
        from .structured import validate

        alive = inputs["alive"]
        if not alive:
            raise InvalidInput(
                "everybody in the cast is dead at this point: nobody is left to be in the scene"
            )
        schema = plan_schema(alive, inputs["first"], inputs["names"])
        suffix = prompts.render(
            prompts.PLAN,
            title=title,
            first=inputs["first"],
            alive=alive,
            dead=inputs["dead"],
            place=inputs["place"],
        )
        plan_ctx = ContextView(
            [p for p in ctx.parts if p.in_prefix] + [ContextPart("plan request", suffix, 0, False)],
            ctx.budget,
        )
        drafts = self.takes(
            plan_ctx, n, seed, PLAN_TOKENS, on_plan, stop=stop, json_schema=schema, temperature=0.7
        )
        if len(drafts) < n or any(d.stopped for d in drafts):
            raise GenerationStopped("planning was stopped before every take had a plan; nothing was saved")
        out = []
        for d in drafts:
            value = validate(json.loads(d.text), schema)
            out.append(
                ScenePlan.from_model(
                    value,
                    alive,
                    inputs["must"]
                    or ([inputs["protagonist"]] if inputs["first"] and inputs["protagonist"] else []),
                    inputs["dead"],
                    inputs["place"],
                    first=inputs["first"],
                    language=inputs.get("language"),
                    dying=inputs.get("dying", ()),
                )
            )
        return out

    def write(
        self,
        history: Sequence[Scene],
        *,
        title: str | None,
        choice: str | None,
        characters: Sequence[str],
        summary: str | None,
        n: int,
        seed: int,
        max_new_tokens: int,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
        structure: str | None = None,
        plan: ScenePlan | dict[str, Any] | None = None,
        extra: Sequence[ContextPart] = (),
        on_plan: OnToken | None = None,
        temperature: float = 0.8,
    ) -> list[Draft]:
        """``n`` takes of the scene that follows ``history`` (not saved).

        Structured (the default where the backend can enforce it): a plan per take, then the
        screenplay under the plan's grammar; each take's provenance holds its plan and
        ``"structure": "screenplay"``. ``plan`` (e.g. one the writer edited) is used for every
        take instead of planning. ``structure="free"``: free text, as large models write it.
        ``temperature`` is the scene text's (plans keep their own, so takes of one seed at two
        temperatures share their plan and differ in the wording).
        """
        mode = self.structure_for(structure)
        recent = [s.text for s in history[-3:]]
        if mode == "free":
            ctx = self.context_for(history, title, choice, characters, summary, max_new_tokens, extra)
            self.last_context = ctx
            drafts = self.takes(ctx, n, seed, max_new_tokens, on_token, stop, recent, temperature=temperature)
            for d in drafts:
                d.provenance["structure"] = "free"
                d.context = ctx
            return drafts
        from . import prompts

        instruction = summary or choice
        inputs = self.scene_inputs(history, instruction, characters)
        base = self.context_for(history, title, choice, characters, summary, max_new_tokens, extra)
        if plan is not None:
            fixed = plan if isinstance(plan, ScenePlan) else ScenePlan.from_dict(plan)
            unknown = [c for c in fixed.characters if c not in inputs["alive"]]
            if unknown:
                raise InvalidInput(
                    f"the plan names {', '.join(unknown)}, who is not a living member of the cast here"
                )
            plans = [fixed] * n
        else:
            plans = self.plans(base, n, seed, inputs, title, stop, on_plan)
        gen = self.generator
        max_blocks = max(2, min(10, (max_new_tokens - 40) // 22))
        specs = [p.grammar(max_blocks, inputs["names"], all_beats=plan is not None) for p in plans]
        self._check_spelling(specs)
        scene_text = prompts.render(
            prompts.SCENE, title=title, first=plans[0].beats[0], characters=plans[0].characters
        )
        parts = [p for p in base.parts if p.name != "instruction"]
        parts.append(ContextPart("instruction", scene_text, gen.count_tokens(scene_text), False))
        plan_text = "\n".join(
            [
                f"take {i + 1}: {p.heading}; " + " / ".join(p.beats) + f" ({', '.join(p.characters)})"
                for i, p in enumerate(plans)
            ]
        )
        parts.append(
            ContextPart("plan", plan_text, 0, False, "enforced by the screenplay grammar", sent=False)
        )
        ctx = ContextView(parts, base.budget, base.lore_fired, base.summarised, base.notes)
        self.last_context = ctx
        drafts = self.takes(
            ctx,
            n,
            seed,
            max_new_tokens,
            on_token,
            stop,
            recent,
            temperature=temperature,
            grammars=[s.to_dict() for s in specs],
        )
        for d in drafts:
            i = int(d.provenance.get("take_index", 0))
            d.provenance["structure"] = "screenplay"
            d.provenance["plan"] = plans[i].to_dict()
            d.context = ctx
        return drafts

    def _check_spelling(self, specs: Sequence[ScreenplaySpec]) -> None:
        """Refuse up front what the model's tokenizer cannot write (a cast name, a heading, a beat)."""
        vocab = getattr(self.generator, "vocab", None)
        if not callable(vocab):
            return
        v = vocab()
        for spec in specs:
            for text, what in (
                [(c, "the cue") for c in spec.cues]
                + [(spec.heading, "the heading")]
                + [(b, "the beat") for b in spec.beats]
            ):
                if not v.can_spell(text):
                    raise InvalidInput(
                        f"this model's tokenizer cannot write {what} {text!r}: spell it with letters the "
                        "model knows, or use another model"
                    )

    # ------------------------------------------------------------------ structured calls
    def structured(
        self,
        prefix: str,
        suffix: str,
        schema: dict[str, Any],
        seed: int,
        max_new_tokens: int = 400,
        stop: threading.Event | None = None,
        temperature: float = 0.7,
    ) -> Any:
        """A JSON value matching ``schema`` (cached per request); :class:`InvalidOutput` when the
        model's answer does not match, :class:`GenerationStopped` when ``stop`` was set."""
        from .structured import extract_json

        gen = self.generator
        req = TextRequest(
            prefix=prefix,
            suffix=suffix,
            n=1,
            seed=seed,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            json_schema=schema,
            stop=stop,
        )
        key = request_key(gen.fingerprint, prefix, suffix, req.params(), seed, 0, 0)
        hit = self.project.cache_get(key)
        if hit is not None:
            return hit
        with self.lock:
            out = gen.generate(req)[0]
        if out.finish_reason == "stopped" or (stop is not None and stop.is_set()):
            raise GenerationStopped("the structured answer was stopped before it was finished")
        value = extract_json(out.text, schema)  # raises InvalidOutput with the reason
        self.project.cache_put(key, value)
        return value

    def suggest_choices(
        self, scene: Scene | str, k: int = 3, seed: int | None = None, stop: threading.Event | None = None
    ) -> list[str]:
        """``k`` (or fewer, after cleaning) short suggestions for what could happen next.

        Structured output, validated; markup, numbering and run-together junk are dropped,
        duplicates removed. Stoppable through ``stop`` (then :class:`GenerationStopped`).
        """
        from . import prompts

        scene = self.project.scene(scene)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 6:
            raise InvalidInput("ask for between 1 and 6 suggestions")
        seed = new_seed(seed)
        text = scene.text.strip() or f"(The scene '{scene.title}' has no text yet.)"
        system = prompts.render(
            prompts.SYSTEM, style=self.project.style, title=self.project.title, logline=self.project.logline
        )
        cast = [c.name for c in self.project.cast]
        who: list[str] = []
        names: Sequence[str] = ()
        if cast:  # who may act next: the living cast, those in the scene first
            inputs = self.scene_inputs(self.project.path(scene, self.branch_for(scene, None)), None, [])
            alive = inputs["alive"]
            who = [n for n in scene.characters if n in alive] + [
                n for n in alive if n not in scene.characters
            ]
            names = inputs["names"]
        value = self.structured(
            system,
            prompts.render(prompts.CHOICES, text=text[-2000:], k=k),
            choices_schema(k, who, names),
            seed,
            max_new_tokens=CHOICE_TOKENS * k,
            stop=stop,
        )
        # the story's own letters: a suggestion in another alphabet or language is dropped
        story = " ".join([text, self.project.title or "", self.project.logline or "", *cast])
        out: list[str] = []
        for raw in value["choices"]:
            c = clean_choice(choice_label(raw, cast), story)
            if c and c.casefold() not in {o.casefold() for o in out}:
                out.append(c)
        return out

    def extend(
        self,
        history: Sequence[Scene],
        text: str,
        title: str | None,
        choice: str | None,
        characters: Sequence[str],
        summary: str | None,
        n: int,
        seed: int,
        max_new_tokens: int,
        on_token: OnToken | None = None,
        stop: threading.Event | None = None,
    ) -> list[Draft]:
        """``n`` continuations of ``text`` (a take of the scene that follows ``history``): the model
        goes on from its last character with the scene's own prompt. Each draft's text is the whole
        take (``text`` and what came next); ``on_token`` streams only what comes next. Free text:
        a grammar cannot start in the middle of a scene."""
        if not text.strip():
            raise InvalidInput("there is no text to continue: generate or write the scene first")
        ctx = self.context_for(history, title, choice, characters, summary, max_new_tokens)
        self.last_context = ctx
        recent = [*(s.text for s in history[-3:]), text]
        drafts = self.takes(ctx, n, seed, max_new_tokens, on_token, stop, recent, continue_from=text)
        return [
            Draft(
                {**d.record, "text": text + d.text},
                {**d.provenance, "structure": "free", "continued_chars": len(text)},
                ctx,
            )
            for d in drafts
            if d.text.strip()
        ]

    # ------------------------------------------------------------------ saving
    def save_takes(
        self,
        scene: Scene,
        drafts: Sequence[Draft],
        path: Sequence[Scene],
        branch: str | None,
        choose: bool | None = None,
        extra: dict[str, Any] | None = None,
        parent: Take | None = None,
    ) -> list[Take]:
        """Save ``drafts`` as takes of ``scene`` (one transaction), recording the path they were
        written on; ``parent``: the take they grew from (a continued take)."""
        path_ids = [s.id for s in path]
        with self.project.transaction(f"write {len(drafts)} take(s) of {scene.title}"):
            takes = []
            for d in drafts:
                prov = {
                    **d.provenance,
                    **(extra or {}),
                    "path": path_ids,
                    "branch": branch,
                    "screenplay": parse_scene(d.text).screenplay,
                }
                takes.append(
                    scene.add_take(d.text, source="model", provenance=prov, parent=parent, choose=choose)
                )
        return takes

    def save_scene(
        self,
        after: Scene,
        choice: str,
        title: str,
        characters: Sequence[str],
        branch: str | None,
        history: Sequence[Scene],
        drafts: Sequence[Draft],
        extra: dict[str, Any] | None = None,
        label: str | None = None,
    ) -> Scene:
        """A new scene after ``after`` reached by ``choice``, holding ``drafts`` as its takes, on ``branch``.

        One transaction (joining the caller's, so a caller that first creates the branch saves
        both or nothing): the scene with every take is saved, or nothing.
        """
        with self.project.transaction(label or f"continue after {after.title}"):
            if self.project.title_taken(title):
                title = self.project.unique_title(title)
            new = self.project.add_scene(
                title, after=after, choice=choice, characters=list(characters), branch=branch
            )
            self.save_takes(new, drafts, [*history, new], branch, extra=extra)
        return new


def _named(text: str, cast: Sequence[str]) -> list[str]:
    """Cast members ``text`` names (by full name, first or last name), in order of appearance."""
    low = text.casefold()
    found: list[tuple[int, str]] = []
    for name in cast:
        at = [
            m.start()
            for p in [name, *name.split()]
            if len(p) > 2
            for m in re.finditer(r"\b" + re.escape(p.casefold()) + r"\b", low)
        ]
        if at:
            found.append((min(at), name))
    return [n for _, n in sorted(found)]


def _subject_is(text: str, name: str) -> bool:
    """Whether ``name`` is the subject of ``text`` (it opens the sentence)."""
    first = text.strip().split(" ")[0].strip(",.").casefold()
    return first in {p.casefold() for p in name.split()}
