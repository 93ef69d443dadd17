"""The pitch report's sections as HTML fragments (built on :mod:`workbench.render`).

Each function returns one ``<section class="report-section">`` with a ``data-section``
name and an ``<h2>``; the report template lays them out in order. Images are inlined
as data URIs and no fragment refers to anything outside itself, so a report opens
offline. Anything that changes from run to run without the story changing (clock
times, durations, memory) is marked ``data-volatile`` (see :func:`workbench.report.run.report_content`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..render import branch_map_svg, css_color, data_uri, esc, screenplay_html

__all__ = [
    "SECTION_TITLES",
    "branch_map_section",
    "cast_section",
    "provenance_section",
    "screenplay_section",
    "storyboard_section",
    "title_section",
]

SECTION_TITLES = {
    "title": "Title",
    "cast": "Cast",
    "branch-map": "Branch map",
    "screenplay": "Screenplay",
    "storyboard": "Storyboard",
    "provenance": "Provenance",
}


def _section(name: str, body: str, heading: bool = True) -> str:
    h2 = f"<h2>{esc(SECTION_TITLES[name])}</h2>" if heading else ""
    return f'<section class="report-section" id="{name}" data-section="{name}">{h2}{body}</section>'


def _img(asset: Any, alt: str, cls: str) -> str:
    return f'<img class="{esc(cls)}" src="{data_uri(asset)}" alt="{esc(alt)}">'


def _branch_scenes(project: Any, branch: str) -> list[Any]:
    return list(project.branches[branch].scenes)


def title_section(project: Any, branch: str, title: str | None = None) -> str:
    """Title page: title, logline, genre, and the path the pitch follows."""
    scenes = _branch_scenes(project, branch)
    cast = [c.name for c in project.cast]
    meta = [
        ("Genre", project.genre),
        ("Path", f"{branch} ({len(scenes)} scene{'s' if len(scenes) != 1 else ''})"),
        ("Cast", ", ".join(cast)),
    ]
    rows = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in meta if v)
    body = (
        f'<p class="kicker">A story pitch</p>'
        f'<h1 class="report-title">{esc(title or project.title or "Untitled story")}</h1>'
        f'<p class="logline">{esc(project.logline)}</p>'
        f'<p class="genre">{esc(project.genre)}</p>'
        f'<dl class="title-meta">{rows}</dl>'
    )
    if title and project.title and title != project.title:
        body += f'<p class="subtitle">after <i>{esc(project.title)}</i></p>'
    return _section("title", body, heading=False)


def _voice_rows(voice: Mapping[str, Any]) -> str:
    labels = {"speed": "Speed", "variation": "Variation", "pitch": "Pitch (semitones)", "voice": "Voice"}
    rows = []
    for key in sorted(voice):
        value = voice[key]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append(
            f"<tr><th>{esc(labels.get(key, key.replace('_', ' ').capitalize()))}</th>"
            f"<td>{esc(shown)}</td></tr>"
        )
    return "".join(rows) or '<tr><td colspan="2">default voice</td></tr>'


def cast_section(project: Any) -> str:
    """The cast sheet: portrait, description, personality, appearance and voice settings."""
    cards = []
    for char in project.cast:
        d = char.data
        sha = d.get("portrait")
        portrait = (
            _img(project.assets.get(sha), f"Portrait of {char.name}", "portrait")
            if sha and sha in project.assets
            else '<div class="portrait placeholder">no portrait</div>'
        )
        tags = " ".join(f'<span class="tag">{esc(t)}</span>' for t in d.get("tags") or [])
        fields = [
            ("Personality", d.get("personality")),
            ("Appearance", d.get("appearance")),
            ("Speech", d.get("speech_style")),
        ]
        dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>" for k, v in fields if v)
        swatch = css_color(d.get("palette"))
        cards.append(
            f'<article class="cast-card" data-character="{esc(char.name)}">{portrait}'
            f'<div class="cast-body"><h3><span class="swatch" style="background:{swatch}"></span>'
            f"{esc(char.name)}</h3>{tags}"
            f'<p class="description">{esc(d.get("description") or "")}</p><dl>{dl}</dl>'
            f'<table class="voice"><caption>Voice</caption>{_voice_rows(d.get("voice") or {})}</table>'
            "</div></article>"
        )
    body = "".join(cards) or "<p>No cast yet.</p>"
    return _section("cast", f'<div class="cast-grid">{body}</div>')


def branch_map_section(project: Any, branch: str) -> str:
    """The story graph, with the pitched path highlighted."""
    names = list(project.branches)
    note = (
        f'<p class="caption">The highlighted path, <b>{esc(branch)}</b>, is the one this pitch follows. '
        f"The story has {len(project.scenes)} scenes on {len(names)} "
        f"branch{'es' if len(names) != 1 else ''}: {esc(', '.join(names))}. "
        "Dashed boxes have no text yet; a dashed arrow is a choice whose scene is not written yet; "
        "violet arrows over the top lead back to an earlier scene (a loop).</p>"
    )
    return _section("branch-map", f'<div class="map">{branch_map_svg(project, branch)}</div>{note}')


def screenplay_section(project: Any, branch: str) -> str:
    """The chosen takes along the branch, formatted as a screenplay."""
    cast = [c.name for c in project.cast]
    parts = []
    previous = None
    for number, scene in enumerate(_branch_scenes(project, branch), start=1):
        choice = ""
        if previous is not None:
            label = next((c.label for c, t in previous.children if t.id == scene.id), None)
            if label:
                choice = f'<p class="choice">Choice: {esc(label)}</p>'
        text = scene.text
        page = (
            screenplay_html(text, cast)
            if text.strip()
            else '<p class="empty">(This scene has no text yet.)</p>'
        )
        parts.append(
            f'<article class="scene" data-scene-id="{esc(scene.id)}">'
            f'<h3><span class="scene-number">{number}</span> {esc(scene.title)}</h3>{choice}{page}'
            "</article>"
        )
        previous = scene
    return _section("screenplay", "".join(parts) or "<p>No scenes on this branch.</p>")


def storyboard_section(project: Any, branch: str, boards: Mapping[str, Sequence[Any]]) -> str:
    """A contact sheet: each scene's storyboard frames, with their captions."""
    rows = []
    for number, scene in enumerate(_branch_scenes(project, branch), start=1):
        frames = boards.get(scene.id) or []
        figs = []
        for k, asset in enumerate(frames, start=1):
            params = (asset.provenance or {}).get("parameters") or {}
            caption = params.get("caption") or ""
            framing = params.get("framing") or ""
            figs.append(
                f'<figure class="frame">{_img(asset, f"{scene.title}, frame {k}", "frame-image")}'
                f"<figcaption><b>{number}.{k}</b> {esc(framing)}"
                f"{' - ' if framing and caption else ''}{esc(caption)}</figcaption></figure>"
            )
        rows.append(
            f'<div class="board" data-scene-id="{esc(scene.id)}"><h3><span class="scene-number">'
            f'{number}</span> {esc(scene.title)}</h3><div class="frames">{"".join(figs)}</div></div>'
        )
    return _section("storyboard", "".join(rows) or "<p>No scenes on this branch.</p>")


def _kv_table(pairs: Sequence[tuple[str, Any]], cls: str = "kv", volatile: bool = False) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(_show(v))}</td></tr>" for k, v in pairs)
    flag = " data-volatile" if volatile else ""
    return f'<table class="{cls}"{flag}>{rows}</table>'


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) or "none"
    return str(value)


def provenance_section(record: Mapping[str, Any]) -> str:
    """The appendix: parameters, models and their file hashes, seeds, versions, content hash, this run."""
    params = record.get("parameters", {})
    parts = ["<h3>Parameters</h3>", _kv_table(sorted(params.items()))]
    proj = record.get("project", {})
    parts += [
        "<h3>Project</h3>",
        _kv_table(
            [
                ("File", proj.get("file")),
                ("Title", proj.get("title")),
                ("IFID", proj.get("ifid")),
                ("Content hash (sha256)", proj.get("content_hash")),
            ]
        ),
    ]
    models = record.get("models", [])
    rows = "".join(
        f"<tr><td>{esc(m.get('role', ''))}</td><td>{esc(_show(m.get('spec')))}</td>"
        f'<td class="long">{esc(_show(m.get("fingerprint")))}</td></tr>'
        for m in models
    )
    parts += [
        "<h3>Models</h3>",
        '<table class="grid"><tr><th>Role</th><th>Spec</th><th>Fingerprint '
        f"(backend, model, file hashes)</th></tr>{rows}</table>",
    ]
    scenes = record.get("scenes", [])
    rows = "".join(
        f"<tr><td>{i}</td><td>{esc(s.get('title', ''))}</td><td>{esc(_show(s.get('source')))}</td>"
        f"<td>{esc(_show(s.get('model')))}</td><td>{esc(_show(s.get('seed')))}</td>"
        f"<td>{esc(_show(s.get('take_seed')))}</td><td>{esc(_show(s.get('chosen_by')))}</td>"
        f"<td><code>{esc(_show(s.get('take')))}</code></td></tr>"
        for i, s in enumerate(scenes, start=1)
    )
    parts += [
        "<h3>Scenes and seeds</h3>",
        '<table class="grid"><tr><th>#</th><th>Scene</th><th>Source</th><th>Model</th><th>Seed</th>'
        f"<th>Take seed</th><th>Chosen by</th><th>Take</th></tr>{rows}</table>",
    ]
    versions = record.get("versions", {})
    parts += ["<h3>Package versions</h3>", _kv_table(sorted(versions.items()))]
    run = record.get("run", {})
    if run:
        parts += [
            "<h3 data-volatile>This run</h3>",
            _kv_table([(k.replace("_", " ").capitalize(), v) for k, v in run.items()], volatile=True),
        ]
    return _section("provenance", "".join(parts))
