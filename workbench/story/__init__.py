"""The story model: projects, scenes, branches, takes, feedback, the cast, lore; pure Python + sqlite3."""

from .project import (
    Assets,
    Branch,
    Branches,
    Cast,
    Character,
    Choice,
    FeedbackEvent,
    Lore,
    LoreEntry,
    Project,
    Scene,
    Special,
    Specials,
    Structure,
    Take,
    open_project,
)
from .screenplay import Element, Line, ParsedScene, parse_scene

__all__ = [
    "Assets",
    "Branch",
    "Branches",
    "Cast",
    "Character",
    "Choice",
    "Element",
    "FeedbackEvent",
    "Line",
    "Lore",
    "LoreEntry",
    "ParsedScene",
    "Project",
    "Scene",
    "Special",
    "Specials",
    "Structure",
    "Take",
    "open_project",
    "parse_scene",
]
