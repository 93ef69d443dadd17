"""The cast board: character cards with portrait, fields to edit, a voice to try, cards in and out."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import audio_html, esc, image_html
from ..story.cast import open_cast, slug
from .base import SessionView, safe_call
from .components import LiveHTML, Select, set_text, text_box, typed

if TYPE_CHECKING:
    from ..session import Session

EDITABLE = ("description", "personality", "appearance", "speech_style")


class CastBoard(SessionView):
    """One card per character: portrait, editable fields, voice, card export; add from the library or a card file."""

    voice_text = param.String(
        default="The sea keeps what it takes.", doc="The line a character speaks on Play."
    )

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self._audio: dict[str, str] = {}  # character name -> sha256 of the line played last (an asset)
        self._signature: tuple[Any, ...] = ()
        self.cards = pn.FlexBox(css_classes=["wb-cast-cards"], sizing_mode="stretch_width")
        self.library_select = Select(
            label="From the cast library", options=[], width=240, css_classes=["wb-library-select"]
        )
        self.add_library_button = pn.widgets.Button(label="Add to story", css_classes=["wb-add-library"])
        self.new_name = text_box(
            pn.widgets.TextInput(
                label="New character", placeholder="name", width=200, css_classes=["wb-new-name"]
            )
        )
        self.add_new_button = pn.widgets.Button(label="Add", css_classes=["wb-add-new"])
        self.library_note = LiveHTML("", css_classes=["wb-library-damaged"], sizing_mode="stretch_width")
        self.card_file = pn.widgets.FileInput(accept=".json,.png", css_classes=["wb-card-file"])
        self.import_button = pn.widgets.Button(label="Import card", css_classes=["wb-import-card"])
        self.line_input = text_box(
            pn.widgets.TextInput(
                label="Line to speak", value=self.voice_text, width=360, css_classes=["wb-voice-text"]
            )
        )
        self.line_input.link(self, value="voice_text")
        self.add_library_button.on_click(
            safe_call(self, lambda: self.add_from_library(self.library_select.value))
        )
        self.add_new_button.on_click(safe_call(self, lambda: self.add(typed(self.new_name))))
        self.import_button.on_click(safe_call(self, self._import_upload))
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.library_select,
                pn.Column(pn.Spacer(height=18), self.add_library_button),
                self.new_name,
                pn.Column(pn.Spacer(height=18), self.add_new_button),
            ),
            self.library_note,
            pn.FlexBox(self.card_file, self.import_button, self.line_input),
            self._status,
            self.cards,
            sizing_mode="stretch_width",
            css_classes=["wb-cast-board"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # ---- actions (also callable from code)
    def add(self, name: str, **fields: Any) -> Any:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("give the new character a name")
        ch = self.project.cast.add(name.strip(), **fields)
        set_text(self.new_name, "")
        self.status = f"added {ch.name}"
        return ch

    def add_from_library(self, name: str | None) -> Any:
        if not name:
            raise InvalidInput("pick a character from the cast library first")
        ch = self.project.cast.use(open_cast()[name])
        self.status = f"added {ch.name} from the cast library"
        return ch

    def update(self, name: str, **fields: Any) -> Any:
        """Change a character's fields (a new version of the character in this project)."""
        ch = self.project.cast[name]
        ch.update(**fields)
        self.status = f"saved {name}"
        return ch

    def remove(self, name: str) -> None:
        """Take a character out of this story (one undoable step; the cast library keeps them)."""
        self.project.cast.remove(name)
        self.status = f"removed {name} from the story (Undo brings them back)"

    def save_to_library(self, name: str) -> Any:
        """Save the project's character into the shared cast library."""
        saved = open_cast().save(self.project.cast[name])
        self.status = f"saved {name} to the cast library"
        return saved

    def portrait(self, name: str, seed: int | None = None) -> Any:
        return self.session.portrait(name, seed=seed)

    def play_line(self, name: str, text: str | None = None) -> Any:
        asset = self.session.voice_line(name, text if text is not None else self.voice_text)
        self._audio[name] = asset.sha256
        self.refresh()
        return asset

    def import_card(self, data: bytes, filename: str, to_library: bool = False) -> Any:
        """Import a character card (V1/V2/V3, JSON or PNG) given as bytes."""
        from ..interop.cards import import_card

        if not data:
            raise InvalidInput("choose a card file (.json or .png) first")
        suffix = Path(filename or "card.json").suffix.lower()
        if suffix not in (".json", ".png"):
            raise InvalidInput(f"a character card is a .json or .png file, not {filename!r}")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (slug(Path(filename).stem) + suffix)
            path.write_bytes(data)
            result = import_card(path, self.project, to_library=to_library)
        names = ", ".join(c.name for c in result.characters)
        self.status = f"imported {names}" + (f" ({'; '.join(result.warnings)})" if result.warnings else "")
        return result

    def _import_upload(self) -> Any:
        return self.import_card(self.card_file.value or b"", self.card_file.filename or "")

    def card_json(self, name: str, spec: str = "v3") -> bytes:
        from ..interop.cards import make_card

        card = make_card(self.project.cast[name], spec, self.project)
        return (json.dumps(card, ensure_ascii=False, indent=2) + "\n").encode()

    def card_png(self, name: str) -> bytes:
        from ..interop import cards

        return cards.png_card(self.project, self.project.cast[name])

    # ---- rendering
    def refresh(self) -> None:
        project = self.project
        in_story = set(project.cast.names())
        damaged: list[Any] = []
        try:
            chars, damaged = open_cast().scan()
            lib_names = [c.name for c in chars]
        except Exception as exc:  # an unreadable library folder must not hide the board
            lib_names = []
            self.library_note.object = (
                f"<div style='color:#b45309'>The cast library cannot be read: {esc(exc)}</div>"
            )
        else:
            self.library_note.object = (
                "<details style='color:#b45309;font:12px system-ui,sans-serif'><summary>"
                f"{len(damaged)} card{'s' if len(damaged) != 1 else ''} in the cast library cannot be used</summary>"
                + "".join(f"<div>{esc(d.file.name)}: {esc(d.reason)}</div>" for d in damaged)
                + "</details>"
                if damaged
                else ""
            )
        options = [n for n in lib_names if n not in in_story]
        self.library_select.options = options
        if self.library_select.value not in options:
            self.library_select.value = options[0] if options else None
        self.add_library_button.disabled = not self.library_select.options
        cast = list(project.cast)
        signature = tuple((c.id, c.version, c.data.get("portrait"), self._audio.get(c.name)) for c in cast)
        if signature != self._signature:  # rebuild cards only when a character changed
            self._signature = signature
            self.cards.objects = [self._card(ch) for ch in cast]

    def _card(self, ch: Any) -> pn.viewable.Viewable:
        name = ch.name
        data = ch.data
        portrait = ""
        if data.get("portrait") and data["portrait"] in self.project.assets:
            portrait = image_html(self.project.assets.get(data["portrait"]), width=160, css="wb-portrait")
        inputs = {
            f: text_box(
                pn.widgets.TextAreaInput(
                    label=f.replace("_", " ").capitalize(),
                    value=str(data.get(f) or ""),
                    height=60,
                    width=300,
                    css_classes=[f"wb-field-{f}"],
                )
            )
            for f in EDITABLE
        }
        voice = dict(data.get("voice") or {})
        speed = pn.widgets.FloatInput(
            label="Voice speed",
            value=float(voice.get("speed", 1.0)),
            step=0.05,
            start=0.5,
            end=2.0,
            width=100,
        )
        pitch = pn.widgets.FloatInput(
            label="Pitch (semitones)",
            value=float(voice.get("pitch", 0.0)),
            step=0.5,
            start=-12,
            end=12,
            width=120,
        )
        save = pn.widgets.Button(label="Save", color="primary", css_classes=["wb-save-character"])
        portrait_btn = pn.widgets.Button(label="Portrait", css_classes=["wb-portrait-button"])
        play = pn.widgets.Button(label="Play a line", css_classes=["wb-play-line"])
        to_lib = pn.widgets.Button(label="Save to library", css_classes=["wb-to-library"])

        def do_save() -> None:
            fields = {f: (typed(w)) for f, w in inputs.items()}
            self.update(name, **fields, voice={**voice, "speed": speed.value, "pitch": pitch.value})

        save.on_click(safe_call(self, do_save))
        portrait_btn.on_click(lambda _e: self._background(lambda: self.portrait(name), f"drawing {name}"))
        play.on_click(
            lambda _e: self._background(
                lambda: self.play_line(name, typed(self.line_input) or self.voice_text), f"{name} speaks"
            )
        )
        to_lib.on_click(safe_call(self, lambda: self.save_to_library(name)))
        remove = pn.widgets.Button(
            label="Remove from story", color="danger", css_classes=["wb-remove-character"]
        )
        remove.on_click(safe_call(self, lambda: self.remove(name)))
        download_json = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(self.card_json(name)),
            filename=f"{slug(name)}.json",
            label="Card (JSON)",
            color="light",
            css_classes=["wb-card-json"],
        )
        download_png = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(self.card_png(name)),
            filename=f"{slug(name)}.png",
            label="Card (PNG)",
            color="light",
            css_classes=["wb-card-png"],
        )
        audio = ""
        sha = self._audio.get(name)
        if sha and sha in self.project.assets:
            audio = audio_html(self.project.assets.get(sha))
        head = LiveHTML(
            f"{portrait}<div style='font:12px system-ui;color:#6b7280'>v{ch.version}"
            f"{' · from the cast library' if ch.library_id else ''}</div>",
            css_classes=["wb-card-head"],
        )
        return pn.Card(
            head,
            *inputs.values(),
            pn.Row(speed, pitch),
            pn.Row(save, portrait_btn, to_lib, remove),
            pn.Row(play, LiveHTML(audio, css_classes=["wb-voice"])),
            pn.Row(download_json, download_png),
            title=esc(name),  # Panel puts a Card's title into the page as HTML
            width=340,
            css_classes=["wb-character-card"],
            collapsible=False,
        )

    def _background(self, work: Any, label: str) -> None:
        self.attempt(lambda: self.in_background(work, lambda _r: self.refresh(), label=label))
