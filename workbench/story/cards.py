"""Character Card V3 <-> workbench character fields (JSON only; PNG cards live in interop/).

Card V3 spec: https://github.com/kwaroran/character-card-spec-v3 . Workbench fields the
card has no place for live under ``data.extensions["story_workbench"]`` with a ``version``
key; every other extension key and unknown ``data`` field is kept verbatim.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import CardError
from .model import CHARACTER_FIELDS

EXT_KEY = "story_workbench"
EXT_VERSION = 1
# workbench field -> card data field
CARD_MAP = {
    "description": "description",
    "personality": "personality",
    "scenario": "scenario",
    "first_message": "first_mes",
    "alternate_greetings": "alternate_greetings",
    "tags": "tags",
    "creator_notes": "creator_notes",
    "speech_style": "mes_example",
}
# workbench-only fields kept under extensions.story_workbench
EXT_FIELDS = ("appearance", "voice", "image_seed", "palette", "portrait")
KNOWN_DATA = set(CARD_MAP.values()) | {"name", "extensions", "character_version", "character_book"}


def character_to_card_v3(character: dict[str, Any]) -> dict[str, Any]:
    """A V3 card (``{"spec": "chara_card_v3", ...}``) from a character's fields (``to_dict()``)."""
    ch = {**CHARACTER_FIELDS, **copy.deepcopy(character)}
    data: dict[str, Any] = copy.deepcopy(ch.get("card_extra") or {})
    data["name"] = ch["name"]
    for ours, theirs in CARD_MAP.items():
        value = ch.get(ours)
        data[theirs] = list(value) if isinstance(value, (list, tuple)) else (value or "")
    data.setdefault("system_prompt", "")
    data.setdefault("post_history_instructions", "")
    data.setdefault("creator", "")
    data.setdefault("group_only_greetings", [])
    data["character_version"] = str(ch.get("version", 1))
    extensions = copy.deepcopy(ch.get("extensions") or {})
    ext = {"version": EXT_VERSION}
    if ch.get("id"):
        ext["id"] = ch.get("library_id") or ch["id"]
    if ch.get("revision") is not None:
        ext["revision"] = ch["revision"]
    for key in EXT_FIELDS:
        if ch.get(key) is not None:
            ext[key] = copy.deepcopy(ch[key])
    extensions[EXT_KEY] = ext
    data["extensions"] = extensions
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}


def card_v3_to_character(card: dict[str, Any]) -> dict[str, Any]:
    """Character fields (plus ``name``, and ``id``/``revision`` when the card has them) from a V2/V3 card."""
    if not isinstance(card, dict):
        raise CardError("a character card must be a JSON object")
    data = card.get("data") if "data" in card else None
    if data is None:
        raise CardError("the card has no 'data' object (is it a V1 card? import it through workbench import)")
    if not isinstance(data, dict):
        raise CardError("the card's 'data' field must be an object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CardError("the card's 'data.name' field is missing or empty")
    out: dict[str, Any] = {"name": name.strip()}
    for ours, theirs in CARD_MAP.items():
        if theirs in data:
            value = data[theirs]
            want_list = isinstance(CHARACTER_FIELDS[ours], list)
            if want_list:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise CardError(f"the card's 'data.{theirs}' field must be a list of strings")
                out[ours] = list(value)
            else:
                if value is None:
                    value = ""
                if not isinstance(value, str):
                    raise CardError(f"the card's 'data.{theirs}' field must be text")
                out[ours] = value
    extensions = data.get("extensions") or {}
    if not isinstance(extensions, dict):
        raise CardError("the card's 'data.extensions' field must be an object")
    extensions = copy.deepcopy(extensions)
    ext = extensions.pop(EXT_KEY, None) or {}
    if not isinstance(ext, dict):
        raise CardError(f"the card's 'extensions.{EXT_KEY}' field must be an object")
    for key in EXT_FIELDS:
        if key in ext:
            out[key] = ext[key]
    if "id" in ext:
        out["id"] = str(ext["id"])
    if "revision" in ext:
        out["revision"] = int(ext["revision"])
    out["extensions"] = extensions
    extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in KNOWN_DATA}
    for k in ("system_prompt", "post_history_instructions", "creator", "group_only_greetings"):
        if extra.get(k) in ("", [], None):
            extra.pop(k, None)
    if "character_book" in data:
        extra["character_book"] = copy.deepcopy(data["character_book"])
    out["card_extra"] = extra
    return out
