"""Names from other people's files: no HTML markup.

Every page and report the workbench makes escapes story text (``workbench.render.esc``), so
markup in a name never runs there. Names from character cards and from the shared cast library
are refused all the same when they hold markup: a card named ``<img src=x onerror=...>`` is an
attack on whatever else shows it (other card tools, a chat front-end), never a name, and the
cast library is read by every project of a team. A writer's own typed names are kept as typed.
"""

from __future__ import annotations

import re

from ..errors import UnsafeName

__all__ = ["check_name", "markup_in"]

# an HTML tag, end tag, comment, doctype or processing instruction starts like this
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]")


def markup_in(text: str) -> str | None:
    """The first piece of HTML markup in ``text`` (up to 40 characters), or None."""
    if not isinstance(text, str):
        return None
    m = _MARKUP.search(text)
    return text[m.start() : m.start() + 40] if m else None


def check_name(name: str, what: str = "name") -> str:
    """``name`` unchanged, or :class:`UnsafeName` when it holds HTML markup."""
    found = markup_in(name)
    if found is not None:
        raise UnsafeName(
            f"the {what} {name[:60]!r} contains HTML markup ({found!r}); names are shown in pages and "
            "reports, so markup is not allowed in them. Rename it (in the card, or where it came from)."
        )
    return name
