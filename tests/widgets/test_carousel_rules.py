"""The in-place editor formats each line by the screenplay parser's rules: carousel.js mirrors
``parse_scene`` line by line, checked here against it with node on many shapes of scene text."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import skip_or_fail
from workbench.story.screenplay import parse_scene

CAROUSEL = Path(__file__).resolve().parents[2] / "workbench" / "widgets" / "carousel.js"

TEXTS = [
    "INT. LIGHTHOUSE - NIGHT\n\nMara climbs the stairs.\n\nMARA\n(quietly)\nThe lamp is out.\n",
    "EXT. QUAY - DAWN\n\nTomas waits.\nThe ferry is late.\n\nTOMAS (V.O.)\nShe never came.\n(beat)\nNever.\n\nCUT TO:\n\nINT./EXT. CAR - DAY",
    "MARA\nHold the light.\n\nTOMAS ^\nI can't.\n\n> FADE OUT.\n\n>THE END<\n\n!LOUD NOISES\n\n.FLASHBACK",
    "I/E. BOAT - NIGHT\nno blank line before\n\nINT. KITCHEN - NIGHT\n\nEST. TOWN\n\nint. lower - day\n\nintro words",
    "@McCLANE\nYippee.\n\nÉLODIE\nBonjour.\n\n李\n你好\n\nMARA\n\nNo dialogue after the cue above.",
    "A VERY LONG LINE OF CAPITALS THAT IS NOT A CHARACTER NAME AT ALL\nbecause it is too long.\n\nSMASH CUT TO:",
    'Mara said "Hold the light." Tomas nodded.\n\nPlain prose, no cues at all.\n\n   \n\tMARA\n\tTabbed line.',
    "MARA\n(whispers)\n\nDISSOLVE TO:\nnot alone\n\n..not a heading\n\nR2D2\nBeep.\n\n123\nnumbers only",
    "",
    "\n\n\nINT. ATTIC - NIGHT\n\n\n",
]


def python_kinds(text: str) -> list[str]:
    """Each line's kind as parse_scene reads it: an element's kind on its lines, 'blank' between."""
    lines = text.split("\n")
    kinds = ["blank"] * len(lines)
    starts = {el.line: el.kind for el in parse_scene(text).elements}
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        if k + 1 in starts:
            kinds[k] = starts[k + 1]
        elif k and kinds[k - 1] != "blank":
            kinds[k] = kinds[k - 1]  # the next line of an action paragraph or a speech
        else:  # pragma: no cover - every non-blank line belongs to an element
            kinds[k] = "?"
    return kinds


def test_the_editor_classifies_each_line_as_the_parser_does(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node (Debian package nodejs) to run the carousel's line rules")
    module = tmp_path / "carousel.mjs"
    module.write_text(CAROUSEL.read_text(encoding="utf-8"), encoding="utf-8")
    script = (
        f"import {{ classifyLines }} from {json.dumps(module.as_uri())};\n"
        "let data = '';\n"
        "process.stdin.on('data', (c) => { data += c; });\n"
        "process.stdin.on('end', () => {\n"
        "  const texts = JSON.parse(data);\n"
        "  process.stdout.write(JSON.stringify(texts.map((t) => classifyLines(t.split('\\n')))));\n"
        "});\n"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(out.stdout)
    for text, got in zip(TEXTS, js, strict=True):
        want = python_kinds(text)
        assert got == want, (text, list(zip(text.split("\n"), got, want, strict=True)))
    # every kind shows up somewhere
    assert {k for kinds in js for k in kinds} == {
        "heading",
        "action",
        "character",
        "parenthetical",
        "dialogue",
        "transition",
        "blank",
    }
