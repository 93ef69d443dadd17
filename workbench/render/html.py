"""HTML fragments for characters, scenes, takes, projects and screenplays (inline styles only)."""

from __future__ import annotations

import base64
from typing import Any

from ..story.screenplay import parse_scene
from .text import css_color, esc, safe_mime

CARD = (
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;border:1px solid #e5e7eb;border-radius:10px;"
    "padding:12px 14px;margin:6px 0;background:#fff;color:#111827;max-width:760px"
)
MUTED = "color:#6b7280;font-size:12px"


def _portrait_img(project: Any, sha: str | None, size: int = 96) -> str:
    if not sha or sha not in project.assets:
        return ""
    asset = project.assets.get(sha)
    b64 = base64.b64encode(asset.data).decode()
    return (
        f'<img src="data:{safe_mime(asset.mime)};base64,{b64}" alt="portrait" width="{size}" height="{size}" '
        'style="border-radius:8px;object-fit:cover;float:right;margin-left:12px">'
    )


def character_html(character: Any) -> str:
    d = character.data if hasattr(character, "data") else character.to_dict()
    voice = d.get("voice") or {}
    voice_txt = ", ".join(f"{k} {v}" for k, v in sorted(voice.items())) or "default voice"
    rows = [
        (label, d.get(key))
        for label, key in (
            ("Description", "description"),
            ("Personality", "personality"),
            ("Appearance", "appearance"),
            ("Speech", "speech_style"),
        )
    ]
    body = "".join(f"<div><b>{label}:</b> {esc(str(v))}</div>" for label, v in rows if v)
    portrait = _portrait_img(character.project, d.get("portrait")) if hasattr(character, "project") else ""
    swatch = css_color(d.get("palette"), "#888")
    version = getattr(character, "version", 1)
    return (
        f'<div class="wb-character" style="{CARD}">{portrait}'
        f'<div style="font-size:16px;font-weight:700"><span style="display:inline-block;width:12px;height:12px;'
        f'border-radius:6px;background:{swatch};margin-right:6px"></span>{esc(character.name)}</div>'
        f'<div style="{MUTED}">v{version} · {esc(voice_txt)}</div>{body}'
        f'<div style="clear:both"></div></div>'
    )


# Where each kind of screenplay line sits on the page: the read-only page (screenplay_html) and the
# scene editor's in-place editor (which formats each line as it is typed) share these, so the two
# look alike. Only the horizontal layout: the page adds space between elements, the editor shows
# the writer's blank lines.
SCREENPLAY_LINE_STYLES = {
    "heading": "font-weight:700;text-transform:uppercase",
    "action": "",
    "character": "margin-left:38%;text-transform:uppercase",
    "parenthetical": "margin-left:30%",
    "dialogue": "margin-left:22%;margin-right:20%",
    "transition": "text-align:right;text-transform:uppercase",
}
SCREENPLAY_FONT = "font-family:'Courier Prime','Courier New',monospace;font-size:13px;line-height:1.35"
_SPACING = {
    "heading": "margin-top:14px;margin-bottom:6px",
    "action": "margin-top:6px;margin-bottom:6px",
    "character": "margin-top:10px;margin-bottom:0",
    "parenthetical": "margin-top:0;margin-bottom:0",
    "dialogue": "margin-top:0;margin-bottom:0",
    "transition": "margin-top:8px;margin-bottom:8px",
}
_CLASSES = {
    "heading": "wb-heading",
    "action": "wb-action",
    "character": "wb-cue",
    "parenthetical": "wb-paren",
    "dialogue": "wb-dialogue",
    "transition": "wb-transition",
}


def screenplay_html(text: str, cast: list[str] | None = None) -> str:
    """A take's text formatted as a screenplay page (headings, action, centred cues and dialogue)."""
    parsed = parse_scene(text, cast or [])
    parts = []
    for el in parsed.elements:
        t = esc(el.text).replace("\n", "<br>")
        if el.kind == "character" and el.dual:
            t += " ^"
        look = ";".join(x for x in (_SPACING[el.kind], SCREENPLAY_LINE_STYLES[el.kind]) if x)
        parts.append(f'<p class="{_CLASSES[el.kind]}" style="{look}">{t}</p>')
    return f'<div class="wb-screenplay" style="{SCREENPLAY_FONT}">{"".join(parts)}</div>'


def take_origin(take: Any) -> str:
    """Where a take came from, in words: "model · MODEL · seed N · screenplay" (its own seed, not
    its batch's), or "edited by WRITER from take N" for a hand edit (a writer's words, whatever
    prompt the take they edited came from)."""
    prov = take.provenance
    bits = [take.source]
    if take.source == "edit":
        src = prov.get("edited_from")
        ids = [t.id for t in take.scene.takes] if src else []
        where = f" from take {ids.index(src) + 1}" if src in ids else ""
        bits = [f"edited by {prov['edited_by']}{where}" if prov.get("edited_by") else f"hand edit{where}"]
    else:
        if prov.get("model"):
            bits.append(str(prov["model"]))
        seed = prov.get("take_seed", prov.get("seed"))  # each take's own seed, not its batch's
        if seed is not None:
            bits.append(f"seed {seed}")
        if prov.get("structure"):
            bits.append(str(prov["structure"]))
    return " · ".join(bits)


def take_html(take: Any) -> str:
    prov = take.provenance
    bits = [take_origin(take)]
    rating = take.rating
    if rating:
        bits.append("★" * rating)
    chosen = take.is_chosen
    cast = [c.name for c in take.project.cast]
    border = "#c2410c" if chosen else "#e5e7eb"
    return (
        f'<div class="wb-take" data-take-id="{esc(take.id)}" style="{CARD};border-color:{border}">'
        f'<div class="wb-take-meta" style="{MUTED}">{"✓ chosen · " if chosen else ""}'
        f"{esc(' · '.join(bits))}</div>{plan_html(prov.get('plan'))}"
        f"{screenplay_html(take.text, cast)}</div>"
    )


def plan_html(plan: Any) -> str:
    """A take's scene plan (heading, who is there, the beats), folded away under the take's label."""
    if not isinstance(plan, dict) or not plan.get("beats"):
        return ""
    who = ", ".join(str(c) for c in plan.get("characters") or [])
    beats = "".join(f"<li>{esc(str(b))}</li>" for b in plan["beats"])
    return (
        f'<details class="wb-take-plan" style="{MUTED};margin:2px 0 6px"><summary style="cursor:pointer">'
        f"plan: {esc(str(plan.get('heading') or ''))}</summary>"
        f"<div>with {esc(who)}</div><ol style='margin:2px 0 0 18px;padding:0'>{beats}</ol></details>"
    )


def scene_html(scene: Any, takes: bool = True) -> str:
    project = scene.project
    all_takes = scene.takes
    chosen = scene.chosen
    cast = [c.name for c in project.cast]
    head = (
        f'<div style="font-size:16px;font-weight:700">{esc(scene.title)}</div>'
        f'<div style="{MUTED}">{len(all_takes)} take{"s" if len(all_takes) != 1 else ""}'
        f"{' · tags: ' + esc(', '.join(scene.tags)) if scene.tags else ''}</div>"
    )
    body = screenplay_html(chosen.text, cast) if chosen else f'<p style="{MUTED}">No text yet.</p>'
    others = ""
    if takes and len(all_takes) > 1:
        others = "".join(take_html(t) for t in all_takes if chosen is None or t.id != chosen.id)
        others = (
            f'<details><summary style="{MUTED};cursor:pointer">Other takes ({len(all_takes) - 1})</summary>'
            f"{others}</details>"
        )
    kids = scene.choices
    choices = ""
    if kids:
        items = "".join(
            f"<li>{esc(c.label)} → {esc(c.target.title)}</li>"
            if c.target is not None
            else f"<li>{esc(c.label)} → <i>{esc(c.wanted or c.label)}</i> (not written yet)</li>"
            for c in kids
        )
        choices = f'<div style="{MUTED};margin-top:6px">Choices:<ul style="margin:2px 0">{items}</ul></div>'
    return f'<div class="wb-scene-card" data-scene-id="{esc(scene.id)}" style="{CARD}">{head}{body}{choices}{others}</div>'


def project_html(project: Any) -> str:
    from .svg import branch_map_svg

    s = project.summary()
    branches = ", ".join(f"{esc(n)} ({k})" for n, k in s["branches"].items()) or "none"
    cast = ", ".join(esc(n) for n in s["cast"]) or "nobody yet"
    meta = " · ".join(x for x in [esc(project.genre)] if x)
    return (
        f'<div class="wb-project" style="{CARD};max-width:none">'
        f'<div style="font-size:20px;font-weight:700">{esc(project.title)}</div>'
        f'<div style="font-style:italic;margin:2px 0 6px">{esc(project.logline)}</div>'
        f'<div style="{MUTED}">{meta + " · " if meta else ""}{s["scenes"]} scenes · {s["takes"]} takes · '
        f"branches: {branches} · cast: {cast} · {s['lore']} lore entries</div>"
        f'<div style="overflow-x:auto;margin-top:8px">{branch_map_svg(project)}</div></div>'
    )
