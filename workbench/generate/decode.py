"""The local backend's decode loop: ``n`` takes of one prompt, one forward pass per step for all of them.

:meth:`LocalTextGenerator.generate <workbench.generate.local.LocalTextGenerator.generate>` used
to hand each request to ``model.generate``. This loop does the same sampling (repetition
penalty, no-repeat n-grams, blocked words, temperature, top-p, then each take's own draw with
its own ``torch.Generator``) and adds what ``generate`` cannot do:

* **Forced text in one pass.** Where a take's output constraint leaves exactly one way on (a
  key of the scene plan's JSON, the rest of the only cast name that fits, the heading the plan
  gave), the tokens of that text go into the next forward pass together instead of one pass
  each: a structured take costs about as many passes as the tokens the model really chooses.
  The last token of a forced run is left to the model, so it can join the forced text to what
  follows the way it would have written it. Takes that fast-forward by different amounts share
  a pass: the shorter ones are padded at the front of the chunk with positions nobody attends to.
* **A cache that grows in place** (:func:`growing_layer`): room for the new tokens is reserved
  once, instead of the whole key/value cache being concatenated anew at every step.
* **Finished takes leave the batch**, so the last long take does not drag the short ones along.

Nothing here knows about stories: rows, tokens and constraints only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from threading import Event
from typing import Any

from ..errors import InvalidOutput

__all__ = ["DecodeRow", "Sampling", "decode", "growing_layer", "nucleus", "working_cache"]

FORCED_LIMIT = 48  # characters of forced text fast-forwarded at once
ROOM = 64  # extra positions reserved each time a growing cache layer needs more


def _layer_class() -> Any:
    from transformers.cache_utils import DynamicLayer

    global _GrowingLayer  # noqa: PLW0603 - made once, on first use
    if _GrowingLayer is not None:
        return _GrowingLayer

    class GrowingLayerImpl(DynamicLayer):
        """A dynamic cache layer whose keys and values live in a buffer with room to grow.

        ``keys`` and ``values`` are views of the first ``length`` positions, so everything that
        reads a :class:`DynamicLayer` (lengths, masks, ``crop``) works unchanged; ``update`` writes
        in place and only reallocates when the room is used up.

        A layer made with :meth:`share` uses another layer's buffer: it writes only past that
        layer's length (``floor``), which the other never reads, and copies the buffer first if it
        must write below it (after a ``crop``).
        """

        def __init__(self, room: int = ROOM):
            super().__init__()
            self.room = room
            self._k: Any = None
            self._v: Any = None
            self._len = 0
            self.floor = 0  # positions below this belong to the layer whose buffer is shared

        def share(self, other: Any) -> None:
            """Read ``other``'s keys and values without copying them; grow past them in its buffer."""
            self.dtype, self.device = other.dtype, other.device
            self._k, self._v, self._len = other._k, other._v, other._len
            self.floor = other._len
            self.is_initialized = True
            self._views()

        def fill(self, keys: Any, values: Any, repeats: int, room: int) -> None:
            """Start from ``keys``/``values`` (one row), repeated for ``repeats`` rows, with ``room`` to grow."""
            b, h, n, d = keys.shape
            self.dtype, self.device = keys.dtype, keys.device
            self._k = keys.new_empty(b * repeats, h, n + room, d)
            self._v = values.new_empty(b * repeats, h, n + room, d)
            self._k[:, :, :n] = keys.repeat_interleave(repeats, dim=0) if repeats > 1 else keys
            self._v[:, :, :n] = values.repeat_interleave(repeats, dim=0) if repeats > 1 else values
            self._len = n
            self.is_initialized = True
            self._views()

        def _views(self) -> None:
            self.keys = self._k[:, :, : self._len]
            self.values = self._v[:, :, : self._len]

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n = key_states.shape[-2]
            if self._len < self.floor:  # would write over the shared layer's own positions: copy first
                self._k = self._k[:, :, : self._len + n + self.room].clone()
                self._v = self._v[:, :, : self._len + n + self.room].clone()
                self.floor = 0
            if self._k is None or self._len + n > self._k.shape[-2]:
                b, h, _, d = key_states.shape
                k = key_states.new_empty(b, h, self._len + n + self.room, d)
                v = value_states.new_empty(b, h, self._len + n + self.room, d)
                if self._len:
                    k[:, :, : self._len] = self.keys
                    v[:, :, : self._len] = self.values
                self._k, self._v = k, v
                self.floor = 0
            self._k[:, :, self._len : self._len + n] = key_states
            self._v[:, :, self._len : self._len + n] = value_states
            self._len += n
            self._views()
            return self.keys, self.values

        def get_seq_length(self) -> int:
            return self._len if self.is_initialized else 0

        def crop(self, tokens_to_remove: int) -> None:
            if tokens_to_remove > 0:
                raise ValueError("crop takes the number of tokens to remove, as a negative number")
            if tokens_to_remove and self.is_initialized:
                self._len = max(0, self._len + tokens_to_remove)
                self._views()

        def batch_select_indices(self, indices: Any) -> None:
            if self._k is not None:
                self._k, self._v = self._k[indices], self._v[indices]  # new tensors: nothing shared
                self.floor = 0
                self._views()

        def batch_repeat_interleave(self, repeats: int) -> None:
            if self._k is not None:
                self._k = self._k.repeat_interleave(repeats, dim=0)
                self._v = self._v.repeat_interleave(repeats, dim=0)
                self.floor = 0
                self._views()

        def reset(self) -> None:
            self._k = self._v = None
            self._len = self.floor = 0
            super().reset()

    _GrowingLayer = GrowingLayerImpl
    return _GrowingLayer


_GrowingLayer: Any = None


def growing_layer(room: int = ROOM) -> Any:
    """A new cache layer that grows in place (the class is made on first use: transformers is heavy)."""
    return _layer_class()(room)


def working_cache(entry: Any, repeats: int, room: int, config: Any) -> Any:
    """A cache for one generation from the prefix ``entry`` (or empty) for ``repeats`` rows, with
    ``room`` positions to grow in place. ``entry`` itself is never changed: one row grows past it
    in its buffer (no copy), several rows get a copy each.

    Layers of other kinds (sliding windows, say) are copied as they are and grow by concatenation.
    """
    import copy

    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    if entry is None:
        cache = DynamicCache(config=config)
        if all(type(layer) is DynamicLayer for layer in cache.layers):
            cache.layers = [growing_layer(room) for _ in cache.layers]
        return cache
    layers = getattr(entry, "layers", None)
    grows = _layer_class()
    if layers and all(type(layer) in (DynamicLayer, grows) and layer.is_initialized for layer in layers):
        out = copy.copy(entry)
        grown = []
        for layer in layers:
            g = growing_layer(room)
            if repeats == 1 and type(layer) is grows:
                g.share(layer)
            else:
                g.fill(layer.keys, layer.values, repeats, room)
            grown.append(g)
        out.layers = grown
        return out
    out = copy.deepcopy(entry)
    if repeats > 1:
        out.batch_repeat_interleave(repeats)
    return out


@dataclass
class Sampling:
    """How each step's scores become tokens (the same for every row)."""

    temperature: float = 1.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    banned: Sequence[Sequence[int]] = ()  # token sequences that may not be written
    eos_ids: Sequence[int] = ()
    max_new: int = 1


@dataclass
class DecodeRow:
    """One take being written: its generator, constraint state and tokens."""

    seed: int
    constraint: Any = None
    new: list[int] = field(default_factory=list)
    reason: str = "length"  # "stop" (end of text), "stopped" (by the user) or "length"
    done: bool = False
    forced: int = 0  # tokens that came from forced text, not from a draw
    gen: Any = None
    state: Any = None
    ngrams: dict[tuple[int, ...], set[int]] = field(default_factory=dict)


class _Penalties:
    """Repetition penalty, no-repeat n-grams and blocked words over each row's prompt + new tokens."""

    def __init__(self, prompt: list[int], rows: int, vocab: int, s: Sampling, device: Any):
        import torch

        self.s = s
        self.prompt = prompt
        self.seen = None
        if s.repetition_penalty != 1.0:
            self.seen = torch.zeros(rows, vocab, dtype=torch.bool, device=device)
            if prompt:
                self.seen[:, torch.tensor(sorted(set(prompt)), device=device)] = True
        n = s.no_repeat_ngram_size
        self.base: dict[tuple[int, ...], set[int]] = {}
        if n and n > 1:
            for j in range(n - 1, len(prompt)):
                self.base.setdefault(tuple(prompt[j - n + 1 : j]), set()).add(prompt[j])
        self.single = sorted({int(b[0]) for b in s.banned if len(b) == 1})
        self.multi: dict[int, list[tuple[tuple[int, ...], int]]] = {}
        for b in s.banned:
            if len(b) > 1:
                self.multi.setdefault(int(b[-2]), []).append((tuple(int(t) for t in b[:-1]), int(b[-1])))

    def tail(self, row: DecodeRow, k: int) -> list[int]:
        """The last ``k`` tokens of the row's prompt + new tokens."""
        if len(row.new) >= k:
            return row.new[len(row.new) - k :]
        return self.prompt[len(self.prompt) - (k - len(row.new)) :] + row.new

    def pushed(self, batch_index: int, row: DecodeRow, tok: int) -> None:
        if self.seen is not None:
            self.seen[batch_index, tok] = True
        n = self.s.no_repeat_ngram_size
        if n and n > 1:
            before = self.tail(row, n)  # the new token is already in row.new
            if len(before) == n:
                row.ngrams.setdefault(tuple(before[:-1]), set()).add(tok)

    def select(self, index: Any) -> None:
        if self.seen is not None:
            self.seen = self.seen[index]

    def apply(self, scores: Any, rows: list[DecodeRow]) -> Any:
        import torch

        if self.seen is not None:
            p = self.s.repetition_penalty
            scores = torch.where(self.seen, torch.where(scores < 0, scores * p, scores / p), scores)
        n = self.s.no_repeat_ngram_size
        ban_rows: list[int] = []
        ban_toks: list[int] = []
        if n and n > 1:
            for i, row in enumerate(rows):
                if len(self.prompt) + len(row.new) + 1 < n:
                    continue
                key = tuple(self.tail(row, n - 1))
                for t in self.base.get(key, set()) | row.ngrams.get(key, set()):
                    ban_rows.append(i)
                    ban_toks.append(t)
        if ban_rows:
            scores[torch.tensor(ban_rows), torch.tensor(ban_toks)] = float("-inf")
        return scores

    def block(self, scores: Any, rows: list[DecodeRow]) -> Any:
        """Blocked words: a single-token word never; a longer one's last token after the rest of it."""
        import torch

        if self.single:
            scores[:, self.single] = float("-inf")
        if self.multi:
            ban_rows: list[int] = []
            ban_toks: list[int] = []
            for i, row in enumerate(rows):
                last = self.tail(row, 1)
                for head, tok in self.multi.get(last[0], ()) if last else ():
                    if tuple(self.tail(row, len(head))) == head:
                        ban_rows.append(i)
                        ban_toks.append(tok)
            if ban_rows:
                scores[torch.tensor(ban_rows), torch.tensor(ban_toks)] = float("-inf")
        return scores


def nucleus(scores: Any, top_p: float, floor: float = 1e-5) -> Any:
    """Top-p filtering: each row keeps its most likely tokens up to ``top_p`` of the mass (at least one).

    The same rule as transformers' ``TopPLogitsWarper`` (a token stays while the mass of the tokens
    above it is below ``top_p``), without sorting the whole vocabulary every step: only the tokens
    more likely than ``floor`` are sorted. When they hold ``top_p`` of the mass, every token of the
    nucleus is among them (a token below the floor has all of them above it); otherwise the
    whole vocabulary is sorted.
    """
    import torch

    probs = scores.softmax(dim=-1)
    above = probs > floor
    held = probs.masked_fill(~above, 0.0).sum(dim=-1)
    if not bool((held >= top_p + 1e-6).all()):
        from transformers import TopPLogitsWarper

        return TopPLogitsWarper(top_p)(None, scores)
    keep = torch.zeros_like(above)
    for b in range(probs.shape[0]):
        index = above[b].nonzero().squeeze(1)
        top, order = probs[b, index].sort(descending=True)
        kept = (top.cumsum(dim=0) - top) < top_p
        kept[0] = True
        keep[b, index[order[kept]]] = True
    return scores.masked_fill(~keep, float("-inf"))


def _draw(probs: Any, gen: Any, greedy: bool, cdf: Any = None) -> int:
    import torch

    if greedy:
        return int(torch.argmax(probs))
    if cdf is None:
        cdf = torch.cumsum(probs.double(), 0)
    total = float(cdf[-1])
    if total <= 0:
        return int(torch.argmax(probs))
    u = torch.rand(1, generator=gen, dtype=torch.float64) * total
    return min(int(torch.searchsorted(cdf, u)[0]), len(probs) - 1)


def _constrained(
    row: DecodeRow, probs: Any, raw: Any, budget: int, greedy: bool, eos: int
) -> tuple[int, Any]:
    """A draw from the constrained distribution: rejection first, then the allowed set."""
    import torch

    c, state = row.constraint, row.state
    if c.must_end(state):
        return eos, state
    cdf = None if greedy else torch.cumsum(probs.double(), 0)
    for _ in range(1 if greedy else 8):
        tok = _draw(probs, row.gen, greedy, cdf)
        nxt = c.token_ok(state, tok, budget)
        if nxt is not None:
            return tok, nxt
    allowed = c.allowed(state, budget)
    if not allowed:  # cannot happen while the budget covers min_remaining (tests check it)
        raise InvalidOutput(
            "the output constraint left the model no way to go on (a limit of the grammar, not "
            "of your story); nothing was saved. Try another seed, or structure='free'"
        )
    idx = torch.tensor(allowed)
    sub = probs[idx]
    if float(sub.sum()) <= 0:
        sub = torch.softmax(raw[idx].float(), -1)
    if float(sub.sum()) <= 0:
        sub = torch.ones(len(allowed))
    tok = allowed[_draw(sub, row.gen, greedy)]
    return tok, c.token_ok(state, tok, budget)


def _forward(model: Any, ids: Any, mask: Any, positions: Any, cache: Any, keep: str | None) -> Any:
    kwargs: dict[str, Any] = {keep: 1} if keep else {}
    out = model(
        input_ids=ids,
        attention_mask=mask,
        position_ids=positions,
        past_key_values=cache,
        use_cache=True,
        **kwargs,
    )
    return out.logits[:, -1, :].float()


def _fast_forward(
    row: DecodeRow,
    tokenize: Callable[[str], list[int]] | None,
    max_new: int,
    penalties: _Penalties,
    batch_index: int,
) -> list[int]:
    """The tokens of the text ``row``'s constraint forces next (all but the last, which the model
    writes so it can join the forced text to what follows), added to the row; none without a
    constraint or ``tokenize``, or where a token would not fit the constraint or the budget."""
    if row.constraint is None or tokenize is None or len(row.new) >= max_new:
        return []
    text = row.constraint.forced_text(row.state, FORCED_LIMIT)
    out: list[int] = []
    for t in tokenize(text)[:-1] if text else ():
        budget = max_new - len(row.new)
        nxt = row.constraint.token_ok(row.state, t, budget) if budget > 1 else None
        if nxt is None:
            break
        row.state = nxt
        row.new.append(t)
        row.forced += 1
        penalties.pushed(batch_index, row, t)
        out.append(t)
    return out


def _chunk(chunks: list[list[int]], starts: list[int], device: Any) -> tuple[Any, Any, Any]:
    """One forward pass's input ids, attention mask and positions for rows that feed different
    numbers of tokens: the shorter rows are padded at the front, at masked positions (pads sit at
    the row's next position; nobody attends to them)."""
    import torch

    width = max(len(c) for c in chunks)
    ids = torch.zeros(len(chunks), width, dtype=torch.long, device=device)
    mask = torch.zeros(len(chunks), width, dtype=torch.long, device=device)
    pos = torch.tensor([[at] * width for at in starts], dtype=torch.long, device=device)
    for b, (toks, at) in enumerate(zip(chunks, starts, strict=True)):
        pad = width - len(toks)
        ids[b, pad:] = torch.tensor(toks)
        mask[b, pad:] = 1
        pos[b, pad:] = torch.arange(at, at + len(toks))
    return ids, mask, pos


class TorchSteps:
    """The model passes of :func:`decode_rows` on a transformers model and its key/value cache.

    Any engine can stand in its place with the same three methods (the llama.cpp engine does):
    ``first(prompt, cached, n)`` the logits after the prompt for ``n`` rows, ``step(chunks, starts)``
    each row's next tokens in one pass and the logits after them, ``select(keep)`` the rows that
    go on (batch indices).
    """

    def __init__(self, model: Any, cache: Any, logits_keep: str | None = "logits_to_keep") -> None:
        self.model = model
        self.cache = cache
        self.keep = logits_keep
        self.device = next(model.parameters()).device
        self.mask: Any = None

    def first(self, prompt: list[int], cached: int, n: int) -> Any:
        import torch

        rest = prompt[cached:]
        self.mask = torch.ones(n, len(prompt), dtype=torch.long, device=self.device)
        return _forward(
            self.model,
            torch.tensor([rest] * n, device=self.device),
            self.mask,
            torch.arange(cached, len(prompt), device=self.device).unsqueeze(0).expand(n, -1),
            self.cache,
            self.keep,
        )

    def select(self, keep: list[int]) -> None:
        import torch

        index = torch.tensor(keep, device=self.device)
        self.cache.batch_select_indices(index)
        self.mask = self.mask[index]

    def step(self, chunks: list[list[int]], starts: list[int]) -> Any:
        import torch

        ids, step_mask, pos = _chunk(chunks, starts, self.device)
        self.mask = torch.cat([self.mask, step_mask], dim=1)
        return _forward(self.model, ids, self.mask, pos, self.cache, self.keep)


def decode(
    model: Any,
    *,
    cache: Any,
    prompt: list[int],
    cached: int,
    seeds: Sequence[int],
    sampling: Sampling,
    constraints: Sequence[Any] | None = None,
    tokenize: Callable[[str], list[int]] | None = None,
    stop: Event | None = None,
    on_tokens: Callable[[int, list[int]], None] | None = None,
    logits_keep: str | None = "logits_to_keep",
) -> tuple[list[DecodeRow], float | None]:
    """Write one take per seed after ``prompt``, whose first ``cached`` tokens are in ``cache``
    (already repeated once per row). Returns the rows and when the first new token came
    (``time.perf_counter``). ``on_tokens(row, tokens)`` hears each row's new tokens as they come.

    ``tokenize`` turns a constraint's forced text into tokens (the fast-forward); without it every
    token is drawn.
    """
    import torch

    with torch.inference_mode():
        return decode_rows(
            TorchSteps(model, cache, logits_keep),
            prompt=prompt,
            cached=cached,
            seeds=seeds,
            sampling=sampling,
            constraints=constraints,
            tokenize=tokenize,
            stop=stop,
            on_tokens=on_tokens,
        )


def decode_rows(
    steps: Any,
    *,
    prompt: list[int],
    cached: int,
    seeds: Sequence[int],
    sampling: Sampling,
    constraints: Sequence[Any] | None = None,
    tokenize: Callable[[str], list[int]] | None = None,
    stop: Event | None = None,
    on_tokens: Callable[[int, list[int]], None] | None = None,
) -> tuple[list[DecodeRow], float | None]:
    """The decode loop over any engine's model passes (``steps``, see :class:`TorchSteps`): the
    sampling, constraints, forced text, stop and streaming of :func:`decode`."""
    import torch

    s = sampling
    n = len(seeds)
    greedy = s.temperature <= 0
    eos = list(s.eos_ids)
    rows = [
        DecodeRow(seed=seed, constraint=(constraints[i] if constraints else None))
        for i, seed in enumerate(seeds)
    ]
    for row in rows:
        row.gen = torch.Generator(device="cpu").manual_seed(row.seed)
        row.state = row.constraint.start() if row.constraint is not None else None
    top_p = s.top_p if not greedy and s.top_p < 1.0 else None
    logits = steps.first(prompt, cached, n)
    device = logits.device
    penalties = _Penalties(prompt, n, logits.shape[-1], s, device)
    positions = [len(prompt)] * n  # the next position of each row
    active = list(range(n))  # batch index -> row
    first_at: float | None = None
    while True:
        scores = penalties.apply(logits, [rows[r] for r in active])
        raw = scores.clone() if constraints else None
        scores = penalties.block(scores, [rows[r] for r in active])
        if not greedy and s.temperature != 1.0:
            scores = scores / s.temperature
        if top_p is not None:
            scores = nucleus(scores, top_p)
        probs = torch.softmax(scores, dim=-1).cpu()
        chunks: list[list[int]] = []
        for b, r in enumerate(active):
            row = rows[r]
            budget = s.max_new - len(row.new)
            if row.constraint is not None:
                tok, row.state = _constrained(
                    row, probs[b], raw[b] if raw is not None else None, budget, greedy, eos[0]
                )
            else:
                tok = _draw(probs[b], row.gen, greedy)
            if tok in eos:
                row.done, row.reason = True, "stop"
                chunks.append([])
                continue
            row.new.append(tok)
            penalties.pushed(b, row, tok)
            toks = [tok, *_fast_forward(row, tokenize, s.max_new, penalties, b)]
            if len(row.new) >= s.max_new:
                row.done = True
            chunks.append(toks)
        if first_at is None and any(chunks):
            first_at = time.perf_counter()
        if on_tokens is not None:
            for b, r in enumerate(active):
                if chunks[b]:
                    on_tokens(r, chunks[b])
        stopped = stop is not None and stop.is_set()
        if stopped:
            for r in active:
                if not rows[r].done:
                    rows[r].done, rows[r].reason = True, "stopped"
        keep = [b for b, r in enumerate(active) if not rows[r].done]
        if not keep:
            break
        if len(keep) < len(active):
            steps.select(keep)
            penalties.select(torch.tensor(keep, device=device))
            chunks = [chunks[b] for b in keep]
            active = [active[b] for b in keep]
        starts = [positions[r] for r in active]
        for r, toks in zip(active, chunks, strict=True):
            positions[r] += len(toks)
        logits = steps.step(chunks, starts)
    return rows, first_at
