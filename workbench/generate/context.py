"""Context assembly: what goes into the prompt for a scene, and what each part costs.

Order is stable-first so a prefix cache hits: system and style, the cast sheet, the lore
that fires, the story so far (recent scenes verbatim, older ones summarised), then the
volatile suffix: the author's note and the instruction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ContextOverflow
from . import prompts

RECENT_VERBATIM = 3  # scenes kept word for word before older ones are summarised


@dataclass
class ContextPart:
    name: str  # "system", "cast", "lore", "story", "author_note", "instruction"
    text: str
    tokens: int
    in_prefix: bool
    note: str = ""  # e.g. "2 older scenes summarised", "truncated"
    sent: bool = True  # False: shown in the context view but not part of the prompt (e.g. the plan)


@dataclass
class ContextView:
    """What went into a prompt, part by part, with token counts, total and budget."""

    parts: list[ContextPart]
    budget: int
    lore_fired: list[str] = field(default_factory=list)
    summarised: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.tokens for p in self.parts if p.sent)

    @property
    def prefix(self) -> str:
        return "\n\n".join(p.text for p in self.parts if p.in_prefix and p.sent and p.text)

    @property
    def suffix(self) -> str:
        return "\n\n".join(p.text for p in self.parts if not p.in_prefix and p.sent and p.text)

    def part(self, name: str) -> ContextPart | None:
        return next((p for p in self.parts if p.name == name), None)

    def _repr_html_(self) -> str:
        from ..render import context_html

        return context_html(self)

    def __repr__(self) -> str:
        parts = ", ".join(f"{p.name}={p.tokens}" for p in self.parts)
        return f"ContextView({parts}; total {self.total}/{self.budget})"


def _char_view(c: Any) -> dict[str, str]:
    d = c.data
    return {
        "name": c.name,
        "description": d.get("description", ""),
        "personality": d.get("personality", ""),
        "speech_style": d.get("speech_style", ""),
    }


def assemble(
    project: Any,
    history: Sequence[Any],
    *,
    title: str | None,
    choice: str | None,
    characters: Sequence[str] = (),
    summary: str | None = None,
    count_tokens: Callable[[str], int],
    budget: int,
    summarise: Callable[[Any], str] | None = None,
) -> ContextView:
    """Build the context for writing a scene that follows ``history`` (a path of scenes).

    ``summarise(scene)`` returns a short summary of an older scene (cached by the caller);
    without it, older scenes are cut from the front with a visible note.
    """
    cast_names = [c.name for c in project.cast]
    in_scene = [n for n in characters if n in cast_names] or cast_names
    # characters present in the recent story join the cast sheet too
    recent_text = "\n".join(s.text for s in history[-RECENT_VERBATIM:])
    for name in cast_names:
        if name not in in_scene and any(p.casefold() in recent_text.casefold() for p in name.split()):
            in_scene.append(name)
    sheet_chars = [_char_view(project.cast[n]) for n in cast_names if n in in_scene]

    system = prompts.render(prompts.SYSTEM, style=project.style, title=project.title, logline=project.logline)
    cast_text = prompts.render(prompts.CAST_SHEET, characters=sheet_chars) if sheet_chars else ""
    trigger_text = "\n".join([recent_text, title or "", choice or "", summary or ""])
    fired = project.lore.triggered(trigger_text)
    lore_text = prompts.render(prompts.LORE, entries=fired) if fired else ""
    note = project.author_note
    suffix_parts = []
    if note:
        suffix_parts.append(("author_note", prompts.render(prompts.AUTHOR_NOTE, note=note)))
    suffix_parts.append(
        (
            "instruction",
            prompts.render(
                prompts.INSTRUCTION, title=title, choice=choice, summary=summary, characters=list(characters)
            ),
        )
    )

    fixed = [("system", system), ("cast", cast_text), ("lore", lore_text)]
    fixed_tokens = sum(count_tokens(t) for _, t in fixed if t) + sum(count_tokens(t) for _, t in suffix_parts)
    if fixed_tokens > budget:
        raise ContextOverflow(
            f"the fixed parts of the prompt (style, cast sheet, lore, instruction) take {fixed_tokens} tokens, "
            f"more than the {budget} this model has room for; shorten the cast descriptions or lore"
        )

    # the story so far: choose, per scene, verbatim text or a summary, newest kept verbatim first
    entries: list[dict[str, Any]] = []
    for i, s in enumerate(history):
        nxt = history[i + 1] if i + 1 < len(history) else None
        label = None
        if nxt is not None:  # the pending choice is in the instruction, so every choice shares this prefix
            label = next((c.label for c, t in s.children if t.id == nxt.id), None)
        entries.append(
            {"scene": s, "title": s.title, "text": s.text.strip(), "summary": None, "choice": label}
        )
    summarised: list[str] = []
    notes: list[str] = []

    def story_text() -> str:
        return prompts.render(prompts.STORY_SO_FAR, scenes=entries) if entries else ""

    room = budget - fixed_tokens
    text = story_text()
    if entries and count_tokens(text) > room:
        # summarise older scenes, oldest first, until it fits
        for e in entries[: max(0, len(entries) - RECENT_VERBATIM)]:
            if summarise is None:
                break
            e["summary"] = summarise(e["scene"]) or e["text"][:200]
            summarised.append(e["title"])
            text = story_text()
            if count_tokens(text) <= room:
                break
        dropped = 0
        while entries and count_tokens(text) > room:
            entries.pop(0)
            dropped += 1
            text = story_text()
        if dropped:
            notes.append(
                f"{dropped} earliest scene(s) left out: the story is longer than the model's context"
            )
    if summarised:
        notes.append(f"{len(summarised)} older scene(s) summarised: {', '.join(summarised)}")

    parts = [ContextPart(name, t, count_tokens(t) if t else 0, True) for name, t in fixed]
    story_note = f"{len(entries)} scene(s)" + (f", {len(summarised)} summarised" if summarised else "")
    parts.append(ContextPart("story", text, count_tokens(text) if text else 0, True, story_note))
    parts += [ContextPart(name, t, count_tokens(t), False) for name, t in suffix_parts]
    for p in parts:
        if p.name == "lore" and fired:
            p.note = ", ".join(e.name for e in fired)
    return ContextView(parts, budget, [e.name for e in fired], summarised, notes)


def summary_key(fingerprint: dict[str, Any], text: str) -> str:
    """The project-cache key of a scene text's summary by the model with ``fingerprint``."""
    blob = json.dumps([fingerprint, text], sort_keys=True, default=str)
    return "summary:" + hashlib.sha256(blob.encode()).hexdigest()
