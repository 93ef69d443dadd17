"""Play: read a story one move at a time (``Session.play``), with continuity and a player view."""

from __future__ import annotations

from ..story.continuity import CharacterState, Continuity, SceneContinuity, derive
from .core import Play, PlayBusy, is_play_branch

__all__ = ["CharacterState", "Continuity", "Play", "PlayBusy", "SceneContinuity", "derive", "is_play_branch"]
