"""A tokenizer's vocabulary as bytes, for constrained decoding with any Hugging Face tokenizer.

Constrained decoding must know exactly which text each token adds. Decoding tokens one by
one is not enough: byte-level BPE tokens may hold part of a UTF-8 character (SmolLM2 writes
"Ọ" as three tokens, one byte each), SentencePiece marks spaces with ``▁`` and falls back to
``<0xNN>`` byte tokens, and a lone token often decodes to U+FFFD. :func:`token_bytes` reads
each token's exact bytes from the tokenizer's own model:

* byte-level BPE (GPT-2, Llama 3, SmolLM2, Qwen): the inverse of the GPT-2 byte-to-unicode map;
* SentencePiece-style (Llama 2, Mistral, Gemma): ``▁`` is a space, ``<0xNN>`` is byte NN;
* anything else: the token decoded on its own, kept only when it decodes to whole characters.

:class:`TokenVocab` holds those bytes in a trie plus indexes for fast masks, and can tell
whether a text can be written at all (:meth:`TokenVocab.can_spell`), so a cast name the
model's tokenizer cannot express is refused up front with a clear message.

    >>> vocab = TokenVocab([b"a", b"b", b"ab", None, b"\\xc3", b"\\xab"])
    >>> vocab.can_spell("ab"), vocab.can_spell("abc"), vocab.can_spell("ë")
    (True, False, True)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["TokenVocab", "token_bytes", "utf8_need"]

_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """The inverse of GPT-2's ``bytes_to_unicode`` (printable stand-ins for the 256 byte values)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _kind(tokenizer: Any) -> str:
    """ "bytelevel", "sentencepiece" or "other", from the fast tokenizer's decoder and model."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return "sentencepiece" if getattr(tokenizer, "sp_model", None) is not None else "other"
    spec = json.loads(backend.to_str())
    text = json.dumps(spec.get("decoder")) + json.dumps(spec.get("pre_tokenizer"))
    if '"ByteLevel"' in json.dumps(spec.get("decoder")):
        return "bytelevel"
    if "ByteFallback" in text or "Metaspace" in text or "\u2581" in text:
        return "sentencepiece"
    if '"ByteLevel"' in text:
        return "bytelevel"
    return "other"


def token_bytes(tokenizer: Any) -> list[bytes | None]:
    """The exact bytes each token id adds to the text (None for special and unusable tokens)."""
    n = len(tokenizer)
    tokens = tokenizer.convert_ids_to_tokens(list(range(n)))
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    for tid, added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(added, "special", True):
            special.add(int(tid))
    kind = _kind(tokenizer)
    out: list[bytes | None] = []
    dec = _byte_decoder()
    for i, tok in enumerate(tokens):
        if tok is None or i in special:
            out.append(None)
            continue
        if kind == "bytelevel":
            try:
                out.append(bytes(dec[c] for c in tok))
            except KeyError:  # an added token in plain text
                out.append(tok.encode("utf-8"))
        elif kind == "sentencepiece":
            m = _BYTE_TOKEN.match(tok)
            out.append(bytes([int(m.group(1), 16)]) if m else tok.replace("\u2581", " ").encode("utf-8"))
        else:
            text = tokenizer.decode([i], clean_up_tokenization_spaces=False)
            out.append(text.encode("utf-8") if text and "\ufffd" not in text else None)
    for i, b in enumerate(out):
        if b is not None and not b:
            out[i] = None
    return out


def strips_leading_space(tokenizer: Any) -> bool:
    """Whether decoding drops the space a SentencePiece tokenizer puts before the first word."""
    if _kind(tokenizer) != "sentencepiece":
        return False
    sample = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("Hello"))
    return tokenizer.decode(sample, skip_special_tokens=True) == "Hello" and bool(
        tokenizer.convert_ids_to_tokens(sample[:1])[0].startswith("\u2581")
    )


def utf8_need(lead: int) -> int:
    """How many bytes a UTF-8 character starting with byte ``lead`` has (0 if it cannot start one)."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


class TokenVocab:
    """Token bytes in a byte trie, with indexes for the common "free text" masks."""

    def __init__(self, tokens: Sequence[bytes | None], strip_first_space: bool = False):
        self.bytes: list[bytes | None] = list(tokens)
        self.strip_first_space = strip_first_space
        self.root = _Node()
        for i, b in enumerate(self.bytes):
            if not b:
                continue
            node = self.root
            for byte in b:
                node = node.children.setdefault(byte, _Node())
            node.ids.append(i)
        # tokens that are whole UTF-8 text with no control bytes, by kind, for free-text masks
        self.clean: list[int] = []  # complete UTF-8, printable, no newline
        self.text: list[str | None] = []
        for i, b in enumerate(self.bytes):
            t = None
            if b:
                try:
                    t = b.decode("utf-8")
                except UnicodeDecodeError:
                    t = None
            self.text.append(t)
            if t is not None and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in t):
                self.clean.append(i)
        self._by_first: dict[str, list[int]] = {}

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> TokenVocab:
        return cls(token_bytes(tokenizer), strips_leading_space(tokenizer))

    def __len__(self) -> int:
        return len(self.bytes)

    def can_spell(self, text: str) -> bool:
        """Whether some sequence of tokens writes exactly ``text``."""
        data = text.encode("utf-8")
        reach = [False] * (len(data) + 1)
        reach[0] = True
        for start in range(len(data)):
            if not reach[start]:
                continue
            node = self.root
            for end in range(start, len(data)):
                nxt = node.children.get(data[end])
                if nxt is None:
                    break
                node = nxt
                if node.ids:
                    reach[end + 1] = True
        return reach[len(data)]
