"""The media gallery: a scene's storyboard frames and table read; regenerate with another seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import audio_html, image_html
from .base import SessionView, safe_call
from .components import LiveHTML, Select

if TYPE_CHECKING:
    from ..session import Session


class MediaGallery(SessionView):
    """Storyboard frames and a table read for one scene (or a whole branch)."""

    scene_id = param.String(default="", doc="The scene shown ('' = the start scene).")
    frames = param.Integer(default=3, bounds=(1, 8), doc="Frames per storyboard.")
    seed = param.Integer(default=0, doc="The storyboard seed; 'Another seed' moves it on.")
    frame_shas = param.List(default=[], doc="The frames shown (asset sha256s in the project).")
    audio_sha = param.String(default="", doc="The table read shown (an asset sha256), or ''.")

    def __init__(self, session: Session, **params: Any) -> None:
        self._frames_seed: int | None = None  # the seed the frames shown were drawn with
        super().__init__(session, **params)
        self.scene_select = Select(label="Scene", options={}, width=260, css_classes=["wb-media-scene"])
        self.frames_input = pn.widgets.IntInput(label="Frames", value=self.frames, start=1, end=8, width=80)
        self.seed_input = pn.widgets.IntInput(
            label="Seed", value=self.seed, width=100, css_classes=["wb-media-seed"]
        )
        self.board_button = pn.widgets.Button(
            label="Storyboard", color="primary", css_classes=["wb-storyboard"]
        )
        self.reseed_button = pn.widgets.Button(label="Another seed", css_classes=["wb-reseed"])
        self.read_button = pn.widgets.Button(label="Table read", css_classes=["wb-table-read"])
        self.frames_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-frames"])
        self.audio_pane = LiveHTML("", css_classes=["wb-table-read-audio"])
        self.frames_input.link(self, value="frames")
        self.seed_input.link(self, value="seed", bidirectional=True)
        self.scene_select.param.watch(self._on_select, "value")
        self.board_button.on_click(safe_call(self, lambda: self.storyboard()))
        self.reseed_button.on_click(safe_call(self, lambda: self.storyboard(seed=self.seed + 1)))
        self.read_button.on_click(safe_call(self, lambda: self.table_read()))
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.scene_select,
                self.frames_input,
                self.seed_input,
                pn.Column(
                    pn.Spacer(height=18), pn.Row(self.board_button, self.reseed_button, self.read_button)
                ),
            ),
            self._status,
            self.frames_pane,
            self.audio_pane,
            sizing_mode="stretch_width",
            css_classes=["wb-media-gallery"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def scene(self) -> Any:
        """The scene whose media is shown (the start scene when none is picked)."""
        return self._picked_scene()

    def _on_select(self, event: Any) -> None:
        if event.new:
            self.scene_id = event.new

    @param.depends("scene_id", watch=True)
    def _scene_changed(self) -> None:
        self._frames_seed = None
        self.frame_shas = []
        self.audio_sha = ""

    def storyboard(self, seed: int | None = None, wait: bool = False) -> Any:
        """Draw the scene's storyboard (in a thread); ``seed`` replaces the current seed."""
        scene = self.scene
        if scene is None:
            raise InvalidInput("there is no scene to draw yet")
        if seed is not None:
            self.seed = seed
        frames, seed_now = self.frames, self.seed

        def done(assets: list[Any]) -> None:
            # the seed these frames were drawn with (a frame drawn alike before keeps the
            # provenance of its first drawing: the same picture is one asset)
            self._frames_seed = seed_now
            self.frame_shas = [a.sha256 for a in assets]
            self.status = f"{len(assets)} frames, seed {seed_now}"

        thread = self.in_background(
            lambda: self.session.storyboard(scene, frames=frames, seed=seed_now),
            done,
            label=f"drawing {frames} frames of {scene.title}",
        )
        if wait:
            thread.join()
        return thread

    def table_read(self, wait: bool = False) -> Any:
        scene = self.scene
        if scene is None:
            raise InvalidInput("there is no scene to read yet")

        def done(asset: Any) -> None:
            self.audio_sha = asset.sha256
            self.status = "table read ready"

        thread = self.in_background(
            lambda: self.session.table_read(scene), done, label=f"reading {scene.title}"
        )
        if wait:
            thread.join()
        return thread

    @param.depends("frame_shas", "audio_sha", watch=True)
    def refresh(self) -> None:
        project = self.project
        self.scene_select.options = {title: sid for sid, title in project.scene_titles()}
        scene = self.scene
        if scene is not None:
            self.scene_select.value = scene.id
        assets = project.assets
        shown = [assets.get(s) for s in self.frame_shas if s in assets]

        def seed_of(a: Any) -> Any:
            return self._frames_seed if self._frames_seed is not None else a.provenance.get("seed", "")

        self.frames_pane.object = "".join(
            image_html(a, width=256, css="wb-frame", caption=f"frame {i + 1} · seed {seed_of(a)}")
            for i, a in enumerate(shown)
        )
        self.audio_pane.object = audio_html(assets.get(self.audio_sha)) if self.audio_sha in assets else ""
