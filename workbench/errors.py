"""The errors Story Workbench raises on purpose.

Every one derives from :class:`WorkbenchError` and carries a message written for
a writer, not a programmer: what went wrong, and what to do about it. A program that
shows errors to a writer catches :class:`WorkbenchError` and prints the message; anything
else that escapes is a bug.

The examples below share a scratch folder and the sample story:

    >>> import tempfile, pathlib
    >>> import workbench
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sample = workbench.build_sample(folder / "sample.story")
    >>> try:
    ...     sample.scene("The Lighthouse Keeper's Cat")
    ... except workbench.WorkbenchError as exc:
    ...     print(exc)
    no scene called "The Lighthouse Keeper's Cat" in 'The Last Light of Skerry Point'
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class of every error the package raises on purpose.

    >>> issubclass(SceneNotFound, WorkbenchError) and issubclass(ServerError, WorkbenchError)
    True
    """


# --- project files -----------------------------------------------------------
class ProjectError(WorkbenchError):
    """Something is wrong with a project file.

    >>> [cls.__name__ for cls in (ProjectNotFound, NotAProject, DamagedProject, NewerSchema, ProjectClosed)
    ...  if issubclass(cls, ProjectError)]
    ['ProjectNotFound', 'NotAProject', 'DamagedProject', 'NewerSchema', 'ProjectClosed']
    """


class ProjectNotFound(ProjectError, FileNotFoundError):
    """The project file does not exist (and creating it was not asked for).

    Also a :class:`FileNotFoundError`.

    >>> workbench.open_project(folder / "missing.story", create=False)
    Traceback (most recent call last):
    ...
    workbench.errors.ProjectNotFound: there is no project at .../missing.story
    """


class NotAProject(ProjectError):
    """The file exists but is not a Story Workbench project.

    >>> _ = (folder / "notes.txt").write_text("a shopping list")
    >>> workbench.open_project(folder / "notes.txt")
    Traceback (most recent call last):
    ...
    workbench.errors.NotAProject: .../notes.txt is not a Story Workbench project (it is not even a database file)
    """


class DamagedProject(ProjectError):
    """The file looks like a project but is truncated or corrupt.

    >>> whole = (folder / "sample.story")
    >>> workbench.build_sample(folder / "copy.story").close()
    >>> data = (folder / "copy.story").read_bytes()
    >>> _ = (folder / "cut.story").write_bytes(data[: len(data) // 2])
    >>> workbench.open_project(folder / "cut.story")
    Traceback (most recent call last):
    ...
    workbench.errors.DamagedProject: .../cut.story is damaged: it is shorter than its header says (...). Restore it from a backup (workbench backup).
    """


class NewerSchema(ProjectError):
    """The project was written by a newer version of Story Workbench.

    Nothing is changed: the file stays as the newer version wrote it.

    >>> import sqlite3
    >>> workbench.open_project(folder / "future.story").close()
    >>> db = sqlite3.connect(folder / "future.story")
    >>> _ = db.execute("pragma user_version = 99"); db.commit(); db.close()
    >>> workbench.open_project(folder / "future.story")
    Traceback (most recent call last):
    ...
    workbench.errors.NewerSchema: .../future.story was saved by a newer Story Workbench (file format 99, ...); upgrade story-workbench to open it
    """


class ProjectClosed(ProjectError):
    """The project handle was closed.

    >>> closed = workbench.open_project(folder / "closed.story")
    >>> closed.close()
    >>> closed.title
    Traceback (most recent call last):
    ...
    workbench.errors.ProjectClosed: the project closed.story is closed; open it again with open_project()
    """


class ProjectBusy(ProjectError):
    """Another program held the project's write lock longer than the lock timeout; the message says who.

    ```python
    try:
        project.rename(scene, "The Quay")
    except workbench.errors.ProjectBusy as exc:
        print(exc)  # who holds the lock (program, host, user, what it is doing): try again later
    ```
    """


class PluginError(WorkbenchError):
    """An installed plug-in (backend, format or view) failed to load; the message names it and the cause.

    Raised when the plug-in is used, never when it is merely installed.

    >>> from importlib.metadata import EntryPoint
    >>> from workbench.plugins import Plugin
    >>> broken = Plugin("workbench.formats", "docx", "no_such_module:FORMAT",
    ...                 _entry_point=EntryPoint("docx", "no_such_module:FORMAT", "workbench.formats"))
    >>> broken.load()
    Traceback (most recent call last):
    ...
    workbench.errors.PluginError: the plug-in 'docx' in workbench.formats failed to load: ModuleNotFoundError: No module named 'no_such_module'. Reinstall or fix that package, or uninstall it
    """


# --- the story graph ---------------------------------------------------------
class StoryError(WorkbenchError):
    """An edit to the story that cannot be made.

    >>> issubclass(SceneNotFound, StoryError) and issubclass(DuplicateName, StoryError)
    True
    """


class SceneNotFound(StoryError, KeyError):
    """No scene with that id or title.

    Also a :class:`KeyError`, so ``project.scene(x)`` behaves like a mapping look-up.

    >>> sample.scene("Nowhere")
    Traceback (most recent call last):
    ...
    workbench.errors.SceneNotFound: no scene called 'Nowhere' in 'The Last Light of Skerry Point'
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "scene not found"


class CharacterNotFound(StoryError, KeyError):
    """No character with that name or id.

    >>> sample.cast["Nobody"]
    Traceback (most recent call last):
    ...
    workbench.errors.CharacterNotFound: no character called 'Nobody' in this project (cast: Mara Quell, Tomas Reyes, Ines Quell)
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "character not found"


class BranchNotFound(StoryError, KeyError):
    """No branch with that name.

    >>> sample.branches["sequel"]
    Traceback (most recent call last):
    ...
    workbench.errors.BranchNotFound: no branch called 'sequel' (branches: main, ines)
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "branch not found"


class TakeNotFound(StoryError, KeyError):
    """No take with that id.

    >>> sample.take("t_000000000000")
    Traceback (most recent call last):
    ...
    workbench.errors.TakeNotFound: ...
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "take not found"


class CycleError(StoryError):
    """A choice would make the story loop back on itself.

    Kept for compatibility: the story graph may loop (hubs, "back to the square", "try again"),
    so nothing in Story Workbench raises it for a loop any more. Code that caught it still runs.

    >>> issubclass(CycleError, StoryError)
    True
    """


class AmbiguousPathError(StoryError):
    """Several paths lead to a scene and no branch says which one is meant.

    >>> story = workbench.open_project(folder / "merge.story")
    >>> dock = story.add_scene("Dock")
    >>> left = story.add_scene("Left", after=dock, choice="go left")
    >>> right = story.add_scene("Right", after=dock, choice="go right")
    >>> inn = story.add_scene("Inn", after=left, choice="walk on")
    >>> _ = story.connect(right, inn, "walk on")
    >>> story.path(inn)
    Traceback (most recent call last):
    ...
    workbench.errors.AmbiguousPathError: several paths lead to 'Inn' (through Left, Right); say which branch you mean
    """


class DuplicateName(StoryError):
    """A branch, scene or character of that name already exists.

    >>> sample.add_scene("The Lamp Goes Dark")
    Traceback (most recent call last):
    ...
    workbench.errors.DuplicateName: there is already a scene called 'The Lamp Goes Dark'; pick another title
    """


class NothingToUndo(StoryError):
    """There is no change left to undo.

    >>> workbench.open_project(folder / "fresh.story").undo()
    Traceback (most recent call last):
    ...
    workbench.errors.NothingToUndo: there is nothing to undo
    """


class NothingToRedo(NothingToUndo):
    """There is no undone change left to redo (or the writer changed something since the undo).

    >>> workbench.open_project(folder / "fresh.story").redo()
    Traceback (most recent call last):
    ...
    workbench.errors.NothingToRedo: there is nothing to redo
    """


class UndoConflict(StoryError):
    """A step cannot be undone: someone else changed the same part of the story since.

    ```python
    with project.acting_as("alice"):
        try:
            project.undo()
        except workbench.errors.UndoConflict as exc:
            print(exc)  # names whose later change is in the way; nothing was changed
    ```
    """


class InvalidInput(WorkbenchError, ValueError):
    """A value given by the user is not acceptable (empty, too long, wrong type).

    Also a :class:`ValueError`.

    >>> sample.add_scene("   ")
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidInput: a scene title cannot be empty
    """


# --- cast library ------------------------------------------------------------
class CastError(WorkbenchError):
    """A problem with the cast library or a character card.

    >>> issubclass(CardError, CastError)
    True
    """


class CardError(CastError):
    """A character card could not be read or written.

    >>> from workbench.story.cards import card_v3_to_character
    >>> card_v3_to_character({"spec": "chara_card_v3"})
    Traceback (most recent call last):
    ...
    workbench.errors.CardError: the card has no 'data' object (is it a V1 card? import it through workbench import)
    """


class StaleCharacter(CastError):
    """A library character was changed by someone else since it was read (its revision moved on).

    ```python
    try:
        library.update("Mara Quell", description="A lighthouse keeper who counts ships.")
    except workbench.errors.StaleCharacter as exc:
        print(exc)  # someone changed her card meanwhile: look at their change, then make yours again
    ```
    """


class CastBusy(CastError):
    """The cast library stayed locked by another program longer than the lock timeout.

    ```python
    try:
        library.add("Mara Quell", description="A lighthouse keeper.")
    except workbench.errors.CastBusy as exc:
        print(exc)  # another program is changing the library: try again in a moment
    ```
    """


class UnsafeName(InvalidInput):
    """A name from a card or another file holds HTML markup (names are shown in pages and reports).

    ```python
    try:
        project.cast.add("<b>Mara</b>")
    except workbench.errors.UnsafeName as exc:
        print(exc)  # write the name as plain text
    ```
    """


# --- generation --------------------------------------------------------------
class GenerationError(WorkbenchError):
    """Text, image or voice generation failed.

    Catch it around a model call to tell the writer what went wrong and keep the story as it was:

    >>> try:
    ...     raise ServerError("http://gpu-box:8000/v1 did not answer; is the server running?")
    ... except GenerationError as exc:
    ...     print(f"no new takes: {exc}")
    no new takes: http://gpu-box:8000/v1 did not answer; is the server running?
    """


class ModelUnavailable(GenerationError):
    """The model asked for cannot be loaded here (not installed, not found, offline).

    >>> issubclass(UnknownModelSpec, ModelUnavailable)
    True
    """


class UnknownModelSpec(ModelUnavailable):
    """The model spec string names no known backend.

    >>> from workbench.generate import backend_factory, parse_spec
    >>> backend_factory(parse_spec("nosuch:model"))
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownModelSpec: no text backend called 'nosuch' (model spec 'nosuch:model'). Known: .... Install the package that provides it, or register one with workbench.generate.register_backend.
    """


class ServerError(GenerationError):
    """An inference server could not be reached or answered with an error.

    The message names the URL and what to check (see the how-to on inference servers).

    >>> issubclass(ServerError, GenerationError)
    True
    """


class InvalidOutput(GenerationError):
    """The model's output did not have the required structure, even after retries.

    >>> from workbench.generate.structured import validate
    >>> validate({"choices": []}, {"type": "object", "properties": {"choices": {"type": "array", "minItems": 1}}})
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidOutput: ...
    """


class GenerationStopped(GenerationError):
    """Generation was stopped by the user before it finished.

    Raised only when no take produced any text; takes with text come back marked ``"stopped"``.

    >>> issubclass(GenerationStopped, GenerationError)
    True
    """


class ContextOverflow(GenerationError):
    """The prompt cannot be made to fit the model's context window.

    >>> issubclass(ContextOverflow, GenerationError)
    True
    """


# --- interop -----------------------------------------------------------------
class FormatError(WorkbenchError):
    r"""A file to import or export is malformed; the message names the line or field.

    >>> from workbench.interop.registry import import_file
    >>> _ = (folder / "bad.twee").write_text(":: StoryData\n{not json\n")
    >>> import_file(folder / "bad.twee", workbench.open_project(folder / "import.story"))
    Traceback (most recent call last):
    ...
    workbench.errors.FormatError: bad.twee: line 2: StoryData is not valid JSON (...)
    """


class UnknownFormat(FormatError):
    """No exporter or importer is registered under that name or suffix.

    >>> from workbench.interop.registry import get_format
    >>> get_format("docx")
    Traceback (most recent call last):
    ...
    workbench.errors.UnknownFormat: no format called or ending in 'docx'; known formats: ...
    """


class TooLarge(FormatError, InvalidInput):
    """An input exceeds the size limit.

    The size is checked before anything is read, so nothing is parsed and nothing changes.

    >>> from workbench.interop.registry import import_file
    >>> import_file(folder / "bad.twee", workbench.open_project(folder / "import.story"), max_bytes=4)
    Traceback (most recent call last):
    ...
    workbench.errors.TooLarge: .../bad.twee: file is 23 bytes; the limit for twee is 4 bytes
    """


# --- reports -----------------------------------------------------------------
class ReportError(WorkbenchError):
    """The pitch report could not be produced.

    >>> from workbench.report import run_report
    >>> run_report(folder / "missing.story", folder / "pitch.html", progress=False)
    Traceback (most recent call last):
    ...
    workbench.errors.ReportError: ...
    """


__all__ = [
    name for name, obj in dict(globals()).items() if isinstance(obj, type) and issubclass(obj, Exception)
]
