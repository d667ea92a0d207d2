"""Wrong control: when the front request does not fit, admits later ones that do (they overtake it)."""
"""A continuous-batching scheduler: admission, preemption and retirement under a KV-block budget.
See README.md."""
from collections import deque
from dataclasses import dataclass, field


@dataclass
class StepResult:
    running: list = field(default_factory=list)    # ids that generate one token this step, oldest admission first
    preempted: list = field(default_factory=list)  # ids sent back to the waiting queue this step
    finished: list = field(default_factory=list)   # ids that produced their last token this step


@dataclass
class _Req:
    id: object
    prompt_len: int
    max_new: int
    generated: int = 0


class Scheduler:
    def __init__(self, max_batch, num_blocks, block_size):
        self.max_batch, self.num_blocks, self.block_size = max_batch, num_blocks, block_size
        self.waiting = deque()
        self.running = []          # admission order: the last one is the newest
        self.ids = set()

    def _blocks(self, r):
        """Blocks r needs this step: its prompt and generated tokens, plus the one it is about to add."""
        return -(-(r.prompt_len + r.generated + 1) // self.block_size)

    def add(self, req_id, prompt_len, max_new_tokens):
        if req_id in self.ids:
            raise ValueError(f"request {req_id!r} was already added")
        if prompt_len < 1 or max_new_tokens < 1:
            raise ValueError("a request needs a prompt and at least one new token")
        if -(-(prompt_len + max_new_tokens) // self.block_size) > self.num_blocks:
            raise ValueError(f"request {req_id!r} can never fit in {self.num_blocks} blocks")
        self.ids.add(req_id)
        self.waiting.append(_Req(req_id, prompt_len, max_new_tokens))

    def has_work(self):
        return bool(self.waiting or self.running)

    def step(self):
        res = StepResult()
        used = sum(self._blocks(r) for r in self.running)
        while used > self.num_blocks:                   # growth overflowed: preempt the newest
            victim = self.running.pop()
            used -= self._blocks(victim)
            self.waiting.appendleft(victim)             # keeps its tokens; its KV is recomputed later
            res.preempted.insert(0, victim.id)
        for r in list(self.waiting):
            if len(self.running) >= self.max_batch:
                break
            if used + self._blocks(r) <= self.num_blocks:
                self.waiting.remove(r)
                self.running.append(r)
                used += self._blocks(r)
        res.running = [r.id for r in self.running]
        for r in self.running:
            r.generated += 1
        res.finished = [r.id for r in self.running if r.generated == r.max_new]
        self.running = [r for r in self.running if r.generated < r.max_new]
        return res
