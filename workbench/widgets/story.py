"""The story's own settings and files: style, author's note, lore, branches, exports and the
pitch report, each a click away in the app (not only in Python or the CLI)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import InvalidInput
from ..render import esc
from .base import SessionView, safe_call
from .components import LiveHTML, Select, set_text, text_box, typed

if TYPE_CHECKING:
    from ..session import Session

SETTINGS = {"genre": "Genre", "style": "Style (how scenes are written)", "author_note": "Author's note"}


class StoryView(SessionView):
    """Edit the story's genre, style and author's note; add and remove lore; rename and delete
    branches; download the story in any export format, or its pitch report.

    >>> view = StoryView(session)                       # doctest: +SKIP
    >>> data, name = view.export_bytes("fountain")      # doctest: +SKIP
    """

    report_file = param.String(default="", doc="The last pitch report built here (a path), or ''.")

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self._workdir = tempfile.TemporaryDirectory(prefix="wb-story-")  # pitch reports to download
        self.fields = {
            key: text_box(
                pn.widgets.TextAreaInput(
                    label=label,
                    height=70 if key != "genre" else 40,
                    sizing_mode="stretch_width",
                    css_classes=[f"wb-setting-{key.replace('_', '-')}"],
                )
            )
            for key, label in SETTINGS.items()
        }
        self.save_settings_button = pn.widgets.Button(
            label="Save settings", color="primary", css_classes=["wb-save-settings"]
        )
        self.lore_pane = pn.Column(sizing_mode="stretch_width", css_classes=["wb-lore-list"])
        self.lore_keys = text_box(
            pn.widgets.TextInput(
                label="Lore keywords", placeholder="lamp, lighthouse", width=220, css_classes=["wb-lore-keys"]
            )
        )
        self.lore_content = text_box(
            pn.widgets.TextInput(
                label="What the model should know",
                sizing_mode="stretch_width",
                css_classes=["wb-lore-content"],
            )
        )
        self.add_lore_button = pn.widgets.Button(label="Add lore", css_classes=["wb-add-lore"])
        self.branch_select = Select(label="Branch", options=[], width=220, css_classes=["wb-story-branch"])
        self.branch_name = text_box(
            pn.widgets.TextInput(label="New name", width=220, css_classes=["wb-branch-name"])
        )
        self.rename_branch_button = pn.widgets.Button(label="Rename branch", css_classes=["wb-rename-branch"])
        self.delete_branch_button = pn.widgets.Button(
            label="Delete branch", color="danger", css_classes=["wb-delete-branch"]
        )
        self.format_select = Select(label="Export as", options=[], width=180, css_classes=["wb-format"])
        self.download = pn.widgets.FileDownload(
            callback=self._download,
            filename="story",
            label="Download",
            css_classes=["wb-export-download"],
            color="primary",
        )
        self.report_button = pn.widgets.Button(
            label="Build the pitch report", css_classes=["wb-build-report"]
        )
        self.report_download = pn.widgets.FileDownload(
            callback=self._report_bytes,
            filename="pitch.html",
            label="Download the pitch report",
            disabled=True,
            css_classes=["wb-report-download"],
        )
        self.report_progress = pn.indicators.Progress(
            active=True, visible=False, width=200, css_classes=["wb-report-progress"]
        )
        self.format_select.param.watch(lambda _e: self._name_download(), "value")
        self.save_settings_button.on_click(safe_call(self, self.save_settings))
        self.add_lore_button.on_click(
            safe_call(self, lambda: self.add_lore(typed(self.lore_keys), typed(self.lore_content)))
        )
        self.rename_branch_button.on_click(
            safe_call(self, lambda: self.rename_branch(self.branch_select.value, typed(self.branch_name)))
        )
        self.delete_branch_button.on_click(
            safe_call(self, lambda: self.delete_branch(self.branch_select.value))
        )
        self.report_button.on_click(safe_call(self, self.build_report))
        self._layout = pn.Column(
            self._alert,
            pn.pane.Markdown("#### Settings", margin=(0, 10)),
            *self.fields.values(),
            self.save_settings_button,
            pn.pane.Markdown("#### Lore", margin=(0, 10)),
            self.lore_pane,
            pn.FlexBox(
                self.lore_keys,
                self.lore_content,
                pn.Column(pn.Spacer(height=18), self.add_lore_button),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            pn.pane.Markdown("#### Branches", margin=(0, 10)),
            pn.FlexBox(
                self.branch_select,
                self.branch_name,
                pn.Column(pn.Spacer(height=18), pn.Row(self.rename_branch_button, self.delete_branch_button)),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            pn.pane.Markdown("#### Files", margin=(0, 10)),
            pn.FlexBox(
                self.format_select,
                pn.Column(pn.Spacer(height=18), self.download),
                pn.Column(pn.Spacer(height=18), pn.Row(self.report_button, self.report_progress)),
                pn.Column(pn.Spacer(height=18), self.report_download),
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            self._status,
            sizing_mode="stretch_width",
            css_classes=["wb-story-view"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # ---- settings and lore
    def save_settings(self, **values: str) -> None:
        """Store genre, style and author's note (one undoable step); by default what the boxes hold."""
        values = values or {key: typed(box) for key, box in self.fields.items()}
        unknown = set(values) - set(SETTINGS)
        if unknown:
            raise InvalidInput(f"the story has no setting {sorted(unknown)[0]!r}")
        with self.project.transaction("edit the story's settings"):
            for key, value in values.items():
                setattr(self.project, key, (value or "").strip())
        self.status = "settings saved"

    def add_lore(self, keys: str, content: str) -> Any:
        entry = self.project.lore.add(keys, content)
        set_text(self.lore_keys, "")
        set_text(self.lore_content, "")
        self.status = f"added lore {entry.name!r}"
        return entry

    def remove_lore(self, lore_id: str) -> None:
        name = self.project.lore.get(lore_id).name
        self.project.lore.remove(lore_id)
        self.status = f"removed lore {name!r} (Undo brings it back)"

    # ---- branches
    def rename_branch(self, name: str | None, new: str) -> None:
        if not name:
            raise InvalidInput("pick a branch first")
        if not (new or "").strip():
            raise InvalidInput("type the branch's new name first")
        self.project.rename(name, new.strip())
        set_text(self.branch_name, "")
        self.status = f"renamed branch {name!r} to {new.strip()!r}"

    def delete_branch(self, name: str | None) -> None:
        if not name:
            raise InvalidInput("pick a branch first")
        if name == "main":
            raise InvalidInput("main is the story's own line and stays; delete another branch")
        self.project.delete_branch(name)
        self.status = f"deleted branch {name!r} (its scenes stay; Undo brings the branch back)"

    # ---- files
    def export_bytes(self, fmt: str) -> tuple[bytes, str]:
        """The story in format ``fmt`` as one download: the file, or a .zip when the format writes several."""
        from ..interop.registry import available_formats, export_project

        formats = available_formats()
        if fmt not in formats or formats[fmt].export is None:
            raise InvalidInput(f"there is no export format called {fmt!r}")
        stem = _stem(self.project)
        with tempfile.TemporaryDirectory(prefix="wb-export-") as tmp:  # read back at once, then gone
            written = export_project(self.project, fmt, Path(tmp) / f"{stem}{formats[fmt].suffixes[0]}")
            files = [p for p in written if p.is_file()]
            if len(files) == 1:
                return files[0].read_bytes(), files[0].name
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in files:
                    zf.write(p, p.name)
        return buf.getvalue(), f"{stem}-{fmt}.zip"

    def _name_download(self) -> None:
        from ..interop.registry import available_formats

        fmt = self.format_select.value
        formats = available_formats()
        if fmt in formats:
            self.download.filename = f"{_stem(self.project)}{formats[fmt].suffixes[0]}"

    def _download(self) -> io.BytesIO:
        try:
            data, name = self.export_bytes(self.format_select.value or "")
        except Exception as exc:
            self.fail(exc)
            return io.BytesIO(b"")
        self.download.filename = name
        self.status = f"exported {name} ({len(data):,} bytes)"
        return io.BytesIO(data)

    def build_report(self, branch: str = "main", seed: int = 0, wait: bool = False) -> Any:
        """Build the pitch report of ``branch`` (in a thread: minutes on a laptop); then it downloads."""
        from ..report.run import run_report

        out = Path(tempfile.mkdtemp(dir=self._workdir.name)) / f"{_stem(self.project)}-pitch.html"
        self.report_download.disabled = True
        self.report_progress.visible = True

        def work() -> Path:
            return run_report(self.project.file, out, branch=branch, seed=seed, progress=False)

        def done(path: Path) -> None:
            self.report_progress.visible = False
            self.report_file = str(path)
            self.report_download.filename = path.name
            self.report_download.disabled = False
            self.status = f"the pitch report is ready: {path.name}"

        thread = self.in_background(work, done, label="building the pitch report")
        if wait:
            thread.join()
        return thread

    @param.depends("busy", watch=True)
    def _busy_changed(self) -> None:
        self.report_button.disabled = self.busy
        if not self.busy:
            self.report_progress.visible = False

    def _report_bytes(self) -> io.BytesIO:
        if not self.report_file or not Path(self.report_file).is_file():
            return io.BytesIO(b"")
        return io.BytesIO(Path(self.report_file).read_bytes())

    # ---- rendering
    def refresh(self) -> None:
        from ..interop.registry import available_formats

        p = self.project
        for key, box in self.fields.items():
            value = getattr(p, key) or ""
            if box.value != value:
                set_text(box, value)
        rows: list[Any] = []
        for entry in p.lore:
            remove = pn.widgets.Button(label="Remove", width=80, css_classes=["wb-remove-lore"])
            remove.on_click(safe_call(self, lambda lid=entry.id: self.remove_lore(lid)))
            rows.append(
                pn.Row(
                    LiveHTML(
                        f"<div class='wb-lore' style='font:13px system-ui,sans-serif'><b>{esc(entry.name)}</b> "
                        f"<span style='color:#6b7280'>({esc(', '.join(entry.keys) or 'always')})</span>: "
                        f"{esc(entry.content)}</div>",
                        sizing_mode="stretch_width",
                    ),
                    remove,
                    sizing_mode="stretch_width",
                )
            )
        self.lore_pane.objects = rows or [LiveHTML("<i>No lore yet.</i>")]
        names = list(p.branches)
        self.branch_select.options = names
        if self.branch_select.value not in names:
            self.branch_select.value = names[0] if names else None
        exports = [name for name, f in available_formats().items() if f.export is not None]
        if self.format_select.options != exports:
            self.format_select.options = exports
            if self.format_select.value not in exports and exports:
                self.format_select.value = "fountain" if "fountain" in exports else exports[0]
        self._name_download()

    def close(self) -> None:
        super().close()
        self._workdir.cleanup()


def _stem(project: Any) -> str:
    from ..story.cast import slug

    return slug(project.title or project.file.stem) or "story"
