"""The errors Story Workbench raises on purpose.

Every one derives from :class:`WorkbenchError` and carries a message written for
a writer, not a programmer: what went wrong, and what to do about it.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the package raises on purpose."""


# --- project files -----------------------------------------------------------
class ProjectError(WorkbenchError):
    """Something is wrong with a project file."""


class ProjectNotFound(ProjectError, FileNotFoundError):
    """The project file does not exist (and creating it was not asked for)."""


class NotAProject(ProjectError):
    """The file exists but is not a Story Workbench project."""


class DamagedProject(ProjectError):
    """The file looks like a project but is truncated or corrupt."""


class NewerSchema(ProjectError):
    """The project was written by a newer version of Story Workbench."""


class ProjectClosed(ProjectError):
    """The project handle was closed."""


class ProjectBusy(ProjectError):
    """Another program held the project's write lock longer than the lock timeout; the message says who."""


class PluginError(WorkbenchError):
    """An installed plug-in (backend, format or view) failed to load; the message names it and the cause."""


# --- the story graph ---------------------------------------------------------
class StoryError(WorkbenchError):
    """An edit to the story that cannot be made."""


class SceneNotFound(StoryError, KeyError):
    """No scene with that id or title."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "scene not found"


class CharacterNotFound(StoryError, KeyError):
    """No character with that name or id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "character not found"


class BranchNotFound(StoryError, KeyError):
    """No branch with that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "branch not found"


class TakeNotFound(StoryError, KeyError):
    """No take with that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "take not found"


class CycleError(StoryError):
    """A choice would make the story loop back on itself."""


class AmbiguousPathError(StoryError):
    """Several paths lead to a scene and no branch says which one is meant."""


class DuplicateName(StoryError):
    """A branch, scene or character of that name already exists."""


class NothingToUndo(StoryError):
    """There is no change left to undo."""


class UndoConflict(StoryError):
    """A step cannot be undone: someone else changed the same part of the story since."""


class InvalidInput(WorkbenchError, ValueError):
    """A value given by the user is not acceptable (empty, too long, wrong type)."""


# --- cast library ------------------------------------------------------------
class CastError(WorkbenchError):
    """A problem with the cast library or a character card."""


class CardError(CastError):
    """A character card could not be read or written."""


class StaleCharacter(CastError):
    """A library character was changed by someone else since it was read (its revision moved on)."""


class CastBusy(CastError):
    """The cast library stayed locked by another program longer than the lock timeout."""


class UnsafeName(InvalidInput):
    """A name from a card or another file holds HTML markup (names are shown in pages and reports)."""


# --- generation --------------------------------------------------------------
class GenerationError(WorkbenchError):
    """Text, image or voice generation failed."""


class ModelUnavailable(GenerationError):
    """The model asked for cannot be loaded here (not installed, not found, offline)."""


class UnknownModelSpec(ModelUnavailable):
    """The model spec string names no known backend."""


class ServerError(GenerationError):
    """An inference server could not be reached or answered with an error."""


class InvalidOutput(GenerationError):
    """The model's output did not have the required structure, even after retries."""


class GenerationStopped(GenerationError):
    """Generation was stopped by the user before it finished."""


class ContextOverflow(GenerationError):
    """The prompt cannot be made to fit the model's context window."""


# --- interop -----------------------------------------------------------------
class FormatError(WorkbenchError):
    """A file to import or export is malformed; the message names the line or field."""


class UnknownFormat(FormatError):
    """No exporter or importer is registered under that name or suffix."""


class TooLarge(FormatError, InvalidInput):
    """An input exceeds the size limit."""


# --- reports -----------------------------------------------------------------
class ReportError(WorkbenchError):
    """The pitch report could not be produced."""


__all__ = [
    name for name, obj in dict(globals()).items() if isinstance(obj, type) and issubclass(obj, Exception)
]
