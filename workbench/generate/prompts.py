"""The prompt templates the package ships (Jinja2, sandboxed; user text only ever enters as variables)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Each template keeps its lines as written: block tags ({% ... %}) stand on lines of their own
# (trim_blocks and lstrip_blocks remove those lines entirely), and optional pieces inside a line
# are inline expressions, so no part of a prompt runs into the next.

SYSTEM = """You are a screenwriter co-writing a branching story with the user.
Write in screenplay format: a scene heading (INT. or EXT. PLACE - TIME), short action lines, \
CHARACTER NAMES in capitals on their own line before what they say, and dialogue under the name.
Use only the characters listed in the cast sheet, spelled exactly as written there.
Never repeat earlier scenes; move the story forward.
{% if style %}
Style: {{ style }}
{% endif %}
{% if title %}
Story: {{ title }}{{ " - " ~ logline if logline else "" }}
{% endif %}
"""

CAST_SHEET = """Cast sheet:
{% for c in characters %}
- {{ c.name | upper }} ({{ c.name }}): {{ c.description | sentence }}{{ " Personality: " ~ c.personality | sentence if c.personality else "" }}{{ " Speech: " ~ c.speech_style | sentence if c.speech_style else "" }}
{% endfor %}
"""

LORE = """World notes:
{% for e in entries %}
- {{ e.content }}
{% endfor %}
"""

STORY_SO_FAR = """Story so far:
{% for s in scenes %}

{{ "[" ~ s.title ~ " - summary] " ~ s.summary if s.summary else s.text }}
{% if s.choice %}
(Then: {{ s.choice }})
{% endif %}
{% endfor %}
"""

AUTHOR_NOTE = """[Author's note: {{ note }}]"""

INSTRUCTION = """Write the next scene{{ ", \\"" ~ title ~ "\\"" if title else "" }}{{ ", where this happens: " ~ choice if choice else "" }}.
{% if summary %}
Outline for this scene: {{ summary }}
{% endif %}
{% if characters %}
Characters in this scene: {{ characters | join(", ") }}.
{% endif %}
Write it in screenplay format, about 120 to 200 words. Start with the scene heading.
"""

# the structured path: a plan first (JSON), then the scene under the screenplay grammar
PLAN = """Plan the next scene{{ ", \\"" ~ title ~ "\\"" if title else "" }}.
What happens first: {{ first or "(you decide)" }}
Who can be there: {{ alive | join(", ") }}.
{% if dead %}
Dead (they cannot appear): {{ dead | join(", ") }}.
{% endif %}
{% if place %}
The last scene was at: {{ place }}.
{% endif %}
Answer in JSON: the characters in the scene, INT. or EXT., the place, the time of day, {{ "" if first \
else "the first beat, " }}then one short beat of what happens next (one sentence about \
these characters).
"""

SCENE = """Write the next scene{{ ", \\"" ~ title ~ "\\"" if title else "" }}: {{ first }}
{% if characters %}
In the scene: {{ characters | join(", ") }}. They talk to each other and react to what the other says.
{% endif %}
Screenplay format: the heading, action lines, then each character's name in capitals on its own line \
and what they say below it.
"""

SUMMARY = """Summarise this scene in one or two plain sentences (who, what happens, what changes):

{{ text }}"""

OUTLINE_TITLE = """Logline: {{ logline }}
Give this story a short, evocative title. Answer in JSON: {"title": "..."}"""

OUTLINE_CHARACTERS = """Story: {{ title }}
Logline: {{ logline }}
List the {{ k }} main characters of this story. For each give a first and last name (no two alike), \
one sentence on who they are and what they want in this story, a short personality, and a visual \
appearance (age, clothes, hair). Answer in JSON."""

OUTLINE_SCENES = """Story: {{ title }}
Logline: {{ logline }}
Characters:
{% for c in characters %}
- {{ c.name }}: {{ c.description }}
{% endfor %}
Outline the story as {{ k }} scenes in order, from the logline's start to its end. For each give a short \
title (a place, an object or an event, not a character's name), who the scene is about, and what that \
character does and what changes, as words that follow their name ("finds the door open and goes in."). \
Answer in JSON."""

CHOICES = """Scene so far:
{{ text }}

Suggest {{ k }} different things that could happen next: who does what, each a short action (under 12 words). Answer in JSON."""


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False
    )
    env.filters["sentence"] = _sentence
    return env


def _sentence(text: Any) -> str:
    """Text that ends like a sentence (a full stop added where it has none)."""
    text = " ".join(str(text or "").split())
    return text if not text or text[-1] in ".!?\u2026\"')" else text + "."


@lru_cache(maxsize=32)
def _template(source: str) -> Any:
    return _env().from_string(source)


def render(source: str, **values: Any) -> str:
    """Render a shipped template; values are data, never template source."""
    return _template(source).render(**values).strip()
