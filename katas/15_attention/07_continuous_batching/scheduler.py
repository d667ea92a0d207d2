"""A continuous-batching scheduler: admission, preemption and retirement under a KV-block budget.
See README.md for the rules each step follows."""
from collections import deque  # noqa: F401
from dataclasses import dataclass, field


@dataclass
class StepResult:
    running: list = field(default_factory=list)    # ids that generate one token this step, oldest admission first
    preempted: list = field(default_factory=list)  # ids sent back to the waiting queue this step
    finished: list = field(default_factory=list)   # ids that produced their last token this step


class Scheduler:
    def __init__(self, max_batch, num_blocks, block_size):
        """At most max_batch running requests; their KV cache must fit in num_blocks blocks of
        block_size tokens."""
        raise NotImplementedError("scheduler.py: Scheduler.__init__()")

    def add(self, req_id, prompt_len, max_new_tokens):
        """Queue a request (it arrives now, after every earlier add). Raise ValueError for a duplicate
        id, prompt_len < 1, max_new_tokens < 1, or a request that could never fit in num_blocks even alone
        (ceil((prompt_len + max_new_tokens) / block_size) > num_blocks)."""
        raise NotImplementedError("scheduler.py: Scheduler.add()")

    def has_work(self):
        """True while any request is waiting or running."""
        raise NotImplementedError("scheduler.py: Scheduler.has_work()")

    def step(self):
        """One decoding step: preempt if needed, admit, generate one token per running request, retire
        the finished ones. Returns a StepResult."""
        raise NotImplementedError("scheduler.py: Scheduler.step()")
