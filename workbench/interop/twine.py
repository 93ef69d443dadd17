"""What Twine stories mean, shared by the Twee and Twine 2 HTML formats.

A Twine passage's text is the scene text, kept byte for byte (markup, macros and inline links
included), followed by an optional *tail*: the trailing block of lines that hold nothing but
``[[links]]`` (how the workbench writes choices, and how many writers end a passage). Every
link in the passage, wherever it is, is a choice of the story graph:

- plain links of every story format: ``[[Target]]``, ``[[label->Target]]``, ``[[Target<-label]]``,
  ``[[label|Target]]`` and SugarCube's ``[[label|Target][$setter]]``, also inside macros and hooks;
- SugarCube: ``<<link "label" "Target">>``, ``<<button "label" "Target">>``, ``<<actions>>``,
  ``<<choice>>``, ``<<click>>``; ``<<goto "Target">>`` (the story moves on by itself) and
  ``<<include "Target">>`` (a reference: the passage shows the other one's text);
- Harlowe: ``(link-goto:)``, ``(click-goto:)``, ``(link-reveal-goto:)``, ``(mouseover-goto:)``,
  ``(mouseout-goto:)``, ``(go-to:)`` and ``(display:)`` (a reference), names in any case, with
  or without hyphens;
- Chapbook: ``{link to: 'Target', label: 'label'}``, ``{embed passage: 'Target'}``,
  ``{reveal link: 'label', passage: 'Target'}``; Snowman: ``<a data-passage="Target">``.

Passages that are not scenes (``StoryInit``, ``[script]``, ``[stylesheet]``, ``[widget]``,
``StoryMenu``, Harlowe's ``[header]``/``[footer]``/``[startup]``...) are kept verbatim as the
project's special passages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .storydoc import Link, StoryDoc

__all__ = [
    "SPECIAL_NAMES",
    "SPECIAL_TAGS",
    "TwineLink",
    "choice_key",
    "compose_text",
    "entries_from_specials",
    "extract_links",
    "is_special",
    "link_line",
    "parse_link",
    "split_tail",
]

# passages a story format reads by name, or by tag, rather than as a place in the story
SPECIAL_NAMES = {
    "StoryInit", "StoryMenu", "StoryCaption", "StoryBanner", "StorySubtitle", "StoryAuthor",
    "StoryShare", "StoryInterface", "StoryDisplayTitle", "StoryTitle", "StoryData", "PassageReady",
    "PassageDone", "PassageHeader", "PassageFooter", "StoryIncludes", "StorySettings", "StoryScript",
    "StoryStylesheet", "StoryFooter",
}  # fmt: skip
SPECIAL_TAGS = {
    "script", "stylesheet", "widget", "Twine.private", "Twine.audio", "Twine.image", "Twine.video",
    "Twine.vtt", "header", "footer", "startup", "debug-header", "debug-footer", "debug-startup",
    "init", "bookmark",
}  # fmt: skip

LINK_RE = re.compile(r"\[\[(?!\[)(.*?)\]\]")  # one line; in "[[[x]]]" (a Harlowe hook) the link is [[x]]
_SUGAR_RE = re.compile(r"<<\s*(link|button|click|goto|include|actions|choice)\b(.*?)>>", re.DOTALL)
_HARLOWE_RE = re.compile(
    r"\(\s*(link-?goto|click-?goto|link-?reveal-?goto|mouse-?over-?goto|mouse-?out-?goto|go-?to|display)\s*:",
    re.IGNORECASE,
)
_CHAPBOOK_RE = re.compile(r"\{\s*(link to|embed passage(?: named)?|reveal link)\s*:", re.IGNORECASE)
_SNOWMAN_RE = re.compile(r"""<a\b[^>]*\bdata-passage\s*=\s*(["'])(.*?)\1[^>]*>(.*?)</a>""", re.DOTALL)
_STRING_RE = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`)""")
_WORD_RE = re.compile(r"\s*([^\s\"'\[\]]+)")


@dataclass(frozen=True)
class TwineLink:
    """A link found in passage text, with where it was."""

    label: str
    target: str
    kind: str  # choice, goto, include
    start: int
    end: int

    def link(self, line: int = 0) -> Link:
        return Link(label=self.label, target=self.target, kind=self.kind, line=line)


def is_special(name: str, tags: Iterable[str]) -> bool:
    """Whether a passage is a story format's special passage rather than a scene."""
    return name in SPECIAL_NAMES or bool(SPECIAL_TAGS & set(tags))


def parse_link(inner: str) -> Link:
    """The label and target of a link's inside (``a->B``, ``B<-a``, ``a|B``, ``B``; a SugarCube
    setter ``][...`` is ignored)."""
    if "][" in inner:  # SugarCube setter links: [[text|Target][$x to 1]]
        inner = inner.split("][", 1)[0]
    if "->" in inner:
        label, target = inner.rsplit("->", 1)
    elif "<-" in inner:
        target, label = inner.split("<-", 1)
    elif "|" in inner:
        label, target = inner.rsplit("|", 1)
    else:
        label = target = inner
    return Link(label=" ".join(label.split()), target=target.strip())


def find_links(text: str) -> list[tuple[int, int, str]]:
    """``[[...]]`` links on one line each: (start, end, inside). In ``[[[x]]]`` (a Harlowe hook
    around a link) the link is ``[[x]]``; a name with a bracket, ``[[go->Cliff [path]]]``, keeps it."""
    out = []
    for m in LINK_RE.finditer(text):
        start, end, inner = m.start(), m.end(), m.group(1)
        while inner.count("[") > inner.count("]") and text.startswith("]", end):
            inner += "]"
            end += 1
        out.append((start, end, inner))
    return out


def _link_only(line: str) -> bool:
    """Whether a line holds nothing but ``[[links]]``."""
    links = find_links(line)
    if not links:
        return False
    rest, last = [], 0
    for a, b, _ in links:
        rest.append(line[last:a])
        last = b
    rest.append(line[last:])
    return not "".join(rest).strip()


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw)


def _args(text: str, pos: int, end_mark: str) -> tuple[list[tuple[str, str]], int]:
    """Arguments from ``pos`` up to ``end_mark`` (outside strings and brackets): each is
    ``("string", value)``, ``("link", inner)`` or ``("other", raw)``. Returns them and the end."""
    out: list[tuple[str, str]] = []
    i, n = pos, len(text)
    depth = 0
    while i < n:
        if text.startswith(end_mark, i) and depth == 0:
            return out, i + len(end_mark)
        ch = text[i]
        if ch in " \t\r\n,":
            i += 1
            continue
        if ch in "\"'`":
            m = _STRING_RE.match(text, i)
            if m is None:
                return out, n
            value = next(g for g in m.groups() if g is not None)
            out.append(("string", _unquote(value)))
            i = m.end()
            continue
        if text.startswith("[[", i):
            close = text.find("]]", i + 2)
            if close < 0:
                return out, n
            out.append(("link", text[i + 2 : close]))
            i = close + 2
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}" and depth:
            depth -= 1
        m = _WORD_RE.match(text, i)
        if m is not None and m.group(1):
            out.append(("other", m.group(1)))
            i = m.end()
        else:
            i += 1
    return out, n


def _strings(args: Sequence[tuple[str, str]]) -> list[str]:
    return [v for k, v in args if k == "string"]


def extract_links(text: str) -> list[TwineLink]:
    """Every link in a passage's text, in order of appearance (see the module docstring)."""
    found: list[TwineLink] = []
    taken: list[tuple[int, int]] = []  # spans handled by a macro: their [[links]] are not counted twice

    def add(label: str, target: str, kind: str, start: int, end: int) -> None:
        target = target.strip()
        label = " ".join(label.split()) or target
        if target:
            found.append(TwineLink(label, target, kind, start, end))

    if (
        "[[" not in text
        and "<<" not in text
        and "(" not in text
        and "{" not in text
        and "data-passage" not in text
    ):
        return found
    for m in _SUGAR_RE.finditer(text) if "<<" in text else ():
        name = m.group(1)
        args, _ = _args(m.group(2), 0, "\x00")
        taken.append(m.span())
        if name in ("goto", "include"):
            kind = "goto" if name == "goto" else "include"
            for k, v in args[:1]:
                if k == "string":
                    add(v, v, kind, *m.span())
                elif k == "link":
                    lk = parse_link(v)
                    add(lk.target, lk.target, kind, *m.span())
        elif name in ("actions", "choice"):
            for k, v in args:
                if k == "link":
                    lk = parse_link(v)
                    add(lk.label, lk.target, "choice", *m.span())
                elif k == "string" and name == "actions":
                    add(v, v, "choice", *m.span())
            if name == "choice" and args and args[0][0] == "string":  # <<choice "Target" "label">>
                strings = _strings(args)
                add(strings[1] if len(strings) > 1 else strings[0], strings[0], "choice", *m.span())
        else:  # link, button, click: [[a|B]], or "label" "Target", or "label" with a body
            if args and args[0][0] == "link":
                lk = parse_link(args[0][1])
                add(lk.label, lk.target, "choice", *m.span())
            else:
                strings = _strings(args)
                if len(strings) >= 2:
                    add(strings[0], strings[1], "choice", *m.span())
    for m in _HARLOWE_RE.finditer(text) if "(" in text else ():
        name = m.group(1).lower().replace("-", "")
        args, end = _args(text, m.end(), ")")
        taken.append((m.start(), end))
        strings = _strings(args)
        if not strings:
            continue
        if name == "goto":
            add(strings[-1], strings[-1], "goto", m.start(), end)
        elif name == "display":
            add(strings[0], strings[0], "include", m.start(), end)
        else:
            label = strings[0] if len(strings) > 1 else strings[-1]
            add(label, strings[-1], "choice", m.start(), end)
    for m in _CHAPBOOK_RE.finditer(text) if "{" in text else ():
        name = m.group(1).lower()
        close = text.find("}", m.end())
        if close < 0:
            continue
        body = text[m.end() : close]
        taken.append((m.start(), close + 1))
        first = _STRING_RE.match(body)
        if first is None:
            continue
        value = _unquote(next(g for g in first.groups() if g is not None))
        props = {
            m2.group(1).lower(): _unquote(next(g for g in m2.group(2, 3, 4) if g is not None))
            for m2 in re.finditer(
                r"""(\w[\w ]*?)\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`)""",
                body[first.end() :],
            )
        }
        if name == "link to":
            add(props.get("label", value), value, "choice", m.start(), close + 1)
        elif name.startswith("embed passage"):
            add(value, value, "include", m.start(), close + 1)
        elif "passage" in props:  # reveal link: 'label', passage: 'Target'
            add(value, props["passage"], "include", m.start(), close + 1)
    for m in _SNOWMAN_RE.finditer(text) if "data-passage" in text else ():
        label = re.sub(r"<[^>]*>", "", m.group(3))
        add(label, m.group(2), "choice", *m.span())

    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in taken)

    for a, b, inner in find_links(text):
        if inside(a):
            continue
        lk = parse_link(inner)
        add(lk.label, lk.target, "choice", a, b)
    found.sort(key=lambda lk: (lk.start, lk.end))
    return found


def choice_key(kind: str, label: str, target: str) -> tuple[str, str, str]:
    """How two links are compared: the same kind, label (case and spacing aside) and target."""
    return (kind, " ".join(label.split()).casefold(), target)


def unique_links(links: Iterable[Link]) -> list[Link]:
    """Links without repeats of the very same choice (the first one counts)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for lk in links:
        key = choice_key(lk.kind, lk.label, lk.target)
        if key not in seen:
            seen.add(key)
            out.append(lk)
    return out


def split_tail(text: str) -> tuple[str, str]:
    """A passage's text as (scene text, tail): the tail is the trailing block of lines holding only
    ``[[links]]`` (with the blank lines before it); ``scene text + tail == text``."""
    lines = text.split("\n")
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or _link_only(lines[end - 1])):
        end -= 1
    if end == len(lines):
        return text, ""
    if not any(_link_only(ln) for ln in lines[end:]):
        return text, ""  # only blank lines at the end: they stay in the text
    body = "\n".join(lines[:end])
    return body, text[len(body) :]


def link_line(label: str, target: str, kind: str = "choice", story_format: str = "") -> str:
    """How a choice is written into a passage: a ``[[link]]``; a goto or include in the story
    format's own macro (SugarCube, Harlowe, Chapbook), else as a plain link."""
    label = " ".join(label.split()).replace("]]", "] ]").replace("[[", "[ [")
    fmt = story_format.casefold()
    quoted = '"' + target.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "goto" and fmt.startswith("sugarcube"):
        return f"<<goto {quoted}>>"
    if kind == "goto" and fmt.startswith("harlowe"):
        return f"(go-to: {quoted})"
    if kind == "include" and fmt.startswith("sugarcube"):
        return f"<<include {quoted}>>"
    if kind == "include" and fmt.startswith("harlowe"):
        return f"(display: {quoted})"
    if kind == "include" and fmt.startswith("chapbook"):
        return "{embed passage: " + quoted + "}"
    return f"[[{target}]]" if label in ("", target) else f"[[{label}->{target}]]"


def compose_text(
    body: str,
    choices: Sequence[Link],
    *,
    tail: str | None = None,
    story_format: str = "",
) -> str:
    """A passage's text from the scene text and its choices.

    ``tail``, the one read at import, is written back as it was when the links in the text and
    the tail still give exactly ``choices``; otherwise the choices that the text does not hold
    already are written as one link per line after a blank line.
    """
    inline = unique_links(lk.link() for lk in extract_links(body))
    wanted = [choice_key(c.kind, c.label, c.target) for c in unique_links(choices)]
    if tail is not None:
        with_tail = unique_links([*inline, *(lk.link() for lk in extract_links(tail))])
        if [choice_key(c.kind, c.label, c.target) for c in with_tail] == wanted:
            return body + tail
    have = {choice_key(c.kind, c.label, c.target) for c in inline}
    lines = [
        link_line(c.label, c.target, c.kind, story_format)
        for c in unique_links(choices)
        if choice_key(c.kind, c.label, c.target) not in have
    ]
    if not lines:
        return body
    body = body.rstrip()
    return (body + "\n\n" if body else "") + "\n".join(lines)


def entries_from_specials(doc: StoryDoc) -> list[str]:
    """Passages the special passages link to (a StoryMenu's links): a reader can enter them there."""
    names = doc.names()
    out: list[str] = []
    for x in doc.specials:
        if "script" in x.tags or "stylesheet" in x.tags:
            continue
        for lk in extract_links(x.text):
            if lk.target in names and lk.target not in out:
                out.append(lk.target)
    return out
