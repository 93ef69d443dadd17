"""Blind A/B for trainers: two takes of a scene side by side with nothing that tells where each
came from; the pick is logged as a preference (an ``ab`` feedback event), then revealed."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import esc, screenplay_html, take_origin
from ..training.ab import ABPair, ab_pair
from .base import SessionView, safe_call
from .components import LiveHTML, Select

if TYPE_CHECKING:
    from ..session import Session

CARD = "border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px;min-height:120px"


class ABView(SessionView):
    """Two takes of a scene as "A" and "B" in random order; "A is better" / "B is better" logs the
    pick over the other take for training (TRL preference pairs), then shows which was which.

    >>> view = ABView(session, seed=1)       # doctest: +SKIP
    >>> view.pick("a")                       # doctest: +SKIP
    """

    scene_id = param.String(default="", doc="The scene whose takes are compared ('' = the first with two).")
    picks = param.Integer(default=0, doc="Picks logged in this view.")

    def __init__(self, session: Session, seed: int | None = None, **params: Any) -> None:
        super().__init__(session, **params)
        self._rng = random.Random(seed)
        self.pair: ABPair | None = None
        self._revealed = False
        self.scene_select = Select(label="Scene", options={}, width=260, css_classes=["wb-ab-scene"])
        self.a_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-ab-a"])
        self.b_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-ab-b"])
        self.a_button = pn.widgets.Button(label="A is better", color="primary", css_classes=["wb-ab-pick-a"])
        self.b_button = pn.widgets.Button(label="B is better", color="primary", css_classes=["wb-ab-pick-b"])
        self.next_button = pn.widgets.Button(label="Another pair", css_classes=["wb-ab-next"])
        self.reveal_pane = LiveHTML("", sizing_mode="stretch_width", css_classes=["wb-ab-reveal"])
        self.scene_select.param.watch(self._on_scene, "value")
        self.a_button.on_click(safe_call(self, lambda: self.pick("a")))
        self.b_button.on_click(safe_call(self, lambda: self.pick("b")))
        self.next_button.on_click(safe_call(self, self.next_pair))
        self._layout = pn.Column(
            self._alert,
            pn.FlexBox(
                self.scene_select,
                pn.Column(pn.Spacer(height=18), self.next_button),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            pn.FlexBox(
                pn.Column(self.a_pane, self.a_button, sizing_mode="stretch_width", min_width=300),
                pn.Column(self.b_pane, self.b_button, sizing_mode="stretch_width", min_width=300),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            self.reveal_pane,
            self._status,
            sizing_mode="stretch_width",
            css_classes=["wb-ab-view"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def _comparable(self) -> dict[str, str]:
        """Scenes with two takes of different text, by title."""
        out = {}
        for sc in self.project.scenes:
            if len({t.text for t in sc.takes}) >= 2:
                out[sc.title] = sc.id
        return out

    def _on_scene(self, event: Any) -> None:
        if event.new and event.new != self.scene_id:
            self.scene_id = event.new
            self.attempt(self.next_pair)

    def next_pair(self) -> ABPair:
        """Two different takes of the scene, in an order drawn at random."""
        scenes = self._comparable()
        if not scenes:
            raise InvalidInput("no scene has two different takes yet: generate more takes first")
        sid = self.scene_id if self.scene_id in scenes.values() else next(iter(scenes.values()))
        self.scene_id = sid
        self.pair = ab_pair(self.project, sid, self._rng)
        self._revealed = False
        self._show()
        return self.pair

    def pick(self, which: str) -> Any:
        """Log ``"a"`` or ``"b"`` as the better take (once per pair), then reveal the two."""
        if self.pair is None:
            raise InvalidInput("there is no pair to judge yet")
        if self._revealed:
            raise InvalidInput("this pair is judged: click Another pair")
        winner = self.pair.record(which, rater=self.rater)
        self._revealed = True
        self.picks += 1
        self.status = (
            f"logged: {which.upper()} over {'B' if which.lower() == 'a' else 'A'} ({self.picks} this time)"
        )
        self._show()
        return winner

    def _show(self) -> None:
        cast = [c.name for c in self.project.cast]
        pair = self.pair
        if pair is None:
            self.a_pane.object = self.b_pane.object = ""
            self.reveal_pane.object = (
                "<p class='wb-empty' style='color:#6b7280'>Pick a scene with two or more takes.</p>"
            )
            return
        for pane, take, name in ((self.a_pane, pair.a, "A"), (self.b_pane, pair.b, "B")):
            pane.object = f"<div style='{CARD}'><b>{name}</b>{screenplay_html(take.text, cast)}</div>"
        self.a_button.disabled = self.b_button.disabled = self._revealed
        if self._revealed:
            self.reveal_pane.object = (
                f"<p class='wb-ab-revealed' style='font:13px system-ui,sans-serif'>A was "
                f"{esc(take_origin(pair.a))}; B was {esc(take_origin(pair.b))}.</p>"
            )
        else:
            self.reveal_pane.object = ""

    def refresh(self) -> None:
        options = self._comparable()
        if options != self.scene_select.options:
            self.scene_select.options = options
        if self.pair is None and options:
            try:
                self.next_pair()
            except InvalidInput:
                pass
        if self.scene_id in options.values():
            self.scene_select.value = self.scene_id
        if self.pair is None:
            self._show()
