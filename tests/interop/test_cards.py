"""Character cards: PNG/JSON, V1/V2/V3, character_book <-> lore, hostile input."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from workbench.errors import CardError, TooLarge
from workbench.interop import cards
from workbench.interop.registry import export_project, import_file
from workbench.story import open_project
from workbench.story.cast import open_cast

from .conftest import content_digest

V1 = {
    "name": "Old Tom",
    "description": "A ferryman.",
    "personality": "gruff",
    "scenario": "The river.",
    "first_mes": "Fare's a penny.",
    "mes_example": "<START>\n{{char}}: Penny.",
    "avatar": "none",
}
BOOK = {
    "name": "River lore",
    "scan_depth": 4,
    "extensions": {"tool": 1},
    "entries": [
        {
            "keys": ["ferry"],
            "content": "The ferry sank in 1901.",
            "enabled": True,
            "insertion_order": 3,
            "extensions": {"depth": 2},
            "comment": "Ferry",
        },
        {
            "keys": [],
            "content": "Always foggy.",
            "constant": True,
            "enabled": True,
            "insertion_order": 1,
            "priority": 7,
            "extensions": {},
        },
        {"keys": ["x"], "content": "Disabled.", "enabled": False, "insertion_order": 0, "extensions": {}},
    ],
}
V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Nell",
        "description": "A smuggler.",
        "personality": "quick",
        "scenario": "Docks.",
        "first_mes": "Quiet!",
        "mes_example": "",
        "creator_notes": "Made in ST.",
        "system_prompt": "Be Nell.",
        "post_history_instructions": "",
        "alternate_greetings": ["Psst.", "Over here."],
        "tags": ["rogue"],
        "creator": "someone",
        "character_version": "2",
        "extensions": {"talkativeness": "0.5", "fav": True},
        "character_book": BOOK,
    },
}
V3 = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        **V2["data"],
        "name": "Wren",
        "nickname": "Birdie",
        "group_only_greetings": ["All of you!"],
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
        "creation_date": 1700000000,
        "x_unknown": {"kept": [1, 2]},
    },
}
V3["data"].pop("character_book")


def png_bytes(size=(8, 8), colour=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def read_png_text(path):
    """An independent reader: Pillow's own PNG text chunks."""
    with Image.open(path) as im:
        return {k: json.loads(base64.b64decode(v)) for k, v in im.text.items()}


def test_png_cards_carry_both_chunks_read_back_by_pillow(story, tmp_path):
    written = export_project(story, "card-v3", tmp_path / "cast", png=True)
    assert [p.name for p in written] == ["mara.png", "jonah.png", "elspeth.png"]
    chunks = read_png_text(written[0])
    assert set(chunks) == {"chara", "ccv3"}
    v2, v3 = chunks["chara"], chunks["ccv3"]
    assert v2["spec"] == "chara_card_v2" and v3["spec"] == "chara_card_v3"
    mara = story.cast["Mara"]
    for card in (v2, v3):
        data = card["data"]
        assert data["name"] == "Mara" and data["description"] == mara.description
        assert data["personality"] == mara.personality and data["first_mes"] == mara.first_message
        assert data["alternate_greetings"] == ["Storm's coming."] and data["tags"] == ["lead"]
        assert data["extensions"]["other_tool"] == {"mood": "wary"}
        ours = data["extensions"]["story_workbench"]
        assert ours["version"] == 1 and ours["voice"] == {"speed": 1.05, "pitch": -1.0}
        assert ours["appearance"] == "oilskin coat, grey braid"
        assert ours["image_seed"] == mara.image_seed and ours["palette"] == mara.palette
        entries = data["character_book"]["entries"]
        assert [(e["keys"], e["content"], e["constant"]) for e in entries] == [
            (list(e.keys), e.content, e.always) for e in story.lore
        ]
    assert "use_regex" in v3["data"]["character_book"]["entries"][0]
    assert "use_regex" not in v2["data"]["character_book"]["entries"][0]
    elspeth = read_png_text(tmp_path / "cast" / "elspeth.png")
    assert elspeth["ccv3"]["data"]["nickname"] == "Elsie"  # unknown card fields kept
    assert "nickname" not in elspeth["chara"]["data"]  # a V3-only field is not in the V2 card
    with Image.open(written[0]) as im:
        im.load()
        assert im.size == (256, 384)


def test_png_card_round_trip_keeps_every_field(story, tmp_path):
    portrait = story.assets.put(png_bytes((16, 24)), "image/png", kind="portrait")
    story.cast["Jonah"].update(portrait=portrait.sha256)
    written = export_project(story, "card-v3", tmp_path / "cast", png=True)
    with open_project(tmp_path / "copy.wbproj") as copy:
        for path in written:
            import_file(path, copy)
        for a, b in zip(story.cast, copy.cast):
            da, db = a.to_dict(), b.to_dict()
            db["card_extra"].pop("character_book")
            for key in ("id", "version"):
                da.pop(key), db.pop(key)
            assert db == da
        assert copy.assets.get(portrait.sha256).data == portrait.data  # the picture, byte for byte
        assert [(e.keys, e.content, e.always, e.priority, e.name) for e in copy.lore] == [
            (e.keys, e.content, e.always, e.priority, e.name) for e in story.lore
        ]  # no duplicates


def test_json_cards_v2_and_v3(story, tmp_path):
    v2_files = export_project(story, "card-v2", tmp_path / "v2")
    card = json.loads(v2_files[0].read_text())
    assert card["spec"] == "chara_card_v2" and card["spec_version"] == "2.0"
    for key in (
        "name",
        "description",
        "personality",
        "scenario",
        "first_mes",
        "mes_example",
        "creator_notes",
        "system_prompt",
        "post_history_instructions",
        "alternate_greetings",
        "tags",
        "creator",
        "character_version",
        "extensions",
    ):
        assert key in card["data"], key
    v3 = json.loads(export_project(story, "card-v3", tmp_path / "v3", lore=False)[2].read_text())
    assert v3["spec"] == "chara_card_v3" and "character_book" not in v3["data"]


@pytest.mark.parametrize("spec", ["v1", "v2", "v3"])
@pytest.mark.parametrize("as_png", [False, True])
def test_realistic_cards_import(tmp_path, spec, as_png):
    card = {"v1": V1, "v2": V2, "v3": V3}[spec]
    raw = json.dumps(card).encode()
    if as_png:
        path = tmp_path / "card.png"
        key = "ccv3" if spec == "v3" else "chara"
        path.write_bytes(
            cards.write_png_card(png_bytes(), {})[:-12]
            + cards._chunk(b"tEXt", key.encode() + b"\0" + base64.b64encode(raw))
            + cards._chunk(b"IEND", b"")
        )
    else:
        path = tmp_path / "card.json"
        path.write_bytes(raw)
    with open_project(tmp_path / "p.wbproj") as project:
        result = import_file(path, project)
        [ch] = list(project.cast)
        assert result.format == f"card-{spec}"
        if spec == "v1":
            assert ch.name == "Old Tom" and ch.first_message == "Fare's a penny."
            assert ch.card_extra["mes_example"] if "mes_example" in ch.card_extra else ch.speech_style
            assert ch.card_extra["avatar"] == "none"
            assert len(project.lore) == 0
        else:
            assert ch.alternate_greetings == ["Psst.", "Over here."]
            assert ch.extensions == {"talkativeness": "0.5", "fav": True}
            assert ch.card_extra["system_prompt"] == "Be Nell."
        if spec == "v2":
            lore = list(project.lore)
            assert [(e.keys, e.content, e.always, e.priority, e.name) for e in lore] == [
                (("ferry",), "The ferry sank in 1901.", False, 3, "Ferry"),
                ((), "Always foggy.", True, 7, "always"),
            ] or sorted(e.content for e in lore) == ["Always foggy.", "The ferry sank in 1901."]
            assert any("disabled" in w for w in result.warnings)
            # exporting again keeps the book's own fields and the disabled entry
            out = export_project(project, "card-v2", tmp_path / "again")[0]
            book = json.loads(out.read_text())["data"]["character_book"]
            assert book["scan_depth"] == 4 and book["extensions"] == {"tool": 1}
            ferry = next(e for e in book["entries"] if e["keys"] == ["ferry"])
            assert ferry["extensions"] == {"depth": 2}
            assert any(e["content"] == "Disabled." and e["enabled"] is False for e in book["entries"])
        if spec == "v3":
            assert ch.card_extra["nickname"] == "Birdie" and ch.card_extra["x_unknown"] == {"kept": [1, 2]}
            assert ch.card_extra["group_only_greetings"] == ["All of you!"]
        if as_png:
            assert ch.portrait and project.assets.get(ch.portrait).data == png_bytes()


def test_import_to_library(tmp_path):
    path = tmp_path / "nell.json"
    path.write_text(json.dumps(V2))
    lib = open_cast(tmp_path / "library")
    with open_project(tmp_path / "p.wbproj") as project:
        result = import_file(path, project, to_library=True, library=lib)
        assert [p.name for p in result.library] == ["nell.json"]
        assert lib["Nell"].alternate_greetings == ["Psst.", "Over here."]
        assert project.cast["Nell"].library_id == lib["Nell"].id
        with pytest.raises(CardError, match="already has a character called 'Nell'"):
            import_file(path, project, to_library=True, library=lib)


def bomb_png(width=100_000, height=100_000):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    return (
        cards.PNG_SIGNATURE
        + cards._chunk(b"IHDR", ihdr)
        + cards._chunk(b"IDAT", idat)
        + cards._chunk(b"IEND", b"")
    )


def zero_png(width=6300, height=6300):
    """An all-black 1-bit picture: a few kilobytes on disk, under the 40-million-pixel cap, and
    159 MB once converted to RGBA (355 MB measured to decode and convert it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\0" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (
        cards.PNG_SIGNATURE
        + cards._chunk(b"IHDR", ihdr)
        + cards._chunk(b"IDAT", idat)
        + cards._chunk(b"IEND", b"")
    )


def with_card(png: bytes, key: str, payload: bytes) -> bytes:
    return png[:-12] + cards._chunk(b"tEXt", key.encode() + b"\0" + payload) + cards._chunk(b"IEND", b"")


HOSTILE = [
    ("nocard.png", png_bytes(), CardError, "no character card in it"),
    (
        "bomb.png",
        with_card(bomb_png(), "chara", base64.b64encode(json.dumps(V2).encode())),
        CardError,
        "100,000 x 100,000 pixels",
    ),
    (
        "zeros.png",
        with_card(zero_png(), "chara", base64.b64encode(json.dumps(V2).encode())),
        CardError,
        "MB once decoded; the limit is 64 MB",
    ),
    (
        "markup.json",
        json.dumps({"spec": "chara_card_v2", "data": {"name": "<img src=x onerror=alert(1)>"}}).encode(),
        CardError,
        "contains HTML markup",
    ),
    (
        "huge.png",
        with_card(png_bytes(), "ccv3", b"A" * 3_000_000),
        TooLarge,
        "ccv3 chunk: the base64 card text",
    ),
    ("notb64.png", with_card(png_bytes(), "chara", b"!!!notbase64!!!"), CardError, "not valid base64"),
    ("latin.json", json.dumps(V1).encode().replace(b"Old Tom", b"Old T\xf6m"), CardError, "not UTF-8"),
    ("slash.json", json.dumps({**V1, "name": "../../etc/passwd"}).encode(), CardError, "data.name"),
    (
        "backslash.json",
        json.dumps({"spec": "chara_card_v2", "data": {"name": "a\\b"}}).encode(),
        CardError,
        "data.name",
    ),
    ("broken.json", b'{"spec": "chara_card_v2", "data": {"name": ', CardError, "not valid JSON (line 1"),
    ("list.json", b"[1, 2]", CardError, "must be a JSON object"),
    ("spec.json", b'{"spec": "chara_card_v9", "data": {}}', CardError, "unknown card spec"),
    (
        "greetings.json",
        json.dumps({"spec": "chara_card_v2", "data": {"name": "N", "alternate_greetings": "hi"}}).encode(),
        CardError,
        "data.alternate_greetings",
    ),
    (
        "book.json",
        json.dumps(
            {
                "spec": "chara_card_v2",
                "data": {"name": "N", "character_book": {"entries": [{"keys": "ferry", "content": "x"}]}},
            }
        ).encode(),
        CardError,
        "character_book.entries[0].keys",
    ),
    (
        "voice.json",
        json.dumps(
            {
                "spec": "chara_card_v3",
                "data": {"name": "N", "extensions": {"story_workbench": {"version": 1, "voice": "loud"}}},
            }
        ).encode(),
        CardError,
        "extensions.story_workbench.voice",
    ),
    ("bigjson.json", b'{"name": "' + b"x" * 2_200_000 + b'"}', TooLarge, "card JSON"),
    ("truncated.png", png_bytes()[:30], CardError, "truncated"),
]


@pytest.mark.parametrize(("name", "data", "error", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_cards_are_refused_and_write_nothing(story, tmp_path, name, data, error, message):
    path = tmp_path / name
    path.write_bytes(data)
    before = content_digest(story)
    with pytest.raises(error) as err:
        import_file(path, story)
    assert message in str(err.value)
    assert name in str(err.value)
    assert content_digest(story) == before


def test_oversized_card_file_is_refused_before_reading(story, tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as fh:
        fh.truncate(21 * 1024 * 1024)
    with pytest.raises(TooLarge, match="limit"):
        import_file(path, story)


def test_duplicate_character_rolls_back_the_lore(story, tmp_path):
    path = tmp_path / "mara.json"
    path.write_text(json.dumps({**V2, "data": {**V2["data"], "name": "Mara"}}))
    before = content_digest(story)
    with pytest.raises(CardError, match="already has a character called 'Mara'"):
        import_file(path, story)
    assert content_digest(story) == before


def test_card_export_into_a_file_path_is_refused(story, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(CardError, match="is a file"):
        export_project(story, "card-v3", target)


def test_a_picture_is_sized_by_its_decoded_memory_before_it_is_decoded(monkeypatch):
    from PIL import ImageFile

    from workbench.generate.media import open_reference_image

    data = zero_png()
    assert len(data) < 100_000 and 6300 * 6300 < cards.MAX_PIXELS
    assert open_reference_image(png_bytes()).size == (8, 8)  # a small picture still opens
    loads = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self) or None)
    with pytest.raises(TooLarge, match="6,300 x 6,300 pixels: 151 MB once decoded"):
        open_reference_image(data)
    assert loads == []  # refused from the header: not a pixel was decoded


def test_exported_cards_replace_a_link_and_never_write_through_it(story, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("keep me")
    out = tmp_path / "cards"
    out.mkdir()
    name = cards.slug(next(iter(story.cast)).name)
    (out / f"{name}.json").symlink_to(outside)
    export_project(story, "card-v3", out)
    assert outside.read_text() == "keep me"
    written = out / f"{name}.json"
    assert not written.is_symlink() and json.loads(written.read_text())["spec"] == "chara_card_v3"
