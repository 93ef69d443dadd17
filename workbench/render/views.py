"""HTML for the workbench's inspection views: the context of a prompt, continuity, an outline,
two branches compared, where a reader gets stuck, and media as data URIs. Every piece of
story text is escaped.
"""

from __future__ import annotations

import base64
import difflib
import re
from itertools import zip_longest
from typing import Any

from .html import screenplay_html
from .text import esc, safe_mime

__all__ = [
    "audio_html",
    "compare_html",
    "compare_rows",
    "context_html",
    "continuity_html",
    "data_uri",
    "diff_html",
    "image_html",
    "outline_html",
    "stuck_html",
]


def context_html(ctx: Any) -> str:
    """Parts with token counts and a bar of their share of the budget, the lore that fired, notes."""
    budget = max(1, int(ctx.budget))
    rows = []
    for p in ctx.parts:
        share = min(100.0, 100.0 * p.tokens / budget)
        rows.append(
            f"<tr class='wb-part' data-part='{esc(p.name)}'><td><b>{esc(p.name)}</b></td>"
            f"<td style='text-align:right' class='wb-tokens'>{p.tokens}</td>"
            f"<td>{'shown, not sent' if not getattr(p, 'sent', True) else 'prefix' if p.in_prefix else 'suffix'}</td>"
            f"<td style='width:160px'><div style='background:#fde7d9;width:{share:.1f}%;height:10px'></div></td>"
            f"<td style='color:#6b7280'>{esc(p.note)}</td></tr>"
            f"<tr><td colspan='5'><details><summary style='cursor:pointer;color:#6b7280'>text</summary>"
            f"<pre style='white-space:pre-wrap;font-size:11px'>{esc(p.text)}</pre></details></td></tr>"
        )
    lore = ", ".join(esc(x) for x in ctx.lore_fired) or "none"
    notes = "".join(f"<li>{esc(n)}</li>" for n in getattr(ctx, "notes", []))
    return (
        f"<div class='wb-context' style='font:13px system-ui,sans-serif'>"
        f"<div class='wb-context-total'><b>{ctx.total}</b> of {ctx.budget} tokens</div>"
        f"<div class='wb-lore-fired'>Lore entries that fired: {lore}</div>"
        f"<table style='border-collapse:collapse;width:100%'><tr><th>part</th><th>tokens</th><th>where</th>"
        f"<th>share</th><th>note</th></tr>{''.join(rows)}</table>"
        f"{'<ul>' + notes + '</ul>' if notes else ''}</div>"
    )


def continuity_html(state: Any) -> str:
    """Who is alive, present, where, holding what, after a scene; writer corrections marked."""
    rows = []
    for n, c in state.characters.items():
        mark = " ✎" if n in state.overridden else ""
        rows.append(
            f"<tr><td><b>{esc(n)}</b>{mark}</td><td>{'alive' if c.alive else '<b>dead</b>'}</td>"
            f"<td>{'yes' if c.present else ''}</td><td>{esc((c.location or '').title())}</td>"
            f"<td>{esc(', '.join(c.items))}</td></tr>"
        )
    events = "".join(f"<li>{esc(e)}</li>" for e in state.events)
    warns = "".join(f"<li style='color:#b91c1c'>{esc(w)}</li>" for w in state.warnings)
    return (
        f"<div class='wb-continuity'><div style='font-weight:700'>Continuity after "
        f"{esc(state.title)}</div><table><tr><th>character</th><th>state</th><th>present</th>"
        f"<th>location</th><th>holds</th></tr>{''.join(rows)}</table>"
        f"{'<ul>' + events + warns + '</ul>' if events or warns else ''}</div>"
    )


def outline_html(outline: Any) -> str:
    """An outline: title, logline, characters with descriptions, numbered scenes with summaries."""
    chars = "".join(
        f"<li><b>{esc(c['name'])}</b>: {esc(c.get('description', ''))}</li>" for c in outline.characters
    )
    scenes = "".join(
        f"<li><b>{esc(s['title'])}</b>: {esc(s.get('summary', ''))}</li>" for s in outline.scenes
    )
    return (
        f"<div class='wb-outline'><h3>{esc(outline.title)}</h3><p><i>{esc(outline.logline)}</i></p>"
        f"<h4>Characters</h4><ul>{chars}</ul><h4>Scenes</h4><ol>{scenes}</ol></div>"
    )


def diff_html(a: str, b: str) -> str:
    """Word-level differences: removed words struck through in red, added words in green."""
    sa, sb = a.split(), b.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=sa, b=sb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(esc(" ".join(sa[i1:i2])))
            continue
        if i2 > i1:
            out.append(
                f"<del class='wb-del' style='background:#fee2e2;color:#991b1b'>{esc(' '.join(sa[i1:i2]))}</del>"
            )
        if j2 > j1:
            out.append(
                f"<ins class='wb-ins' style='background:#dcfce7;color:#166534;text-decoration:none'>"
                f"{esc(' '.join(sb[j1:j2]))}</ins>"
            )
    return " ".join(out)


def _base_title(title: str) -> str:
    """A scene title without a copy's number ("The Ferry (2)", "The Ferry 2" -> "the ferry")."""
    return re.sub(r"\s*(?:\(\d+\)|\d+)$", "", " ".join(title.split())).casefold()


def compare_rows(project: Any, a: str, b: str) -> list[dict[str, Any]]:
    """Two branches aligned by their paths: the scenes they share once (``same``), then where they
    part, the differing runs side by side (each row one scene of each run, or of one only).

    A row: ``step`` (its place along the alignment), ``a`` and ``b`` (scenes or None), ``same``,
    ``version`` (two different scenes that are versions of one: the same title but for a copy's
    number, "The Ferry (2)"), ``ratio`` (word
    similarity of the texts) and the texts ``a_text`` and ``b_text``. Scenes are matched by
    identity, never by position: a branch that adds a scene early does not shift every later one.
    """
    sa_list, sb_list = project.branches[a].scenes, project.branches[b].scenes
    ids_a, ids_b = [s.id for s in sa_list], [s.id for s in sb_list]
    rows: list[dict[str, Any]] = []

    def row(sa: Any, sb: Any, same: bool) -> None:
        ta = sa.text if sa is not None else ""
        tb = sb.text if sb is not None else ""
        version = (
            not same and sa is not None and sb is not None and _base_title(sa.title) == _base_title(sb.title)
        )
        ratio = 1.0 if same else difflib.SequenceMatcher(a=ta.split(), b=tb.split(), autojunk=False).ratio()
        rows.append(
            {
                "step": len(rows) + 1,
                "a": sa,
                "b": sb,
                "same": same,
                "version": version,
                "ratio": ratio,
                "a_text": ta,
                "b_text": tb,
            }
        )

    matcher = difflib.SequenceMatcher(a=ids_a, b=ids_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                row(sa_list[i1 + k], sb_list[j1 + k], True)
            continue
        for sa, sb in zip_longest(sa_list[i1:i2], sb_list[j1:j2]):
            row(sa, sb, False)
    return rows


def _side(scene: Any, text: str, cast: list[str]) -> str:
    """One branch's column of a row where the branches differ: the scene as screenplay, or a dash."""
    if scene is None:
        return "<span style='color:#9ca3af'>—</span>"
    return f"<b>{esc(scene.title)}</b>" + (
        screenplay_html(text, cast) if text.strip() else "<br><i>no text</i>"
    )


def compare_html(project: Any, a: str, b: str) -> str:
    """Two branches side by side, aligned by their paths (see :func:`compare_rows`): shared scenes
    once, then the scenes where they differ in two columns as screenplay, with a word diff only
    between two versions of the same scene."""
    cast = [c.name for c in project.cast]
    cell = "vertical-align:top;padding:6px 8px;border-top:1px solid #e5e7eb;font-size:12px;width:48%"
    head = (
        f"<tr><th style='text-align:left;width:40px'>#</th><th style='text-align:left'>{esc(a)}</th>"
        f"<th style='text-align:left'>{esc(b)}</th></tr>"
    )
    body = []
    for row in compare_rows(project, a, b):
        sa, sb = row["a"], row["b"]
        if row["same"]:
            body.append(
                f"<tr class='wb-same'><td style='{cell};width:40px'>{row['step']}</td>"
                f"<td colspan='2' style='{cell};color:#6b7280'><b>{esc(sa.title)}</b> · same scene on both</td></tr>"
            )
            continue

        if row["version"]:  # two versions of one scene: what changed, word by word
            right = (
                f"<b>{esc(sb.title)}</b> <span style='color:#6b7280'>({round(100 * row['ratio'])}% alike)</span>"
                f"<div style='white-space:pre-wrap'>{diff_html(row['a_text'], row['b_text']) or '<i>no text</i>'}</div>"
            )
        else:
            right = _side(sb, row["b_text"], cast)
        body.append(
            f"<tr class='wb-differs{' wb-version' if row['version'] else ''}'><td style='{cell};width:40px'>"
            f"{row['step']}</td><td style='{cell}'>{_side(sa, row['a_text'], cast)}</td><td style='{cell}'>{right}</td></tr>"
        )
    return (
        f"<table class='wb-compare' style='border-collapse:collapse;width:100%;table-layout:fixed;"
        f"font-family:system-ui,sans-serif'>{head}{''.join(body)}</table>"
    )


def data_uri(asset: Any) -> str:
    return f"data:{safe_mime(asset.mime)};base64,{base64.b64encode(asset.data).decode()}"


def image_html(asset: Any, width: int = 240, css: str = "wb-image", caption: str = "") -> str:
    cap = (
        f"<figcaption style='font:12px system-ui,sans-serif;color:#6b7280'>{esc(caption)}</figcaption>"
        if caption
        else ""
    )
    return (
        f"<figure class='{esc(css)}' data-sha256='{esc(asset.sha256)}' style='margin:4px;display:inline-block'>"
        f"<img src='{data_uri(asset)}' width='{width}' alt='{esc(caption or asset.kind)}' "
        f"style='border-radius:6px;border:1px solid #e5e7eb'>{cap}</figure>"
    )


def audio_html(asset: Any, css: str = "wb-audio") -> str:
    return (
        f"<audio class='{esc(css)}' data-sha256='{esc(asset.sha256)}' controls preload='auto' "
        f"src='{data_uri(asset)}'></audio>"
    )


def stuck_html(project: Any) -> str:
    """Where a reader can get stuck, and what else the graph says a writer should look at:
    dead ends (no way out, not marked as an ending), loops with no way out, open choices (their
    scene not written yet) and scenes no path from the start reaches."""
    st = project.structure()
    title = {s.id: s.title for s in project.scenes}
    muted = "color:#6b7280"

    def items(ids: list[str], note: str = "") -> str:
        return "".join(
            f'<li data-scene-id="{esc(i)}"><b>{esc(title[i])}</b>{note}</li>' for i in ids if i in title
        )

    parts = []
    if st.dead_ends:
        parts.append(
            '<div class="wb-dead-ends"><b>No way out</b> <span style="' + muted + '">(not marked as an '
            "ending: add a choice, or mark it as an ending with the tag <code>ending</code>)</span>"
            f"<ul>{items(st.dead_ends)}</ul></div>"
        )
    if st.traps:
        parts.append(
            f'<div class="wb-traps"><b>Loops with no way out</b> <span style="{muted}">(a reader here never '
            f"reaches an ending)</span><ul>{items(st.traps)}</ul></div>"
        )
    if not parts:
        parts.append(
            '<div class="wb-not-stuck">Nowhere: every scene a reader can reach leads on or is an ending.</div>'
        )
    if st.open_choices:
        rows = []
        for cid in st.open_choices:
            c = project.choice(cid)
            rows.append(
                f'<li data-choice-id="{esc(cid)}">{esc(title.get(c.source_id, "?"))}: '
                f"<i>{esc(c.label)}</i> &rarr; {esc(c.wanted or c.label)} "
                f'<span style="{muted}">(not written yet)</span></li>'
            )
        parts.append(f'<div class="wb-open-choices"><b>Open choices</b><ul>{"".join(rows)}</ul></div>')
    if st.unreachable:
        parts.append(
            f'<div class="wb-unreachable"><b>Not reachable from the start</b> <span style="{muted}">'
            f"(drafts and notes, or scenes a choice should lead to)</span><ul>{items(st.unreachable)}</ul></div>"
        )
    return (
        '<div class="wb-stuck-view" style="font:13px system-ui,sans-serif;line-height:1.4">'
        + "".join(parts)
        + "</div>"
    )
