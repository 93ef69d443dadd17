"""Character cards: V1, V2 (``chara_card_v2``) and V3 (``chara_card_v3``), as JSON and PNG.

* JSON cards are the card object itself. PNG cards carry it base64-encoded in
  ``tEXt`` chunks: ``chara`` (V2) and ``ccv3`` (V3); we write both and read
  ``ccv3`` first. V1 (flat) cards are read too.
* The V3 field mapping is :mod:`workbench.story.cards`; this module adds PNG,
  V1/V2 reading, V2 writing and ``character_book`` <-> project lore entries.
  Unknown ``extensions`` keys and card ``data`` fields survive verbatim; our own
  fields sit under ``extensions["story_workbench"]`` (with ``"version"``).
* Hostile input is refused with a :class:`CardError` naming the field: files over
  20 MB, JSON over 2 MB, oversized base64, non-UTF-8 text, pictures past Pillow's
  decompression-bomb guard (chunks are read without decoding pixels), names with
  path separators, control characters or HTML markup.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import json
import re
import struct
import uuid
import warnings
import zlib
from pathlib import Path
from typing import Any

from ..errors import CardError, TooLarge, WorkbenchError
from ..files import atomic_write_bytes, atomic_write_text
from ..generate.images import MAX_DECODED_BYTES, check_decoded_size, decoded_bytes
from ..story.cards import EXT_KEY, card_v3_to_character, character_to_card_v3
from ..story.cast import slug
from ..story.names import markup_in
from .registry import Format, ImportResult, read_limited

__all__ = [
    "CARD_V2",
    "CARD_V3",
    "MAX_CARD_FILE",
    "MAX_CARD_JSON",
    "card_to_character",
    "character_book_to_lore",
    "export_cards",
    "import_card",
    "make_card",
    "png_card",
    "png_text_chunks",
    "read_card",
    "write_png_card",
]

MAX_CARD_FILE = 20 * 1024 * 1024  # a whole card file (PNG or JSON)
MAX_CARD_JSON = 2 * 1024 * 1024  # the card JSON itself, decoded
MAX_PIXELS = 40_000_000  # a portrait larger than this is refused before Pillow decodes it
MAX_CHUNKS = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_CHUNKS = ("ccv3", "chara")  # read order
V3_ONLY = ("assets", "nickname", "creator_notes_multilingual", "source", "group_only_greetings",
           "creation_date", "modification_date")  # fmt: skip
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
_BAD_NAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]")


# --- PNG chunks ----------------------------------------------------------------
def _chunks(data: bytes, where: str) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks as (type, data), checked for length and CRC; pixels are not decoded."""
    if not data.startswith(PNG_SIGNATURE):
        raise CardError(f"{where}: not a PNG file (bad signature)")
    out: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise CardError(f"{where}: the PNG is truncated (no IEND chunk)")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        if length > len(data) - pos - 12:
            raise CardError(f"{where}: PNG chunk {ctype!r} claims {length:,} bytes, more than the file holds")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise CardError(f"{where}: PNG chunk {ctype.decode('latin-1')!r} is damaged (bad CRC)")
        out.append((ctype, body))
        pos += 12 + length
        if ctype == b"IEND":
            return out
        if len(out) > MAX_CHUNKS:
            raise CardError(f"{where}: the PNG has more than {MAX_CHUNKS:,} chunks")


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)
    )


def png_text_chunks(data: bytes, where: str = "card") -> dict[str, bytes]:
    """Text chunks (``tEXt``, ``iTXt``, ``zTXt``) by keyword; compressed ones are inflated with a bound."""
    found: dict[str, bytes] = {}
    for ctype, body in _chunks(data, where):
        if ctype not in (b"tEXt", b"iTXt", b"zTXt") or b"\x00" not in body:
            continue
        key_raw, rest = body.split(b"\x00", 1)
        key = key_raw.decode("latin-1")
        if key not in CARD_CHUNKS or key in found:
            continue
        if ctype == b"tEXt":
            found[key] = rest
        elif ctype == b"zTXt":
            found[key] = _inflate(rest[1:], f"{where}: {key}")
        else:  # iTXt: compression flag, method, language\0, translated keyword\0, text
            if len(rest) < 2:
                continue
            flag, rest = rest[0], rest[2:]
            parts = rest.split(b"\x00", 2)
            if len(parts) < 3:
                continue
            found[key] = _inflate(parts[2], f"{where}: {key}") if flag else parts[2]
    return found


def _inflate(raw: bytes, where: str) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, MAX_CARD_JSON * 2)
    except zlib.error:
        raise CardError(f"{where}: the compressed text chunk is damaged") from None
    if d.unconsumed_tail:
        raise TooLarge(f"{where}: the compressed card text inflates past {MAX_CARD_JSON * 2:,} bytes")
    return out


def strip_card_chunks(data: bytes) -> bytes:
    """The PNG without its card text chunks (the picture itself, byte for byte otherwise)."""
    out = [PNG_SIGNATURE]
    for ctype, body in _chunks(data, "image"):
        if (
            ctype in (b"tEXt", b"iTXt", b"zTXt")
            and body.split(b"\x00", 1)[0].decode("latin-1") in CARD_CHUNKS
        ):
            continue
        out.append(_chunk(ctype, body))
    return b"".join(out)


def write_png_card(image: bytes, cards: dict[str, dict[str, Any]]) -> bytes:
    """``image`` (PNG bytes) with ``cards`` (``{"chara": v2, "ccv3": v3}``) in ``tEXt`` chunks before IEND."""
    chunks = _chunks(strip_card_chunks(image), "image")
    extra = b""
    for key in ("chara", "ccv3"):
        if key in cards:
            payload = json.dumps(cards[key], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            extra += _chunk(b"tEXt", key.encode("latin-1") + b"\x00" + base64.b64encode(payload))
    body = b"".join(_chunk(t, b) for t, b in chunks[:-1])
    return PNG_SIGNATURE + body + extra + _chunk(b"IEND", b"")


def _check_picture(data: bytes, where: str) -> tuple[int, int]:
    """Width and height; refuses pictures past the pixel limit (Pillow's bomb guard stays on)."""
    chunks = _chunks(data, where)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) < 8:
        raise CardError(f"{where}: the PNG has no valid IHDR header")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise CardError(
            f"{where}: the picture is {width:,} x {height:,} pixels; the limit is {MAX_PIXELS:,} pixels"
        )
    if decoded_bytes(width, height) > MAX_DECODED_BYTES:  # memory, not pixels: checked before decoding
        raise CardError(
            f"{where}: the picture is {width:,} x {height:,} pixels, {decoded_bytes(width, height) / 2**20:,.0f} MB "
            f"once decoded; the limit is {MAX_DECODED_BYTES / 2**20:,.0f} MB. Scale the portrait down."
        )
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise CardError(f"{where}: the picture is too large to open safely ({exc})") from None
        except Exception as exc:
            raise CardError(f"{where}: the picture cannot be read ({exc})") from None
    return width, height


# --- card JSON -----------------------------------------------------------------
def _decode_json(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > MAX_CARD_JSON:
        raise TooLarge(f"{where}: the card JSON is {len(raw):,} bytes; the limit is {MAX_CARD_JSON:,} bytes")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CardError(f"{where}: the card is not UTF-8 text (byte {exc.start})") from None
    try:
        card = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(
            f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise CardError(f"{where}: the card JSON is nested too deeply") from None
    if not isinstance(card, dict):
        raise CardError(f"{where}: a character card must be a JSON object")
    return card


def _decode_b64(raw: bytes, where: str) -> dict[str, Any]:
    raw = raw.strip()
    if len(raw) * 3 // 4 > MAX_CARD_JSON:
        raise TooLarge(
            f"{where}: the base64 card text is {len(raw):,} bytes; the card JSON limit is {MAX_CARD_JSON:,} bytes"
        )
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        try:  # some writers drop the padding
            decoded = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise CardError(f"{where}: the chunk is not valid base64") from None
    return _decode_json(decoded, where)


def read_card(data: bytes, where: str = "card") -> tuple[dict[str, Any], bytes | None, list[str]]:
    """(card object, the PNG picture without card chunks or None, warnings) from file bytes."""
    notes: list[str] = []
    if data.startswith(PNG_SIGNATURE):
        texts = png_text_chunks(data, where)
        if not texts:
            raise CardError(f"{where}: the PNG has no character card in it (no 'ccv3' or 'chara' text chunk)")
        card = None
        for key in CARD_CHUNKS:
            if key in texts:
                try:
                    card = _decode_b64(texts[key], f"{where}: {key} chunk")
                    break
                except CardError as exc:
                    if key == CARD_CHUNKS[-1] or "chara" not in texts:
                        raise
                    notes.append(f"{exc}; read the 'chara' chunk instead")
        assert card is not None
        _check_picture(data, f"{where}: picture")
        return card, strip_card_chunks(data), notes
    return _decode_json(data, where), None, notes


def _spec(card: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """(``"v1"``/``"v2"``/``"v3"``, a card with a ``data`` object)."""
    spec = card.get("spec")
    if spec is None:
        if "data" not in card and isinstance(card.get("name"), str):
            unknown = {k: v for k, v in card.items() if k not in V1_FIELDS}
            data = {k: card[k] for k in V1_FIELDS if k in card}
            data.update(unknown)
            return "v1", {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}
        raise CardError(f"{where}: spec: not a character card (no 'spec' field and no V1 'name')")
    if spec == "chara_card_v3":
        return "v3", card
    if spec == "chara_card_v2":
        return "v2", card
    raise CardError(f"{where}: spec: unknown card spec {spec!r} (expected chara_card_v2 or chara_card_v3)")


def _check_types(fields: dict[str, Any], where: str) -> None:
    name = fields.get("name", "")
    if _BAD_NAME_RE.search(name) or name in (".", ".."):
        raise CardError(f"{where}: data.name {name[:60]!r} contains a path separator or control character")
    found = markup_in(name)
    if found is not None:  # see workbench.story.names: a name is never markup
        raise CardError(
            f"{where}: data.name {name[:60]!r} contains HTML markup ({found!r}); names are shown in pages "
            "and reports, so the card is refused. Rename the character in the card and import it again."
        )
    ext = f"data.extensions.{EXT_KEY}"
    checks = {
        "voice": (dict, "an object"),
        "appearance": (str, "text"),
        "image_seed": (int, "an integer"),
        "palette": (str, "a colour like '#3a7bd5'"),
        "portrait": (str, "a sha256 hex digest"),
    }
    for key, (typ, what) in checks.items():
        value = fields.get(key)
        if value is not None and (not isinstance(value, typ) or isinstance(value, bool)):
            raise CardError(f"{where}: {ext}.{key} must be {what}")
    if fields.get("palette") is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", fields["palette"]):
        raise CardError(f"{where}: {ext}.palette must be a colour like '#3a7bd5'")
    if fields.get("portrait") is not None and not re.fullmatch(r"[0-9a-f]{64}", fields["portrait"]):
        raise CardError(f"{where}: {ext}.portrait must be a sha256 hex digest")


def card_to_character(card: dict[str, Any], where: str = "card") -> tuple[str, dict[str, Any]]:
    """(spec, character fields with ``name``) from a V1, V2 or V3 card object, validated."""
    spec, v3like = _spec(card, where)
    try:
        fields = card_v3_to_character(v3like)
    except CardError as exc:
        raise CardError(f"{where}: {exc}") from None
    _check_types(fields, where)
    return spec, fields


def _book_entries(book: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(book, dict):
        raise CardError(f"{where}: data.character_book must be an object")
    entries = book.get("entries", [])
    if not isinstance(entries, list):
        raise CardError(f"{where}: data.character_book.entries must be a list")
    for i, e in enumerate(entries):
        at = f"{where}: data.character_book.entries[{i}]"
        if not isinstance(e, dict):
            raise CardError(f"{at} must be an object")
        keys = e.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise CardError(f"{at}.keys must be a list of text")
        if not isinstance(e.get("content", ""), str):
            raise CardError(f"{at}.content must be text")
        for key in ("priority", "insertion_order"):
            if e.get(key) is not None and (not isinstance(e[key], (int, float)) or isinstance(e[key], bool)):
                raise CardError(f"{at}.{key} must be a number")
        for key in ("name", "comment"):
            if e.get(key) is not None and not isinstance(e[key], str):
                raise CardError(f"{at}.{key} must be text")
    return entries


def character_book_to_lore(book: Any, where: str = "card") -> tuple[list[dict[str, Any]], list[str]]:
    """Lore entries (``keys``, ``content``, ``always``, ``priority``, ``name``) from a character book."""
    out, notes = [], []
    for i, e in enumerate(_book_entries(book, where)):
        content = e.get("content", "")
        keys = [k.strip() for k in e.get("keys", []) if k.strip()]
        always = bool(e.get("constant", False))
        if e.get("enabled", True) is False:
            notes.append(
                f"{where}: character_book entry {i} is disabled; kept in the card, not added to lore"
            )
            continue
        if not content.strip() or (not keys and not always):
            notes.append(f"{where}: character_book entry {i} has no content or keywords; left out of lore")
            continue
        priority = e.get("priority", e.get("insertion_order", 0)) or 0
        out.append({"keys": keys, "content": content, "always": always, "priority": int(priority),
                    "name": e.get("name") or e.get("comment") or None})  # fmt: skip
    return out, notes


# --- writing cards -------------------------------------------------------------------
def _lore_book(project: Any, stored: Any, spec: str) -> dict[str, Any] | None:
    stored = stored if isinstance(stored, dict) else {}
    old_entries = [e for e in stored.get("entries", []) if isinstance(e, dict)]
    lore = list(project.lore) if project is not None else []
    if not lore and not old_entries:
        return None
    book = {k: copy.deepcopy(v) for k, v in stored.items() if k != "entries"}
    book.setdefault("name", getattr(project, "title", "") or "")
    book.setdefault("extensions", {})
    entries = []
    for i, le in enumerate(lore):
        match = next((e for e in old_entries
                      if list(e.get("keys", [])) == list(le.keys) and e.get("content") == le.content), None)  # fmt: skip
        e = copy.deepcopy(match) if match else {
            "keys": [], "content": "", "extensions": {}, "enabled": True, "insertion_order": i,
            "case_sensitive": False, "id": i, "comment": "", "selective": False, "secondary_keys": [],
            "position": "before_char",
        }  # fmt: skip
        e.update(
            keys=list(le.keys), content=le.content, constant=le.always, priority=le.priority, name=le.name
        )
        if spec == "v3":
            e.setdefault("use_regex", False)
        entries.append(e)
    entries += [copy.deepcopy(e) for e in old_entries if e.get("enabled", True) is False]
    book["entries"] = entries
    return book


def make_card(character: Any, spec: str = "v3", project: Any = None, lore: bool = True) -> dict[str, Any]:
    """A V2 or V3 card object for a project character (or a ``to_dict()``-style mapping)."""
    fields = character.to_dict() if hasattr(character, "to_dict") else dict(character)
    card = character_to_card_v3(fields)
    data = card["data"]
    stored_book = data.pop("character_book", None)
    book = _lore_book(project if lore else None, stored_book, spec) if lore else stored_book
    if book is not None:
        data["character_book"] = book
    if spec == "v3":
        return card
    if spec != "v2":
        raise ValueError(f"spec must be 'v2' or 'v3', not {spec!r}")
    v2 = {k: v for k, v in data.items() if k not in V3_ONLY}
    if "character_book" in v2:
        for e in v2["character_book"].get("entries", []):
            e.pop("use_regex", None)
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": v2}


def _placeholder_png(colour: str) -> bytes:
    from PIL import Image

    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)) if re.fullmatch(r"#[0-9a-fA-F]{6}", colour) else (
        90, 90, 110)  # fmt: skip
    buf = io.BytesIO()
    Image.new("RGB", (256, 384), rgb).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _portrait_png(project: Any, character: Any) -> bytes:
    sha = getattr(character, "portrait", None)
    if sha and project is not None and sha in project.assets:
        asset = project.assets.get(sha)
        if asset.mime == "image/png" and asset.data.startswith(PNG_SIGNATURE):
            return asset.data
        from PIL import Image

        check_decoded_size(asset.data, f"the portrait of {getattr(character, 'name', 'the character')}")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(asset.data)) as im:
                buf = io.BytesIO()
                im.convert("RGBA").save(buf, format="PNG")
                return buf.getvalue()
    return _placeholder_png(getattr(character, "palette", None) or "")


def png_card(project: Any, character: Any, lore: bool = True) -> bytes:
    """A PNG character card: the portrait (or a plain swatch) carrying both a V2 ``chara`` and a V3
    ``ccv3`` chunk, as SillyTavern and other tools read them."""
    cards = {
        "chara": make_card(character, "v2", project, lore),
        "ccv3": make_card(character, "v3", project, lore),
    }
    return write_png_card(_portrait_png(project, character), cards)


def export_cards(project: Any, out_path: Path, *, spec: str = "v3", png: bool | str = False,
                 lore: bool | str = True, **_: Any) -> list[Path]:  # fmt: skip
    """Write the project's cast into the folder ``out_path``: one card per character.

    ``png=True`` writes PNG cards (the portrait, or a plain swatch, with both ``chara`` and
    ``ccv3`` chunks); otherwise JSON cards of ``spec``. ``lore=False`` leaves the project's
    lore out of each card's ``character_book``.
    """
    png = _flag(png)
    lore = _flag(lore)
    out = Path(out_path)
    if out.exists() and not out.is_dir():
        raise CardError(f"{out} is a file; card export writes a folder of cards")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for ch in project.cast:
        base = slug(ch.name)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        if png:
            data = png_card(project, ch, lore)
            target = out / f"{name}.png"
            atomic_write_bytes(target, data)
        else:
            card = make_card(ch, spec, project, lore)
            target = out / f"{name}.json"
            atomic_write_text(target, json.dumps(card, ensure_ascii=False, indent=2) + "\n")
        written.append(target)
    return written


def _flag(value: bool | str) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "png")
    return bool(value)


# --- importing -----------------------------------------------------------------------
def import_card(path: Path, project: Any, *, to_library: bool | str = False, library: Any = None,
                max_bytes: int = MAX_CARD_FILE, **_: Any) -> ImportResult:  # fmt: skip
    """Import one card file (V1/V2/V3, JSON or PNG) into the project; its book becomes lore.

    ``to_library=True`` also saves the character into the cast library (after every check passed).
    """
    where = Path(path).name
    data = read_limited(path, min(max_bytes, MAX_CARD_FILE), what="card file")
    card, picture, notes = read_card(data, where)
    spec, fields = card_to_character(card, where)
    book = (fields.get("card_extra") or {}).get("character_book")
    lore_items, more = character_book_to_lore(book, where) if book is not None else ([], [])
    notes += more
    name = fields.pop("name")
    fields.pop("id", None)
    fields.pop("revision", None)
    lib = None
    if _flag(to_library):
        from ..story.cast import open_cast

        lib = library if library is not None else open_cast()
        if name in lib:
            raise CardError(f"{where}: the cast library already has a character called {name!r}")
    if name in project.cast:
        raise CardError(f"{where}: the project already has a character called {name!r}")
    result = ImportResult(format=f"card-{spec}", warnings=notes)
    ours = (
        ((card.get("data") or {}).get("extensions") or {}).get(EXT_KEY)
        if isinstance(card.get("data"), dict)
        else None
    )
    if picture is not None and isinstance(ours, dict) and "portrait" not in ours:
        picture = None  # our own plain swatch for a character without a portrait
    if picture is not None:
        asset = project.assets.put(
            picture, "image/png", {"source": "character card", "file": where}, "portrait"
        )
        fields["portrait"] = asset.sha256
        result.assets.append(asset)
    elif fields.get("portrait") and fields["portrait"] not in project.assets:
        notes.append(f"{where}: the portrait {fields['portrait'][:12]}... is not in this project; left out")
        fields["portrait"] = None
    lid = f"c_{uuid.uuid4().hex[:12]}" if lib is not None else None
    try:
        extra = {"library_id": lid, "library_version": 1} if lid else {}
        character = project.cast.add(name, **extra, **fields)
    except WorkbenchError as exc:
        raise CardError(f"{where}: {exc}") from None
    result.characters.append(character)
    existing = {(tuple(e.keys), e.content) for e in project.lore}
    for item in lore_items:
        if (tuple(item["keys"]), item["content"]) in existing:
            continue
        existing.add((tuple(item["keys"]), item["content"]))
        result.lore.append(project.lore.add(**item))
    if lib is not None:
        from ..story.cast import LibraryCharacter

        saved = lib.save(LibraryCharacter(lid or "", name, 0, dict(fields)))
        if saved.file is not None:
            result.library.append(saved.file)
    return result


CARD_V2 = Format(
    name="card-v2",
    suffixes=(".json", ".png"),
    export=lambda project, out_path, **opts: export_cards(project, out_path, **{**opts, "spec": "v2"}),
    import_=import_card,
    description="Character Card V2 (chara_card_v2): the cast as JSON or PNG cards; reads V1/V2/V3",
    max_bytes=MAX_CARD_FILE,
)
CARD_V3 = Format(
    name="card-v3",
    suffixes=(".json", ".png"),
    export=lambda project, out_path, **opts: export_cards(project, out_path, **{**opts, "spec": "v3"}),
    import_=import_card,
    description="Character Card V3 (chara_card_v3): the cast as JSON or PNG cards; reads V1/V2/V3",
    max_bytes=MAX_CARD_FILE,
    priority=1,
)
