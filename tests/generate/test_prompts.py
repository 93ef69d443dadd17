"""Prompts read as intended: every template part keeps its own lines, and so does the assembled context."""

from __future__ import annotations

import re

from workbench import Session
from workbench.generate import prompts

TWO = [
    {
        "name": "Mara Quell",
        "description": "A lighthouse keeper who leaves things unsaid",
        "personality": "wry",
    },
    {"name": "Tomas Reyes", "description": "A ferryman who calls everyone 'friend'.", "speech_style": "warm"},
]
GLUED = re.compile(r"[a-z.!?')\]][A-Z(\[]")  # a sentence or part running into the next without a break


def test_each_template_keeps_its_items_on_lines_of_their_own() -> None:
    system = prompts.render(prompts.SYSTEM, style="spare", title="The Last Light", logline="A keeper waits.")
    assert system.splitlines()[-2:] == ["Style: spare", "Story: The Last Light - A keeper waits."]
    cast = prompts.render(prompts.CAST_SHEET, characters=TWO).splitlines()
    assert cast[0] == "Cast sheet:"
    assert cast[1].startswith(
        "- MARA QUELL (Mara Quell): A lighthouse keeper who leaves things unsaid. Personality: wry."
    )
    assert cast[2].startswith(
        "- TOMAS REYES (Tomas Reyes): A ferryman who calls everyone 'friend'. Speech: warm."
    )
    assert len(cast) == 3
    lore = prompts.render(
        prompts.LORE, entries=[{"content": "The lamp is oil."}, {"content": "The ferry runs at dawn."}]
    )
    assert lore.splitlines() == ["World notes:", "- The lamp is oil.", "- The ferry runs at dawn."]
    story = prompts.render(
        prompts.STORY_SO_FAR,
        scenes=[
            {"title": "One", "text": "The lamp burns against the black.", "choice": "Go down to the harbour"},
            {"title": "Two", "summary": "Tomas waits at the quay.", "text": "", "choice": None},
        ],
    ).splitlines()
    assert story == [
        "Story so far:",
        "",
        "The lamp burns against the black.",
        "(Then: Go down to the harbour)",
        "",
        "[Two - summary] Tomas waits at the quay.",
    ]
    instruction = prompts.render(
        prompts.INSTRUCTION,
        title="The Quay",
        choice="Tomas rows out",
        summary="He finds the boat.",
        characters=["Mara Quell", "Tomas Reyes"],
    ).splitlines()
    assert instruction[0] == 'Write the next scene, "The Quay", where this happens: Tomas rows out.'
    assert instruction[1] == "Outline for this scene: He finds the boat."
    assert instruction[2] == "Characters in this scene: Mara Quell, Tomas Reyes."
    plan = prompts.render(
        prompts.PLAN,
        title="The Quay",
        first="Tomas rows out.",
        alive=["Mara Quell", "Tomas Reyes"],
        dead=["Ines Vale"],
        place="QUAY",
    ).splitlines()
    assert plan[1:5] == [
        "What happens first: Tomas rows out.",
        "Who can be there: Mara Quell, Tomas Reyes.",
        "Dead (they cannot appear): Ines Vale.",
        "The last scene was at: QUAY.",
    ]
    scene = prompts.render(
        prompts.SCENE, title="The Quay", first="Tomas rows out.", characters=["Mara Quell", "Tomas Reyes"]
    )
    assert (
        scene.splitlines()[1]
        == "In the scene: Mara Quell, Tomas Reyes. They talk to each other and react to what the other says."
    )
    outline = prompts.render(prompts.OUTLINE_SCENES, title="T", logline="L", characters=TWO, k=3).splitlines()
    assert outline[3:5] == [
        "- Mara Quell: A lighthouse keeper who leaves things unsaid",
        "- Tomas Reyes: A ferryman who calls everyone 'friend'.",
    ]


def test_the_assembled_context_keeps_every_part_apart(project, tiny) -> None:
    for c in TWO:
        project.cast.add(c["name"], description=c["description"])
    project.title = "The Last Light"
    first = project.add_scene("The Lamp", text="The lamp burns against the black.", characters=["Mara Quell"])
    second = project.add_scene(
        "The Harbour",
        text="As she stood on the quay, Tomas waved.",
        after=first,
        choice="Go down to the harbour",
    )
    third = project.add_scene("The Boat", after=second, choice="Row out")
    session = Session(project, text="tiny")
    session.text_generator = tiny
    ctx = session.context(third, None, 200)
    for text in (ctx.prefix, ctx.suffix):
        assert not GLUED.search(text), (GLUED.search(text), text)
    whole = ctx.prefix + "\n" + ctx.suffix
    assert "\n- MARA QUELL (Mara Quell): " in whole and "\n- TOMAS REYES (Tomas Reyes): " in whole
    assert "The lamp burns against the black.\n(Then: Go down to the harbour)\n" in whole
