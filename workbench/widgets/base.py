"""The shared base of every view: a ``Session``, an error alert, a busy flag, and re-rendering
from the project whenever it changes (in this view, another view, or a background thread)."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import panel as pn
import param

from ..errors import WorkbenchError
from ..render import esc
from .components import LiveHTML

if TYPE_CHECKING:
    from ..session import Session

ALERT_STYLE = (
    "background:#fee2e2;color:#991b1b;border:1px solid #fecaca;border-radius:6px;padding:8px 12px;"
    "font:13px system-ui,sans-serif"
)

__all__ = ["SessionView", "safe_call"]


def _message(exc: BaseException) -> str:
    if isinstance(exc, WorkbenchError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class SessionView(pn.viewable.Viewer):
    """A view of a ``Session``: it holds no story state; ``refresh()`` rebuilds it from the project."""

    session = param.Parameter(allow_refs=False, doc="The workbench.Session this view shows and drives.")
    error = param.String(default="", doc="The last error, shown in an alert inside the view.")
    busy = param.Boolean(default=False, doc="True while a long action (generation, media) runs.")
    status = param.String(default="", doc="A one-line status: progress or the last action's result.")
    user = param.String(
        default="",
        doc="The signed-in writer on a shared server ('' in a notebook): their ratings carry this name "
        "and their Undo undoes their own last change.",
    )

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session=session, **params)
        # empty, not hidden, when there is no error: showing and hiding a pane lays the page out again
        self._alert = LiveHTML("", css_classes=["wb-error"], sizing_mode="stretch_width")
        self._status = LiveHTML(
            "", css_classes=["wb-status", f"wb-{self._css_name()}-status"], styles={"color": "#6b7280"}
        )
        self._thread: threading.Thread | None = None
        self._closed = False
        self._refresh_pending = False
        self._tab_open = True  # False while the view sits in a tab that is not open
        self._stale = False  # a change came while it was not shown
        doc = pn.state.curdoc
        # the page (Bokeh document) of a served view; None in a notebook
        self._doc = doc if doc is not None and doc.session_context is not None else None
        self._unsubscribe = session.project.on_change(self._on_project_change)
        if self._doc is not None:
            pn.state.on_session_destroyed(lambda _ctx: self.close())

    @classmethod
    def _css_name(cls) -> str:
        """``SceneEditor`` -> ``editor`` style names for CSS classes (``wb-editor-status``)."""
        return {
            "SceneEditor": "editor",
            "BranchMap": "map",
            "CastBoard": "cast",
            "MediaGallery": "media",
            "ContextViewer": "context",
            "OutlineView": "outline",
            "StoryView": "story",
            "ABView": "ab",
            "GridView": "grid",
        }.get(cls.__name__, cls.__name__.lower())

    # ---- error and status display
    @param.depends("error", watch=True)
    def _show_error(self) -> None:
        self._alert.object = (
            f"<div role='alert' class='wb-alert' style='{ALERT_STYLE}'>{esc(self.error)}</div>"
            if self.error
            else ""
        )

    @param.depends("status", watch=True)
    def _show_status(self) -> None:
        self._status.object = f"<span class='wb-status-text'>{esc(self.status)}</span>" if self.status else ""

    def fail(self, exc: BaseException) -> None:
        """Show an error in the view (and in the server log for unexpected ones)."""
        if not isinstance(exc, WorkbenchError):
            traceback.print_exception(exc)
        self.error = _message(exc)

    @property
    def rater(self) -> str | None:
        """Who feedback from this view is logged as: the signed-in user, else the session's rater."""
        return self.user or None

    def acting(self) -> Any:
        """A context in which changes are this view's user's undo steps (see ``Project.acting_as``)."""
        return self.project.acting_as(self.user or None)

    def batched(self) -> Any:
        """A context in which the page's updates are held and sent as one message when it ends, so
        the browser lays the page out once per click instead of once per changed widget (a served
        view on its own page; elsewhere it does nothing)."""
        doc = self._doc
        if doc is None or pn.state.curdoc is not doc:
            return contextlib.nullcontext()
        return pn.io.hold(doc)

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run ``action`` as this view's user; an error is shown in the alert instead of escaping the callback."""
        self.error = ""
        try:
            with self.batched(), self.acting():
                return action()
        except Exception as exc:
            self.fail(exc)
            return None

    def in_background(
        self, work: Callable[[], Any], done: Callable[[Any], None] | None = None, label: str = "working"
    ) -> threading.Thread:
        """Run ``work`` in a thread with ``busy`` set; ``done(result)`` runs afterwards, errors go to the alert.

        Panel sends parameter changes made in a thread to the page through the document's
        next-tick callback, so views may update their panes from ``work`` and ``done``.
        """
        if self.busy:
            raise WorkbenchError("wait for the current action to finish (or stop it) first")
        self.error = ""
        self.busy = True
        working = f"{label}…"
        self.status = working
        started = time.perf_counter()

        def run() -> None:
            try:
                with self.acting():
                    result = work()
            except Exception as exc:
                self.busy = False
                self.fail(exc)
                self.status = ""
                return
            self.busy = False
            if done is not None:
                try:
                    with self.acting():
                        done(result)
                except Exception as exc:
                    self.fail(exc)
            if self.status == working:  # ``done`` said nothing: the line must not say "…" forever
                self.status = f"{label[:1].upper()}{label[1:]}: done in {time.perf_counter() - started:.1f} s"

        thread = threading.Thread(target=run, name=f"workbench-{type(self).__name__}", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background action (if any) ends: for scripts and tests."""
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- re-rendering
    def _on_project_change(self, _project: Any) -> None:
        """Re-render after a change. A served view of another page than the one whose click made the
        change re-renders on its own page's next tick, and several changes meanwhile make one
        re-render: the writer who clicked sees their change without waiting for every other page."""
        if self._closed:
            return
        if not self._tab_open:  # in a closed tab: catch up when the tab opens
            self._stale = True
            return
        if self._doc is not None and pn.state.curdoc is not self._doc:
            if self._refresh_pending:
                return
            self._refresh_pending = True
            try:
                self._doc.add_next_tick_callback(self._deferred_refresh)
            except Exception:  # the page is gone
                self._refresh_pending = False
            return
        self._refresh_now()

    def set_shown(self, shown: bool) -> None:
        """Tell the view whether its tab is open; a view that missed changes meanwhile catches up."""
        self._tab_open = shown
        if shown and self._stale:
            self._stale = False
            self._refresh_now()

    def refresh_when_shown(self) -> None:
        """Re-render now if the view is shown, else when its tab is opened (a selection made on
        another tab costs the page nothing it does not show)."""
        if self._tab_open:
            self._refresh_now()
        else:
            self._stale = True

    def _deferred_refresh(self) -> None:
        self._refresh_pending = False
        if not self._closed:
            self._refresh_now()

    def _refresh_now(self) -> None:
        try:
            with self.batched():
                self.refresh()
        except Exception as exc:
            self.fail(exc)

    def _picked_scene(self) -> Any:
        """The scene named by the view's ``scene_id`` (cleared when it is gone), else the start scene."""
        scene_id = getattr(self, "scene_id", "")
        if scene_id:
            try:
                return self.session.project.scene(scene_id)
            except KeyError:
                self.scene_id = ""
        return self.session.project.start

    def refresh(self) -> None:
        """Rebuild what the view shows from the project."""

    def close(self) -> None:
        """Stop listening to the project (called when a browser tab closes)."""
        self._closed = True
        self._unsubscribe()

    @property
    def project(self) -> Any:
        return self.session.project


def safe_call(view: SessionView, action: Callable[..., Any]) -> Callable[..., Any]:
    """A widget callback that shows errors in ``view`` instead of raising."""

    def callback(*_args: Any) -> Any:
        return view.attempt(action)

    return callback
