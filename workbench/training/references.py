"""Trainer references on a character: voice samples, pose and expression images.

The blobs are project assets (content-addressed, so they travel in the project file).
Each character lists its references under ``extensions["story_workbench_refs"]``:

    {"voice_ref": [{"sha256": "...", "mime": "audio/wav", "note": "calm"}], "pose_ref": [...], ...}

``extensions`` is kept verbatim by the cast library and by card export, so the list survives
a round trip through Character Card V3 files (the blobs themselves stay in the project).
Media backends take references as bytes: :func:`references_for` gives the
``{character name: bytes}`` mapping that ``Session.storyboard``/``make_storyboard(...,
references=...)`` and the diffusers backend's IP-Adapter path accept.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..story.model import Asset
from ..story.project import Character, Project

__all__ = [
    "EXTENSION_KEY",
    "REFERENCE_KINDS",
    "add_reference",
    "references",
    "references_for",
    "remove_reference",
]

EXTENSION_KEY = "story_workbench_refs"
REFERENCE_KINDS = {"voice_ref": "audio/", "pose_ref": "image/", "expression_ref": "image/"}
MAX_REFERENCE_BYTES = 20 * 1024 * 1024


def _character(project: Project, character: Character | str) -> Character:
    return project.cast[character] if isinstance(character, str) else character


def add_reference(
    project: Project, character: Character | str, kind: str, data: bytes, mime: str, note: str = ""
) -> Asset:
    """Store ``data`` as an asset and list it on the character under ``kind`` (one undoable step)."""
    if kind not in REFERENCE_KINDS:
        raise InvalidInput(f"a reference kind is one of {', '.join(REFERENCE_KINDS)}, not {kind!r}")
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidInput("a reference needs some data (bytes)")
    if len(data) > MAX_REFERENCE_BYTES:
        raise InvalidInput(
            f"a reference is at most {MAX_REFERENCE_BYTES:,} bytes; this one has {len(data):,}"
        )
    if not isinstance(mime, str) or not mime.startswith(REFERENCE_KINDS[kind]):
        raise InvalidInput(f"a {kind} is {REFERENCE_KINDS[kind]}*, not {mime!r}")
    char = _character(project, character)
    with project.transaction(f"add {kind} to {char.name}"):
        asset = project.assets.put(bytes(data), mime, {"character": char.id, "reference": kind}, kind=kind)
        extensions = dict(char.extensions)
        refs = {k: list(v) for k, v in dict(extensions.get(EXTENSION_KEY) or {}).items()}
        entries = [e for e in refs.get(kind, []) if e.get("sha256") != asset.sha256]
        entries.append({"sha256": asset.sha256, "mime": mime, "note": note})
        refs[kind] = entries
        extensions[EXTENSION_KEY] = refs
        char.update(extensions=extensions)
    return asset


def references(project: Project, character: Character | str, kind: str | None = None) -> list[Asset]:
    """The character's reference assets (of one ``kind``, or all), in the order they were added."""
    char = _character(project, character)
    refs: dict[str, Any] = dict(char.extensions.get(EXTENSION_KEY) or {})
    kinds = [kind] if kind else list(refs)
    out = []
    for k in kinds:
        for entry in refs.get(k, []):
            sha = entry.get("sha256")
            if sha and sha in project.assets:
                out.append(project.assets.get(sha))
    return out


def remove_reference(project: Project, character: Character | str, sha256: str) -> None:
    """Take a reference off the character's list (the blob stays until the project is compacted)."""
    char = _character(project, character)
    extensions = dict(char.extensions)
    refs = {
        k: [e for e in v if e.get("sha256") != sha256]
        for k, v in dict(extensions.get(EXTENSION_KEY) or {}).items()
    }
    extensions[EXTENSION_KEY] = {k: v for k, v in refs.items() if v}
    char.update(extensions=extensions)


def references_for(project: Project, kind: str = "pose_ref") -> dict[str, bytes]:
    """``{character name: bytes}`` of each character's latest ``kind`` reference, for ``references=``."""
    out: dict[str, bytes] = {}
    for char in project.cast:
        found = references(project, char, kind)
        if found:
            out[char.name] = found[-1].data
    return out
