"""The steps the pitch report notebook runs: check parameters, fill the branch, make media, record provenance.

They run inside the notebook's kernel. Nothing here imports torch or transformers: the
text model loads only when a scene on the branch still needs a take, so a re-run with
nothing changed is served by the project's caches and loads no model.
"""

from __future__ import annotations

import platform
import resource
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ReportError, WorkbenchError

if TYPE_CHECKING:
    from ..generate.base import TextRequest, TextResult
    from ..session import Session

HEAVY_MODULES = ("torch", "transformers", "diffusers")
VERSION_PACKAGES = (
    "story-workbench",
    "torch",
    "transformers",
    "diffusers",
    "pillow",
    "jinja2",
    "papermill",
    "nbclient",
    "ipykernel",
)
FRAMES = 3

__all__ = [
    "CacheProbe",
    "ModelNeeded",
    "cache_probe",
    "check_parameters",
    "fill_branch",
    "make_media",
    "provenance_record",
    "run_facts",
    "sample_copy",
    "show_record",
    "show_section",
]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_parameters(
    project: Any,
    branch: Any,
    seed: Any,
    model: Any,
    title: Any = None,
    media: Any = True,
    max_new_tokens: Any = None,
) -> None:
    """Raise :class:`ReportError` naming the first parameter of the wrong type or value."""
    if not isinstance(project, (str, Path)) or not str(project).strip():
        raise ReportError(f"the project parameter must be a path to a project file, not {project!r}")
    if not isinstance(branch, str) or not branch.strip():
        raise ReportError(f"the branch parameter must be a branch name, not {branch!r}")
    if not _is_int(seed) or seed < 0:
        raise ReportError(f"the seed parameter must be a whole number >= 0, not {seed!r}")
    if not isinstance(model, str) or not model.strip():
        raise ReportError(f"the model parameter must be a model spec such as 'default', not {model!r}")
    if title is not None and not isinstance(title, str):
        raise ReportError(
            f"the title parameter must be text (or None for the project's title), not {title!r}"
        )
    if not isinstance(media, bool):
        raise ReportError(f"the media parameter must be True or False, not {media!r}")
    if max_new_tokens is not None and (not _is_int(max_new_tokens) or not 1 <= max_new_tokens <= 4096):
        raise ReportError(
            f"the max_new_tokens parameter must be a whole number from 1 to 4096 (or None), "
            f"not {max_new_tokens!r}"
        )


def sample_copy() -> str:
    """A fresh copy of the sample story in a temporary folder (removed when the kernel exits)."""
    import atexit
    import shutil
    import tempfile

    from ..story.sample import build_sample

    folder = tempfile.mkdtemp(prefix="workbench-pitch-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "sample.story"
    build_sample(path).close()
    return str(path)


def open_checked(project_path: str | Path, branch: str) -> Any:
    """Open the project (never creating one) and check that ``branch`` exists."""
    from ..story.project import open_project

    path = Path(project_path).expanduser()
    if not path.is_file():
        raise ReportError(f"no project file at {str(path)!r}: check the path")
    try:
        project = open_project(path, create=False)
    except WorkbenchError as exc:
        raise ReportError(f"cannot open the project {str(path)!r}: {exc}") from exc
    if branch not in project.branches:
        names = ", ".join(project.branches) or "none"
        project.close()
        raise ReportError(f"the project has no branch named {branch!r} (its branches: {names})")
    return project


class ModelNeeded(Exception):
    """A request is not in the generation cache: the real model has to run."""


class CacheProbe:
    """Stands in for the default text model where every result is already in the generation cache.

    The fingerprint, token counts and context window come from the converted model's files
    (``workbench-source.json``, ``tokenizer.json``, ``config.json``): no weights, no torch, no
    transformers. ``generate`` raises :class:`ModelNeeded`, so a request that is not cached
    falls back to the real model. A wrong guess can only cost a cache miss, never a wrong take:
    the cache key holds the fingerprint and the whole prompt.
    """

    # the local backend it stands for holds scenes to the screenplay grammar, so a cached run
    # asks for the same structured requests as the first one did
    supports_grammar = True

    def __init__(self, fingerprint: Mapping[str, Any], tokenizer: Any, context_window: int) -> None:
        self.spec = "default"
        self._fingerprint = dict(fingerprint)
        self._tokenizer = tokenizer
        self.context_window = context_window

    @property
    def fingerprint(self) -> dict[str, Any]:
        return dict(self._fingerprint)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def generate(self, request: TextRequest) -> list[TextResult]:
        raise ModelNeeded("this request is not in the generation cache")


def cache_probe(spec: str) -> CacheProbe | None:
    """A :class:`CacheProbe` for the ``default`` text model, or None where none can be made."""
    if spec != "default":
        return None
    try:
        import json

        import tokenizers

        from ..generate.local import DEFAULT_MODEL_ID, ensure_default_model_dir

        folder = ensure_default_model_dir()
        source = json.loads((folder / "workbench-source.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    except (ImportError, OSError, ValueError, KeyError, WorkbenchError):
        return None
    fingerprint = {
        "backend": "local",
        "model": DEFAULT_MODEL_ID,
        "file": source["gguf"],
        "sha256": source["sha256"],
    }
    return CacheProbe(fingerprint, tokenizer, int(config.get("max_position_embeddings") or 2048))


def fill_branch(session: Session, branch: str, seed: int, max_new_tokens: int | None = None) -> list[Any]:
    """Write one take (seed ``seed``) for each scene on ``branch`` without a chosen take, and choose it.

    The pick is a program's, so it is logged with ``rater="auto"``. Scenes are filled in order,
    so each new take sees the takes just written before it. A request already in the project's
    generation cache is served through a :class:`CacheProbe`, so no model loads for it.
    Returns the new takes.
    """
    from tqdm.auto import tqdm

    from ..generate.writer import DEFAULT_TAKES_TOKENS

    made = []
    probe: CacheProbe | None = None
    probing = True  # until a request misses the cache; then the real model stays loaded
    todo = {s.id: s for s in session.project.branches[branch].scenes if s.chosen is None}  # a loop revisits
    # (TQDM_DISABLE=1 in the report's kernel turns the bar off: no widget state in the report)
    for scene in tqdm(list(todo.values()), desc="takes", unit="scene") if todo else ():
        if scene.chosen is not None:
            continue
        print(f"writing a take of {scene.title!r} (seed {seed})", flush=True)
        kwargs: dict[str, Any] = {
            "n": 1,
            "seed": seed,
            "branch": branch,
            "choose": False,
            "max_new_tokens": max_new_tokens or DEFAULT_TAKES_TOKENS,
        }
        takes = None
        if probing and probe is None:
            probe = cache_probe(session.text_spec)
            probing = probe is not None
        if probing:
            session.text_generator = probe
            try:
                takes = session.write_scene(scene, **kwargs)
            except ModelNeeded:
                probing = False
            finally:
                if not probing:
                    session.text_generator = None  # the real model loads on first use
        if takes is None:
            takes = session.write_scene(scene, **kwargs)
        session.mark_auto_chosen(takes[0])
        made.append(takes[0])
    if probing and probe is not None:
        session.text_generator = None
    return made


def make_media(
    session: Session, branch: str, seed: int, frames: int = FRAMES
) -> tuple[dict[str, list[Any]], int]:
    """Portraits for the cast and a storyboard per scene (both cached in the project).

    Returns the storyboards by scene id and how many assets were new in this run.
    """
    from tqdm.auto import tqdm

    project = session.project
    before = len(project.assets)
    cast = list(project.cast)
    scenes = project.branches[branch].scenes
    boards = {}
    with tqdm(total=len(cast) + len(scenes), desc="media", unit="image set") as bar:
        for char in cast:
            session.portrait(char)
            bar.update()
        for scene in scenes:
            boards[scene.id] = list(session.storyboard(scene, frames=frames, seed=seed))
            bar.update()
    return boards, len(project.assets) - before


def _chosen_by(project: Any) -> dict[str, str]:
    """Scene id -> the rater of the live event that made its current choice."""
    out: dict[str, str] = {}
    for ev in project.feedback():
        if ev.kind in ("choose", "edit") and ev.scene_id:
            out[ev.scene_id] = ev.rater
    return out


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_facts(started: float, generated: int, new_assets: int) -> dict[str, Any]:
    """What happened in this run (differs between runs of the same story): times, memory, loaded models."""
    heavy = [m for m in HEAVY_MODULES if m in sys.modules]
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 2),
        "takes_generated": generated,
        "media_assets_generated": new_assets,
        "text_model_loaded": "torch" in sys.modules or "transformers" in sys.modules,
        "heavy_modules_imported": heavy,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def provenance_record(
    session: Session, branch: str, parameters: Mapping[str, Any], run: Mapping[str, Any], media: bool
) -> dict[str, Any]:
    """Everything needed to reproduce the report: parameters, models, seeds, versions, content hash."""
    project = session.project
    chosen_by = _chosen_by(project)
    scenes = []
    models: list[dict[str, Any]] = []
    for scene in project.branches[branch].scenes:
        take = scene.chosen
        prov = take.provenance if take is not None else {}
        if prov.get("fingerprint"):
            entry = {"role": "text", "spec": prov.get("spec"), "fingerprint": prov["fingerprint"]}
            if entry not in models:
                models.append(entry)
        scenes.append(
            {
                "title": scene.title,
                "take": take.id if take else None,
                "source": take.source if take else None,
                "model": prov.get("model"),
                "seed": prov.get("seed"),
                "take_seed": prov.get("take_seed"),
                "completion_tokens": prov.get("completion_tokens"),
                "chosen_by": chosen_by.get(scene.id),
            }
        )
    if not any(m["role"] == "text" for m in models):
        models.append({"role": "text", "spec": parameters.get("model"), "fingerprint": None})
    if media:
        models.append(
            {"role": "image", "spec": session.image_spec, "fingerprint": session.image_generator.fingerprint}
        )
    return {
        "parameters": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in parameters.items() if k != "project"
        },
        "project": {
            "file": Path(str(parameters.get("project", project.file))).name,
            "title": project.title,
            "ifid": project.ifid,
            "content_hash": project.content_hash(),
        },
        "models": models,
        "scenes": scenes,
        "versions": _versions(),
        "run": dict(run),
    }


def show_section(name: str, html: str) -> None:
    """Display a report section as an HTML output that the runner finds by name."""
    from IPython.display import HTML, display

    display(HTML(html), metadata={"workbench_report": {"section": name}})


def show_record(record: Mapping[str, Any]) -> None:
    """Display the provenance record as JSON (the runner, tests and benchmarks read it)."""
    from IPython.display import display

    display(
        {"application/json": dict(record), "text/plain": "provenance record"},
        raw=True,
        metadata={"workbench_report": {"record": True}},
    )
