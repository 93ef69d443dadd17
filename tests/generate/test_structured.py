"""The JSON-schema constraint, validation and tolerant extraction (no model needed)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import InvalidInput, InvalidOutput
from workbench.generate.structured import (
    JsonMachine,
    TokenTrie,
    allowed_tokens,
    extract_json,
    min_tokens,
    parse_and_validate,
    validate,
)

OUTLINE = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 30},
        "characters": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 12},
                    "age": {"type": "integer", "minimum": 18, "maximum": 120},
                },
                "required": ["name", "age"],
            },
        },
        "mood": {"enum": ["dark", "light"]},
        "done": {"type": "boolean"},
    },
    "required": ["title", "characters"],
}

# a small vocabulary with single characters (so any value can be finished) and longer pieces
VOCAB = [chr(c) for c in range(32, 127)] + [
    '{"',
    '":"',
    '","',
    '"},{"',
    "title",
    "name",
    "age",
    "dark",
    "light",
    "true",
    "false",
    '"]',
    "]}",
    '":',
    "12",
    "hello world",
    '"}',
    '",',
    "é",
    "\\n",
    "\n",
]
TRIE = TokenTrie(VOCAB)


def walk(schema: dict, seed: int, budget: int) -> str:
    """Decode with random choices among allowed tokens, as the sampler does with random weights."""
    machine, rnd = JsonMachine(schema), random.Random(seed)
    state, out = machine.start(), []
    for step in range(budget):
        if machine.done(state):
            break
        allowed = allowed_tokens(machine, state, TRIE, budget - step)
        assert allowed, f"dead end after {''.join(out)!r}"
        tok = rnd.choice(allowed)
        out.append(VOCAB[tok])
        state = machine.advance(state, VOCAB[tok])
    assert machine.done(state), f"unfinished within {budget} tokens: {''.join(out)!r}"
    return "".join(out)


@pytest.mark.parametrize("seed", range(30))
def test_random_walks_always_give_valid_json(seed: int) -> None:
    budget = min_tokens(OUTLINE) + seed * 7  # from the tightest budget upwards
    value = parse_and_validate(walk(OUTLINE, seed, budget), OUTLINE)
    assert set(value) == {"title", "characters", "mood", "done"}


def test_arrays_of_strings_respect_item_and_length_bounds() -> None:
    schema = {
        "type": "array",
        "minItems": 2,
        "maxItems": 3,
        "items": {"type": "string", "minLength": 1, "maxLength": 5},
    }
    for seed in range(20):
        value = json.loads(walk(schema, seed, 60))
        assert 2 <= len(value) <= 3 and all(1 <= len(s) <= 5 for s in value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[],:"0123456789abtrue -\\\n', max_size=60))
def test_anything_the_machine_completes_is_valid(text: str) -> None:
    machine = JsonMachine(OUTLINE)
    state = machine.advance(machine.start(), text)
    if state is not None and machine.done(state):
        parse_and_validate(text, OUTLINE)


def test_the_machine_rejects_what_the_schema_forbids() -> None:
    machine = JsonMachine(OUTLINE)
    assert machine.advance(machine.start(), '{"title":""') is None  # minLength 1
    assert machine.advance(machine.start(), '{"title":"' + "x" * 31) is None  # maxLength 30
    assert machine.advance(machine.start(), '{"title":"a","characters":[]') is None  # minItems 1
    assert (
        machine.advance(machine.start(), '{"title":"a","characters":[{"name":"b","age":7,') is None
    )  # minimum 18
    assert machine.advance(machine.start(), " {") is None  # no free whitespace: bounded output
    assert machine.min_remaining(machine.start()) == min_tokens(OUTLINE)


def test_unsupported_schemas_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="maxItems"):
        JsonMachine({"type": "array", "minItems": 3, "maxItems": 1})
    with pytest.raises(InvalidInput, match="not supported"):
        JsonMachine({"type": "wibble"})


def test_validate_names_the_problem() -> None:
    good = {"title": "T", "characters": [{"name": "Ann", "age": 30}]}
    assert validate(good, OUTLINE) is good
    with pytest.raises(InvalidOutput, match=r"\$\.characters\[0\] is missing the required field 'age'"):
        validate({"title": "T", "characters": [{"name": "Ann"}]}, OUTLINE)
    with pytest.raises(InvalidOutput, match="mood must be one of"):
        validate(good | {"mood": "grey"}, OUTLINE)
    with pytest.raises(InvalidOutput, match="not valid JSON"):
        parse_and_validate('{"title": ', OUTLINE)


def test_extract_json_tolerates_prose_fences_and_trailing_commas() -> None:
    text = 'Sure! Here is the outline:\n```json\n{"title": "Gull Rock", "characters": [{"name": "Mara", "age": 61},],}\n```\nEnjoy.'
    assert extract_json(text, OUTLINE)["characters"][0]["name"] == "Mara"
    assert extract_json(
        'choices: ["Open the door", "Run"] ok', {"type": "array", "items": {"type": "string"}}
    ) == [
        "Open the door",
        "Run",
    ]
    # the first value that matches wins over an earlier one that does not
    assert (
        extract_json('{"x": 1} then {"title": "A", "characters": [{"name": "B", "age": 20}]}', OUTLINE)[
            "title"
        ]
        == "A"
    )


def test_extract_json_raises_clear_errors() -> None:
    with pytest.raises(InvalidOutput, match="no JSON"):
        extract_json("Once upon a time there was no JSON at all.", OUTLINE)
    with pytest.raises(InvalidOutput, match="missing the required field 'characters'"):
        extract_json('{"title": "Only a title"}', OUTLINE)


def test_prefix_items_give_the_first_items_their_own_schema() -> None:
    """``prefixItems``: the opening item follows its own schema, the rest follow ``items``."""
    schema = {
        "type": "array",
        "minItems": 2,
        "maxItems": 3,
        "prefixItems": [{"enum": ["open"]}],
        "items": {"type": "string", "maxLength": 4},
    }
    m = JsonMachine(schema)
    assert m.advance(m.start(), '["shut"') is None  # the first item must be "open"
    end = m.advance(m.start(), '["open","ab"]')
    assert end is not None and m.done(end)
    assert m.min_remaining(m.start()) == len('["open",""]')
    assert validate(["open", "ab"], schema) == ["open", "ab"]
    with pytest.raises(InvalidOutput, match=r"\$\[0\]"):
        validate(["shut", "ab"], schema)
