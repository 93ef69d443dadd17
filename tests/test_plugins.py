"""One rule for every plug-in group: a broken plug-in is listed with its error and raises only when used."""

from __future__ import annotations

from importlib import metadata

import pytest

from workbench import plugins
from workbench.errors import PluginError


@pytest.fixture
def broken_plugins(monkeypatch):
    """Each group gets, besides the real entry points, one whose module does not exist."""
    real = metadata.entry_points
    fakes = {
        "workbench.backends": metadata.EntryPoint(
            "text.brokenbackend", "wb_missing_pkg.backend:factory", "workbench.backends"
        ),
        "workbench.formats": metadata.EntryPoint(
            "brokenformat", "wb_missing_pkg.fmt:FORMAT", "workbench.formats"
        ),
        "workbench.views": metadata.EntryPoint(
            "Broken view", "wb_missing_pkg.views:factory", "workbench.views"
        ),
    }

    def entry_points(**kw):
        found = list(real(**kw))
        if kw.get("group") in fakes:
            found.append(fakes[kw["group"]])
        return found

    monkeypatch.setattr(plugins.metadata, "entry_points", entry_points)
    for group in plugins.GROUPS:
        plugins.entry_point_plugins(group, refresh=True)
    from workbench.interop import registry

    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_broken", {})
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    yield
    monkeypatch.undo()
    for group in plugins.GROUPS:
        plugins.entry_point_plugins(group, refresh=True)


def test_a_broken_backend_is_listed_and_fails_only_when_used(broken_plugins):
    from workbench.generate import available_backends, backend_factory, parse_spec

    assert "brokenbackend" in available_backends("text") and "local" in available_backends("text")
    with pytest.raises(PluginError, match="brokenbackend.*failed to load.*wb_missing_pkg"):
        backend_factory(parse_spec("brokenbackend:anything"))
    assert callable(backend_factory(parse_spec("default")))  # the others still work


def test_a_broken_format_is_listed_and_fails_only_when_named(broken_plugins, tmp_path):
    from workbench import open_project
    from workbench.interop.registry import available_formats, broken_formats, export_project, get_format

    assert "wb_missing_pkg" in broken_formats()["brokenformat"]
    assert "twee" in available_formats() and "brokenformat" not in available_formats()
    with pytest.raises(PluginError, match="brokenformat"):
        get_format("brokenformat")
    project = open_project(tmp_path / "p.story")
    project.add_scene("Start", text="Hello.")
    assert export_project(project, "twee", tmp_path / "out.twee")[0].exists()


def test_a_broken_view_gets_its_tab_and_raises_when_built(broken_plugins):
    from workbench.widgets.registry import registered_views

    views = registered_views()
    assert "Broken view" in views
    with pytest.raises(PluginError, match="Broken view"):
        views["Broken view"](None)


def test_a_format_entry_point_that_is_not_a_format_is_reported(monkeypatch):
    from workbench.interop import registry

    ep = metadata.EntryPoint("notaformat", "os.path:join", "workbench.formats")
    real = metadata.entry_points
    monkeypatch.setattr(
        plugins.metadata,
        "entry_points",
        lambda **kw: list(real(**kw)) + ([ep] if kw.get("group") == "workbench.formats" else []),
    )
    plugins.entry_point_plugins("workbench.formats", refresh=True)
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "_broken", {})
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    try:
        assert "not a workbench Format" in registry.broken_formats()["notaformat"]
    finally:
        monkeypatch.undo()
        plugins.entry_point_plugins("workbench.formats", refresh=True)
