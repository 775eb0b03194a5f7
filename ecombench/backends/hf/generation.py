"""Greedy generation for evaluation: batches by token budget, one preallocated KV cache per batch,
finished rows dropped, exact prompts.

Why not ``model.generate`` on padded batches (lm-eval's HF path)? On prompts of real length and a
model that answers at full length, that path was 3.5x *slower* than one prompt at a time on 2 CPU
cores, with 3.5 GB peak memory and half its CPU time in the kernel:

- its ``DynamicCache`` grows by ``torch.cat`` each step, so every step allocates and copies the
  whole cache of every layer (at batch 32 and 1,500-token prompts, ~400 MB per step; large
  allocations go to fresh ``mmap`` pages, hence the system time);
- the prefill of 32 long prompts at once materialises 32 attention matrices per layer;
- a batch is sized by count, not by tokens, so one batch of long prompts holds gigabytes.

One-token answers (multiple choice) are their prompt's prefill: they are answered first, with no
cache kept, and take no place in a decode batch. Every other request goes to a batch that holds as
many prompts as fit ``token_budget``, counted in the cache slots the batch allocates. Prompts are
prefilled without padding, so each prompt's first token is that of one-prompt ``generate``: on CPU
packed into one sequence, each prompt attending to itself alone (``RaggedAttention``); elsewhere
prompts of equal length together, others alone. Their keys and values go into a cache allocated
once for the batch. On CPU a batch's rows (longest prompt first) are split into blocks of similar
length (``cache_blocks``), each with a buffer of its own as wide as its longest prompt plus the
answers, so prompts of 60 and 1,900 tokens share a batch without 1,900-column rows for the short
ones: a batch costs its real slots, and more answers decode in one wave of steps. Elsewhere the
batch is one block (rows x (longest prompt + most new tokens)). A row's keys end at its block's
longest prompt (left padding); decoding runs all rows together, writing each step's keys and
values in place, and on CPU each group of rows reads its keys only from its own start, not the
block's padding. A row stops at an end-of-sequence token, its token limit or a stop string. Its
cache row is then refilled (continuous batching): the next waiting prompt (in plan order) whose
prompt fits before the column decoding has reached in that block and whose answer fits the columns
left is prefilled alone and loaded so that it ends at that column, and decodes with the others from
the next step. Rows left empty because nothing waiting fits leave the batch once a quarter of it is
done. The cache is not enlarged for refills, so late in a batch only short answers fit.
docs/speed.md has the profile behind each of these.

The fast path needs a decoder whose default cache is a plain per-layer key/value cache (Llama,
Qwen2, Mistral, Phi-3, GPT-NeoX and most others); ``supports`` says whether a model qualifies and
the caller falls back to ``generate`` otherwise (sliding-window or linear-attention layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_TOKEN_BUDGET = 16384  # cache slots per batch when the caller gives none (ecombench.lm sizes it from memory)
MAX_ROWS = 256
PREFILL_TOKENS = 4096  # prompts of one length prefilled together, up to this many tokens
BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed batch


@dataclass(frozen=True)
class Request:
    """One greedy generation: prompt token ids, the most new tokens, and the texts that end it."""

    tokens: Sequence[int]
    max_new: int
    stop: tuple[str, ...] = ()
    adapter: str | None = None  # a peft model's adapter that answers this row (several adapters of one base in one pass)


def plan_batches(lengths: Sequence[int], max_new: Sequence[int], token_budget: int, max_rows: int = MAX_ROWS) -> list[list[int]]:
    """Group request indices, longest prompt first, so that rows x (longest prompt + most new tokens),
    the cache a batch allocates, fits the budget.

    A request larger than the budget on its own still gets a batch of one.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    most_new = 0
    for i in order:
        new_most = max(most_new, max_new[i])
        if current and ((lengths[current[0]] + new_most) * (len(current) + 1) > token_budget or len(current) >= max_rows):
            batches.append(current)
            current, new_most = [], max_new[i]
        current.append(i)
        most_new = new_most
    if current:
        batches.append(current)
    return batches


BLOCK_COST = 256  # a block of rows with a cache of its own costs one more attention call a step, about this many slots' reads


def plan_blocks(lengths: Sequence[int], max_new: Sequence[int], token_budget: int, max_rows: int = MAX_ROWS) -> list[list[int]]:
    """Requests grouped into batches, longest prompt first, where a batch's rows are split into blocks that each
    get a cache of their own (``cache_blocks``): a batch holds as many prompts as fit ``token_budget`` counted
    by the slots those caches allocate, not by rows x (longest prompt + most new tokens).

    A request larger than the budget on its own still gets a batch of one."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    table: _BlockTable | None = None
    for i in order:
        step = None
        if table is None:
            table = _BlockTable(max_new[i])
        else:
            grown = table if max_new[i] <= table.new else table.widened(max_new[i])  # a longer answer widens every block
            step = grown.step(lengths[i])
            if table.rows >= max_rows or step[1] > token_budget:
                batches.append(table.ids)
                table, step = _BlockTable(max_new[i]), None
            else:
                table = grown
        table.add(lengths[i], i, step)
    if table is not None:
        batches.append(table.ids)
    return batches


class _BlockTable:
    """``cache_blocks``' dynamic programme over rows added longest first, one row at a time (O(rows) each)."""

    def __init__(self, new: int, cost: int = BLOCK_COST) -> None:
        self.new, self.cost = new, cost
        self.lengths: list[int] = []
        self.ids: list[int] = []
        self.best: list[float] = [0.0]  # best[b]: least slots + cost per block for rows [0, b)
        self.slots: list[int] = [0]  # the slots of that split
        self.cut: list[int] = [0]

    @property
    def rows(self) -> int:
        return len(self.lengths)

    def step(self, length: int) -> tuple[float, int, int]:
        """The best split with one more row of ``length``: its cost, its slots, and where its last block starts."""
        b = self.rows + 1
        best, slots, cut, width = float("inf"), 0, 0, length
        for a in range(b - 1, -1, -1):
            if a < b - 1:
                width = max(width, self.lengths[a])  # the block [a, b)'s longest prompt
            cost = self.best[a] + (b - a) * (width + self.new) + self.cost
            if cost < best:
                best, slots, cut = cost, self.slots[a] + (b - a) * (width + self.new), a
        return best, slots, cut

    def widened(self, new: int) -> _BlockTable:
        """The same rows with room for ``new`` new tokens each."""
        table = _BlockTable(new, self.cost)
        for n, request in zip(self.lengths, self.ids, strict=True):
            table.add(n, request)
        return table

    def add(self, length: int, request: int = -1, step: tuple[float, int, int] | None = None) -> None:
        """One more row; ``step`` is ``self.step(length)`` when the caller has it already."""
        best, slots, cut = step or self.step(length)
        self.lengths.append(length)
        self.ids.append(request)
        self.best.append(best)
        self.slots.append(slots)
        self.cut.append(cut)

    def split(self) -> list[tuple[int, int]]:
        blocks = []
        b = self.rows
        while b:
            a = self.cut[b]
            blocks.append((a, b))
            b = a
        return blocks[::-1]


def cache_blocks(lengths: Sequence[int], new: int, cost: int = BLOCK_COST) -> list[tuple[int, int]]:
    """Rows (longest prompt first) split into blocks ``[a, b)``, each with a cache of its own of (its longest prompt
    + ``new``) columns: the split with the fewest slots plus ``cost`` per block."""
    table = _BlockTable(new, cost)
    for n in lengths:
        table.add(n)
    return table.split()


def _same_length_groups(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Runs of equal lengths (the rows come sorted by length), each at most ``max_tokens`` tokens."""
    groups: list[list[int]] = []
    for row, n in enumerate(lengths):
        if groups and lengths[groups[-1][0]] == n and (len(groups[-1]) + 1) * n <= max_tokens:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def supports(model: Any) -> bool:
    """Whether the model's default cache is plain key/value layers this module can preallocate."""
    try:
        from transformers.cache_utils import DynamicCache, DynamicLayer
    except ImportError:
        return False
    if getattr(model.config, "is_encoder_decoder", False):
        return False
    try:
        cache = DynamicCache(config=model.config)
    except Exception:
        return False
    if not cache.layers or not all(type(layer) is DynamicLayer for layer in cache.layers):
        return False
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft model forwards its kwargs
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def cache_kwarg(model: Any) -> str:
    """The name ``forward`` takes its cache by: ``cache`` from transformers 5.25 (``past_key_values``
    is deprecated there and removed in 5.40), ``past_key_values`` before."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _output_cache(out: Any) -> Any:
    """The cache a forward pass returned, under either name (see ``cache_kwarg``)."""
    cache = out.get("cache") if hasattr(out, "get") else None
    return cache if cache is not None else out.past_key_values


def _buffer_layer_class():
    from transformers.cache_utils import DynamicLayer

    class BufferLayer(DynamicLayer):
        """A ``DynamicLayer`` whose keys and values live in buffers allocated once per batch, one per block of rows
        (``cache_blocks``: each as wide as its block's longest prompt plus the answers, rows in block order). With one
        block, ``update`` returns its keys and values for plain attention; with several it only writes them, and
        ``RaggedAttention`` reads each block's buffer."""

        def __init__(self) -> None:
            super().__init__()
            self.buf_k: list[Any] = []
            self.buf_v: list[Any] = []
            self.lens: list[int] = []

        def allocate(self, like_k: Any, like_v: Any, shapes: Sequence[tuple[int, int]]) -> None:
            """One buffer per block: ``shapes`` holds each block's (rows, columns)."""
            self.dtype, self.device = like_k.dtype, like_k.device
            self.buf_k = [like_k.new_zeros((rows, like_k.shape[1], columns, like_k.shape[3])) for rows, columns in shapes]
            self.buf_v = [like_v.new_zeros((rows, like_v.shape[1], columns, like_v.shape[3])) for rows, columns in shapes]
            self.lens = [0] * len(shapes)
            self.is_initialized = True

        def load(self, block: int, row: int, keys: Any, values: Any, end: int) -> None:
            """Put one prompt's keys and values (batch of 1) into row ``row`` of block ``block``, ending at column ``end``."""
            n = keys.shape[-2]
            self.buf_k[block][row, :, end - n : end].copy_(keys[0])
            self.buf_v[block][row, :, end - n : end].copy_(values[0])

        def set_lengths(self, lens: Sequence[int]) -> None:
            self.lens = list(lens)
            self.keys, self.values = self.buf_k[0][:, :, : self.lens[0]], self.buf_v[0][:, :, : self.lens[0]]

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            new, offset = key_states.shape[-2], 0
            for k, v, n in zip(self.buf_k, self.buf_v, self.lens, strict=True):
                rows = k.shape[0]
                k[:, :, n : n + new].copy_(key_states[offset : offset + rows])
                v[:, :, n : n + new].copy_(value_states[offset : offset + rows])
                offset += rows
            self.set_lengths([n + new for n in self.lens])
            return (self.keys, self.values) if len(self.buf_k) == 1 else (key_states, value_states)

        def get_seq_length(self) -> int:
            return max(self.lens, default=0)

        def select(self, keep: Sequence[Any]) -> None:
            """Keep rows ``keep[b]`` (an index tensor) of each block ``b``; a block whose entry is None is dropped."""
            kept = [r for r, rows in enumerate(keep) if rows is not None]
            self.buf_k = [self.buf_k[r][keep[r]] for r in kept]
            self.buf_v = [self.buf_v[r][keep[r]] for r in kept]
            self.set_lengths([self.lens[r] for r in kept])

    return BufferLayer


RAGGED_NAME = "ecombench_ragged_sdpa"
CHUNK_COST = 256  # one more attention call per layer costs about what this many padded key columns of one row do (2-core CPU)
MAX_PLANNED_ROWS = 64  # above this many rows, fixed chunks of 16 instead of the exact split


def chunk_rows(starts: Sequence[int], length: int, chunk_cost: int = CHUNK_COST) -> list[tuple[int, int, int]]:
    """Split rows (in cache order) into runs ``(first, stop, start)`` so that each run attends only from its
    earliest ``start`` on: the split that minimises padded columns read plus ``chunk_cost`` per run."""
    n = len(starts)
    if n > MAX_PLANNED_ROWS:
        return [(a, min(a + 16, n), min(starts[a : a + 16])) for a in range(0, n, 16)]
    best = [0.0] + [float("inf")] * n  # best[b]: cost of rows [0, b)
    cut = [0] * (n + 1)
    for b in range(1, n + 1):
        lo = length
        for a in range(b - 1, -1, -1):
            lo = min(lo, starts[a])
            cost = best[a] + (b - a) * (length - lo) + chunk_cost
            if cost < best[b]:
                best[b], cut[b] = cost, a
    runs = []
    b = n
    while b:
        a = cut[b]
        runs.append((a, b, min(starts[a:b])))
        b = a
    return runs[::-1]


class RaggedAttention:
    """Decode-step attention that reads each row's keys only from where its prompt starts.

    A batch's rows are split into blocks of similar prompt length, each with a cache buffer of its own
    (``BufferLayer``, ``cache_blocks``), left-padded to the block's longest prompt. Within a block the rows are
    split again where padding would cost more reads than one more call (``chunk_rows``); each group
    attends from its earliest start, with a mask only where its rows start at different columns.

    Prefill packs prompts of any lengths into one sequence (``segments`` of the packed sequence): the
    projections and MLPs run on all their tokens at once (a few large matrix products instead of one small
    one per prompt), and each prompt attends causally to itself alone, as it would on its own. Otherwise
    prefill is plain sdpa.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.indexed = True  # every attention layer seen knows its index: decoding can find the layer's cache blocks
        self.runs: list[tuple[int, int, int, int, int, int, Any]] | None = None
        self.layers: Sequence[Any] | None = None  # the batch's BufferLayers while it decodes
        self.segments: list[tuple[int, int]] | None = None  # packed prefill: (offset, length) of each prompt
        self._splits: dict[tuple[int, ...], list[tuple[int, int, int]]] = {}

    def set(self, spans: Sequence[tuple[int, int]], starts: Sequence[int], masks: Sequence[Any], lengths: Sequence[int]) -> None:
        """Before a decode step: cache block ``r`` holds batch rows ``spans[r]``, whose keys start at ``starts`` (per
        row, in the block's columns) and fill the first ``lengths[r]`` columns of its buffer (``masks[r]`` marks them)."""
        runs = []
        for r, ((a, b), mask, length) in enumerate(zip(spans, masks, lengths, strict=True)):
            key = tuple(starts[a:b])
            if key not in self._splits:
                self._splits[key] = chunk_rows(key, length)
            for la, lb, start in self._splits[key]:
                ragged = any(starts[a + i] != start for i in range(la, lb))
                runs.append((a + la, a + lb, r, la, lb, start, mask[la:lb, start:length].bool()[:, None, None, :] if ragged else None))
        self.runs = runs

    def __call__(self, module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> tuple[Any, None]:
        import torch
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        self.calls += 1
        self.indexed = self.indexed and isinstance(getattr(module, "layer_idx", None), int)
        packed = query.shape[2] != 1 and self.segments is not None  # several prompts packed into one sequence
        runs, layers = self.runs, self.layers
        if not packed and (runs is None or layers is None or query.shape[2] != 1):
            return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
        kwargs.pop("is_causal", None)  # set below: causal within each packed prompt, none for one decoded token
        if packed:
            outs = [
                sdpa_attention_forward(module, query[:, :, o : o + n], key[:, :, o : o + n], value[:, :, o : o + n], None, is_causal=True, **kwargs)[0]
                for o, n in self.segments or ()
            ]
            return torch.cat(outs, 1), None
        assert runs is not None and layers is not None  # a decode step (checked above)
        layer = layers[module.layer_idx]  # keys and values from each block's own buffer (``update`` wrote them)
        outs = [
            sdpa_attention_forward(
                module,
                query[a:b],
                layer.buf_k[r][la:lb, :, start : layer.lens[r]],
                layer.buf_v[r][la:lb, :, start : layer.lens[r]],
                mask,
                is_causal=False,
                **kwargs,
            )[0]
            for a, b, r, la, lb, start, mask in runs
        ]
        return (outs[0] if len(outs) == 1 else torch.cat(outs, 0)), None


def _ragged_attention(model: Any, device: Any) -> RaggedAttention | None:
    """Install ``RaggedAttention`` as the model's attention for this call, where it applies: an sdpa model on
    CPU whose attention layers call transformers' attention interface (a two-token probe checks; a model
    with its own attention code keeps plain sdpa and the equal-length prefill)."""
    import torch

    if device.type != "cpu" or getattr(model.config, "_attn_implementation", None) != "sdpa":
        return None
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    ragged = RaggedAttention()
    AttentionInterface.register(RAGGED_NAME, ragged)
    # sdpa's masks, so that prefill is exactly sdpa's and code that tests the name still gets a correct mask
    ALL_MASK_ATTENTION_FUNCTIONS.register(RAGGED_NAME, sdpa_mask)
    model.config._attn_implementation = RAGGED_NAME
    probe = torch.zeros((1, 2), dtype=torch.long, device=device)
    with torch.inference_mode():
        model(input_ids=probe, attention_mask=torch.ones_like(probe), use_cache=False, logits_to_keep=1)
    if ragged.calls == 0 or not ragged.indexed:
        model.config._attn_implementation = "sdpa"
        return None
    return ragged


def _stopped(text: str, stop: tuple[str, ...]) -> bool:
    return any(s and s in text for s in stop)


def greedy_generate(
    model: Any,
    requests: Sequence[Request],
    *,
    eos_ids: set[int],
    decode: Callable[[list[int]], str],
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    max_rows: int = MAX_ROWS,
    on_done: Callable[[int, list[int]], None] | None = None,
    refill: bool = True,
    ragged_attention: bool = True,
) -> list[list[int]]:
    """The new tokens of each request (an end-of-sequence token included when one was produced).

    ``decode`` turns token ids into text for stop strings; ``on_done(i, tokens)`` is called as each
    batch finishes (progress, caching). ``refill=False`` leaves finished rows empty (the engine before
    continuous batching; ``benchmarks/bench_refill.py`` compares the two); ``ragged_attention=False``
    keeps plain sdpa over the padded batch and prefills only equal-length prompts together (the engine
    before ``RaggedAttention``; ``benchmarks/bench_generation.py`` compares the two).
    """
    import torch

    device = next(model.parameters()).device
    results: list[list[int]] = [[] for _ in requests]
    lengths = [len(r.tokens) for r in requests]
    ragged = _ragged_attention(model, device) if ragged_attention else None
    active = model.active_adapter if _adapters(requests) else None  # put back after passes that made others active
    try:
        with torch.inference_mode():
            _generate(model, requests, results, lengths, eos_ids, decode, device, token_budget, max_rows, on_done, refill, ragged)
    finally:
        if ragged is not None:
            model.config._attn_implementation = "sdpa"
        if active is not None and model.active_adapter != active:
            model.set_adapter(active)
    return results


def _generate(model, requests, results, lengths, eos_ids, decode, device, token_budget, max_rows, on_done, refill, ragged) -> None:
    from transformers.cache_utils import Cache

    BufferLayer = _buffer_layer_class()
    # One-token answers (multiple choice) are their prompt's prefill: no cache row, no place in a decode batch.
    decoded = [i for i, r in enumerate(requests) if r.max_new > 1]
    for i in _prefill_only(model, requests, [i for i, r in enumerate(requests) if r.max_new <= 1], results, device, ragged):
        if on_done is not None:
            on_done(i, results[i])
    planner = plan_blocks if ragged is not None else plan_batches  # on CPU each block of rows gets a cache of its own width
    plan = [[decoded[j] for j in batch] for batch in planner([lengths[i] for i in decoded], [requests[i].max_new for i in decoded], token_budget, max_rows)]
    cache_name = cache_kwarg(model)
    waiting = [i for batch in plan for i in batch]  # longest prompt first, as planned
    taken: set[int] = set()

    def take(longest: int, room: int) -> int | None:
        """The next waiting request whose prompt fits before column ``longest`` and whose answer fits ``room`` columns."""
        if not refill:
            return None
        for k, i in enumerate(waiting):
            if lengths[i] <= longest and requests[i].max_new <= room:
                del waiting[k]
                taken.add(i)
                return i
        return None

    for batch in plan:
        batch = [i for i in batch if i not in taken]
        if not batch:
            continue
        taken.update(batch)
        waiting[:] = [i for i in waiting if i not in taken]
        done = _run_batch(model, requests, batch, results, eos_ids, decode, device, BufferLayer, Cache, cache_name, take, ragged)
        if on_done is not None:
            for i in done:
                on_done(i, results[i])


def _packs(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Consecutive rows packed into sequences of at most ``max_tokens`` tokens (a longer prompt alone)."""
    packs: list[list[int]] = []
    total = 0
    for row, n in enumerate(lengths):
        if packs and total + n <= max_tokens:
            packs[-1].append(row)
            total += n
        else:
            packs.append([row])
            total = n
    return packs


def _forward(model: Any, names: Sequence[str | None] | None, **kwargs: Any) -> Any:
    """``model(**kwargs)``, each batch row answered by its adapter in ``names`` (a peft model holding several;
    None: no adapter named, the model as it is).

    One adapter for every row is that adapter made active: the very forward pass of scoring it alone. Rows of
    several adapters use peft's mixed-batch inference (``adapter_names``: the base layers once for all rows,
    each adapter's low-rank update on its own rows; ``__base__`` for a row of the base alone)."""
    if names is None:
        return model(**kwargs)
    first = names[0]
    if any(n != first for n in names):
        return model(**kwargs, adapter_names=[n or BASE_ADAPTER for n in names])
    if first is None:
        with model.disable_adapter():
            return model(**kwargs)
    if model.active_adapter != first:
        model.set_adapter(first)
    return model(**kwargs)


def _per_adapter(adapters: Sequence[str | None] | None, lengths: Sequence[int], split: Callable[[Sequence[int], int], list[list[int]]]) -> list[list[int]]:
    """``split(lengths, PREFILL_TOKENS)`` applied to each adapter's rows apart (in row order, adapters in order of
    first appearance), so that a forward pass prefills one adapter's prompts only."""
    if adapters is None or len(set(adapters)) <= 1:
        return split(lengths, PREFILL_TOKENS)
    groups: dict[str | None, list[int]] = {}
    for row, name in enumerate(adapters):
        groups.setdefault(name, []).append(row)
    return [[rows[j] for j in part] for rows in groups.values() for part in split([lengths[r] for r in rows], PREFILL_TOKENS)]


def _prefills(model, prompts, device, use_cache, ragged, adapters=None):
    """Prefill ``prompts``: yields ``(cache or None, [(row, first token, batch index, start, stop)])`` per forward
    pass, where each row's keys and values are ``[batch index, :, start:stop]`` of the returned cache.

    With ``RaggedAttention`` installed, prompts are packed into sequences (each attends to itself alone);
    otherwise prompts of the same length go together, others alone. Either way no prompt is padded, so its
    first token is the one one-prompt generate gives. ``adapters`` (one name per prompt, or None) keeps each
    forward pass to one adapter's prompts."""
    import torch

    lengths = [len(p) for p in prompts]
    if ragged is None:
        for group in _per_adapter(adapters, lengths, _same_length_groups):
            input_ids = torch.tensor([list(prompts[row]) for row in group], dtype=torch.long, device=device)
            names = None if adapters is None else [adapters[row] for row in group]
            out = _forward(model, names, input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=use_cache, logits_to_keep=1)
            tokens = out.logits[:, -1].argmax(-1).tolist()
            yield (_output_cache(out) if use_cache else None), [(row, int(tokens[j]), j, 0, lengths[row]) for j, row in enumerate(group)]
            del out
        return
    for pack in _per_adapter(adapters, lengths, _packs):
        spans, offset = [], 0
        for row in pack:
            spans.append((offset, offset + lengths[row]))
            offset += lengths[row]
        input_ids = torch.tensor([[t for row in pack for t in prompts[row]]], dtype=torch.long, device=device)
        positions = torch.cat([torch.arange(lengths[row], device=device) for row in pack])[None]
        ragged.segments = [(a, b - a) for a, b in spans]
        try:
            out = _forward(
                model,
                None if adapters is None else [adapters[pack[0]]],  # one sequence: the pack's prompts are one adapter's
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                position_ids=positions,
                use_cache=use_cache,
                logits_to_keep=torch.tensor([b - 1 for _, b in spans], device=device),
            )
        finally:
            ragged.segments = None
        tokens = out.logits[0].argmax(-1).tolist()
        yield (_output_cache(out) if use_cache else None), [(row, int(tokens[j]), 0, a, b) for j, (row, (a, b)) in enumerate(zip(pack, spans, strict=True))]
        del out


def _adapters(requests: Sequence[Request]) -> list[str | None] | None:
    """Each request's adapter, or None when no request names one (the model answers as it is)."""
    return [r.adapter for r in requests] if any(r.adapter for r in requests) else None


def _prefill_only(model, requests, ids, results, device, ragged) -> list[int]:
    """Answer one-token requests by their prefill alone (``_prefills``), no cache kept. Returns the requests
    answered, in order."""
    ids = sorted(ids, key=lambda i: (-len(requests[i].tokens), i))
    for _, answered in _prefills(model, [requests[i].tokens for i in ids], device, False, ragged, _adapters([requests[i] for i in ids])):
        for row, token, *_ in answered:
            results[ids[row]] = [token]
    return ids


def _run_batch(model, requests, ids, results, eos_ids, decode, device, BufferLayer, Cache, cache_name, take, ragged) -> list[int]:
    """Generate for ``ids`` (longest prompt first); a row that finishes hands its cache row to the next waiting
    request that fits (``take``), prefilled alone into it, so the batch stays full. Returns every request it answered.

    With ``RaggedAttention`` (CPU) the rows are split into blocks (``cache_blocks``), each with a cache buffer as wide as
    its longest prompt plus the answers; otherwise the batch is one block, left-padded to its longest prompt."""
    import torch

    ids = list(ids)
    reqs = [requests[i] for i in ids]
    named = _adapters(requests)  # indexed by request (refills), where ``_adapters(reqs)`` is by row
    rows = len(reqs)
    most_new = max(r.max_new for r in reqs)
    spans = cache_blocks([len(r.tokens) for r in reqs], most_new) if ragged is not None else [(0, rows)]
    widths = [max(len(reqs[row].tokens) for row in range(a, b)) for a, b in spans]  # each block's longest prompt
    columns = [w + most_new for w in widths]
    block_of = [r for r, (a, b) in enumerate(spans) for _ in range(a, b)]  # cache row -> its block
    layers = None
    cache = None
    out_tokens: list[list[int]] = [[] for _ in reqs]
    # 1. Prefill without padding (``_prefills``: packed, or equal lengths together), so that every prompt's
    #    keys, values and first token are those of one-prompt generate.
    for pkv, answered in _prefills(model, [r.tokens for r in reqs], device, True, ragged, _adapters(reqs)):
        if layers is None:
            layers = [BufferLayer() for _ in pkv.layers]
            for layer, src in zip(layers, pkv.layers, strict=True):
                layer.allocate(src.keys, src.values, [(b - a, c) for (a, b), c in zip(spans, columns, strict=True)])
            cache = Cache(layers=layers)
        for row, token, b, start, stop in answered:
            r = block_of[row]
            for layer, src in zip(layers, pkv.layers, strict=True):
                layer.load(r, row - spans[r][0], src.keys[b : b + 1, :, start:stop], src.values[b : b + 1, :, start:stop], widths[r])
            out_tokens[row].append(token)
        del pkv
    assert layers is not None and cache is not None  # set by the first prefill group (reqs is never empty)
    for layer in layers:
        layer.set_lengths(widths)

    # A stop string can only newly appear in the last few tokens (a token holds at least one byte,
    # a character at most four), so only that tail is decoded at each step.
    tails = [4 * max(map(len, r.stop)) + 4 if r.stop else 0 for r in reqs]

    def finished(row: int) -> bool:
        toks = out_tokens[row]
        if toks[-1] in eos_ids or len(toks) >= reqs[row].max_new:
            return True
        return bool(tails[row]) and _stopped(decode(toks[-tails[row] :]), reqs[row].stop)

    # 2. Decode the rows together; `live` maps cache rows to request rows. Each block has its own mask (its columns).
    masks = [torch.zeros((b - a, c), dtype=torch.long, device=device) for (a, b), c in zip(spans, columns, strict=True)]
    starts = [widths[block_of[row]] - len(req.tokens) for row, req in enumerate(reqs)]  # each cache row's first real column
    for row in range(rows):
        r = block_of[row]
        masks[r][row - spans[r][0], starts[row] : widths[r]] = 1
    active = [row for row in range(rows) if not finished(row)]
    live = list(range(rows))  # request row held by each cache row
    positions = torch.tensor([len(req.tokens) for req in reqs], device=device)

    def keep_only(slots: list[int]) -> None:
        """Keep the cache rows ``slots`` (in order), dropping blocks left empty."""
        nonlocal spans, widths, columns, block_of, masks, positions, live, starts
        chosen = [[slot - a for slot in slots if a <= slot < b] for a, b in spans]
        keep = [torch.tensor(c, device=device) if c else None for c in chosen]
        for layer in layers:
            layer.select(keep)
        kept = [r for r, c in enumerate(chosen) if c]
        sizes = [len(chosen[r]) for r in kept]
        spans = [(sum(sizes[:k]), sum(sizes[: k + 1])) for k in range(len(kept))]
        widths, columns = [widths[r] for r in kept], [columns[r] for r in kept]
        masks = [masks[r][keep[r]] for r in kept]
        block_of = [k for k, (a, b) in enumerate(spans) for _ in range(a, b)]
        index = torch.tensor(slots, device=device)
        positions, live, starts = positions[index], [live[slot] for slot in slots], [starts[slot] for slot in slots]

    if len(active) < rows and active:
        keep_only(active)

    def admit(slot: int, step: int) -> bool:
        """Refill cache row ``slot`` with waiting requests until one needs decoding (True) or none fits (False).

        Its prompt is prefilled alone (its first token is one-prompt generate's) and its keys and values end at
        the column decoding writes next in the row's block; a request done after its first token needs no row.
        """
        nonlocal positions
        r = block_of[slot]
        end = widths[r] + step
        while (i := take(end, columns[r] - end + 1)) is not None:
            req = requests[i]
            input_ids = torch.tensor([list(req.tokens)], dtype=torch.long, device=device)
            out = _forward(model, named and [named[i]], input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=True, logits_to_keep=1)
            row = len(reqs)
            reqs.append(req)
            ids.append(i)
            tails.append(4 * max(map(len, req.stop)) + 4 if req.stop else 0)
            out_tokens.append([int(out.logits[0, -1].argmax(-1))])
            if finished(row):
                del out
                continue
            pkv = _output_cache(out)
            local = slot - spans[r][0]
            for layer, src in zip(layers, pkv.layers, strict=True):
                layer.load(r, local, src.keys, src.values, end)
            del out, pkv
            masks[r][local] = 0
            masks[r][local, end - len(req.tokens) : end] = 1
            starts[slot] = end - len(req.tokens)
            positions[slot] = len(req.tokens) - step
            live[slot] = row
            active.append(row)
            return True
        return False

    step = 0
    while active:
        for r, mask in enumerate(masks):
            mask[:, widths[r] + step] = 1
        if ragged is not None:
            ragged.layers = layers
            ragged.set(spans, starts, masks, [w + step + 1 for w in widths])
        last = torch.tensor([[out_tokens[r][-1]] for r in live], device=device)
        out = _forward(
            model,
            named and [named[ids[r]] for r in live],  # decoding mixes adapters: one per row
            input_ids=last,
            # with blocks, RaggedAttention masks each itself; without, the one block's mask
            attention_mask=None if ragged is not None else masks[0][:, : widths[0] + step + 1],
            position_ids=(positions + step)[:, None],
            use_cache=True,
            logits_to_keep=1,
            **{cache_name: cache},
        )
        if ragged is not None:
            ragged.runs = ragged.layers = None  # what follows (refill prefills) is plain attention
        nxt = out.logits[:, -1].argmax(-1).tolist()
        del out
        running = set(active)
        for slot, row in enumerate(live):
            if row in running:
                out_tokens[row].append(int(nxt[slot]))
        active = [r for r in active if not finished(r)]
        step += 1
        running = set(active)
        full: set[int] = set()  # blocks where nothing waiting fits any more at this column
        for slot, row in enumerate(live):
            if row not in running and block_of[slot] not in full and not admit(slot, step):
                full.add(block_of[slot])
        if active and len(active) <= 0.75 * len(live):
            keep_only([live.index(r) for r in active])
    for row, i in enumerate(ids):
        results[i] = out_tokens[row]
    return ids
