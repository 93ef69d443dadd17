"""Rules that keep small models honest: repetition checks, loop trimming, cast-name repair."""

from __future__ import annotations

import difflib
import re

from ..story.screenplay import normalise_cue, parse_scene

_WORD = re.compile(r"\w+", re.UNICODE)


def _ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    return {tuple(words[i : i + n]) for i in range(max(0, len(words) - n + 1))}


def overlap(candidate: str, earlier: str, n: int = 4) -> float:
    """The share of the candidate's word n-grams that already occur in ``earlier`` (0..1)."""
    a = _ngrams(candidate, n)
    if not a:
        return 0.0
    return len(a & _ngrams(earlier, n)) / len(a)


def too_similar(candidate: str, recent: list[str], threshold: float = 0.5) -> bool:
    """True when the candidate copies a recent scene (most of its 4-grams seen before)."""
    return any(overlap(candidate, r) >= threshold for r in recent if r)


def trim_loops(text: str, min_repeats: int = 3) -> str:
    """Cut a take where the same line starts repeating (a decoding loop)."""
    lines = text.split("\n")
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        key = line.strip().casefold()
        if len(key) < 4:
            continue
        seen[key] = seen.get(key, 0) + 1
        if seen[key] >= min_repeats:
            # drop from the second occurrence of this line on
            first_dup = [j for j, ln in enumerate(lines[: i + 1]) if ln.strip().casefold() == key][1]
            return "\n".join(lines[:first_dup]).rstrip()
    return text


_CUE = re.compile(r"[A-Z][A-Z .'’-]{1,40}(?:\s*\([^)]*\))?")
_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?=\s|$)|\n")


def end_on_sentence(text: str, keep: float = 0.5) -> str:
    r"""A take cut off by the length cap, ended at its last full sentence or line end (when that
    keeps at least ``keep`` of it): a writer reads "…she turned." rather than "…she tur".
    Text with no such end in its second half comes back as it was.

    >>> end_on_sentence("Mara waits by the lamp. The tide comes in. She tur")
    'Mara waits by the lamp. The tide comes in.'
    >>> end_on_sentence("MARA\nHold the line.\n\nINES\nI can't hold it for")
    'MARA\nHold the line.'
    """
    text = text.rstrip()
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    cut = max((e for e in ends if e >= keep * len(text)), default=None)
    if cut is None or cut >= len(text):
        return text
    out = text[:cut].rstrip()
    lines = out.split("\n")
    if len(lines) > 1 and _CUE.fullmatch(lines[-1].strip()):  # a cue left without its line
        out = "\n".join(lines[:-1]).rstrip()
    return out


def repair_cast_names(text: str, cast: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """Replace character cues that are near-misses of a cast name (``MARRA`` -> ``MARA``).

    Returns the text and the (wrong, right) pairs replaced. Only cues are touched, never dialogue.
    """
    if not cast:
        return text, []
    firsts = {}
    for full in cast:
        for part in [full, *full.split()]:
            firsts[part.upper()] = part.upper() if part != full else full.upper()
    parsed = parse_scene(text, cast)
    fixes: list[tuple[str, str]] = []
    lines = text.split("\n")
    for el in parsed.elements:
        if el.kind != "character":
            continue
        bare = normalise_cue(el.text).upper()
        if bare in firsts:
            continue
        close = difflib.get_close_matches(bare, list(firsts), n=1, cutoff=0.75)
        if close:
            idx = el.line - 1
            if 0 <= idx < len(lines) and bare in lines[idx].upper():
                lines[idx] = re.sub(re.escape(bare), close[0], lines[idx], count=1, flags=re.IGNORECASE)
                fixes.append((bare, close[0]))
    return "\n".join(lines), fixes


_NAME_WORD = re.compile(r"\b[A-Z\u00C0-\u024F][\w'\u2019-]{3,}\b", re.UNICODE)


def repair_names_in_text(text: str, cast: list[str]) -> tuple[str, list[tuple[str, str]]]:
    """Replace near-miss spellings of cast names anywhere in a take (``Marra`` -> ``Mara``).

    Cues are repaired as :func:`repair_cast_names` does; in action and dialogue a capitalised
    word is replaced only when it is very close to a cast name part (same first letter, 0.83
    alike or more) and is not itself a name part, so ordinary words are left alone.
    """
    text, fixes = repair_cast_names(text, cast)
    parts: dict[str, str] = {}
    for full in cast:
        for part in full.split():
            if len(part) >= 3:
                parts[part.casefold()] = part
    if not parts:
        return text, fixes

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.casefold()
        if low in parts or word.isupper():
            return word
        for key, right in parts.items():
            if key[0] == low[0] and difflib.SequenceMatcher(a=low, b=key).ratio() >= 0.83:
                fixes.append((word, right))
                return right
        return word

    return _NAME_WORD.sub(fix, text), fixes
