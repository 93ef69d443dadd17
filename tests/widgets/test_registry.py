"""The view registry stays light and plug-ins cannot break the workbench."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.errors import InvalidInput
from workbench.widgets.registry import register_view, registered_views, unregister_view


def test_importing_the_registry_does_not_import_panel() -> None:
    code = (
        "import sys, workbench, workbench.widgets.registry as r; r.register_view('x', lambda s: s);"
        "assert 'panel' not in sys.modules and 'bokeh' not in sys.modules, 'panel imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_register_and_unregister() -> None:
    def factory(session: object) -> str:
        return "view"

    assert register_view("Notes", factory) is factory
    assert registered_views()["Notes"] is factory
    unregister_view("Notes")
    assert "Notes" not in registered_views()
    unregister_view("Notes")  # no error the second time


@pytest.mark.parametrize(("name", "factory"), [("", lambda s: s), ("Tab", "not callable")])
def test_bad_registrations_are_refused(name: str, factory: object) -> None:
    with pytest.raises(InvalidInput):
        register_view(name, factory)  # type: ignore[arg-type]


def test_top_level_names() -> None:
    import workbench

    assert workbench.register_view is register_view
    assert workbench.Workbench.__name__ == "Workbench"
