"""Continuous batching: every step is checked against the rules (capacity, blocks including the token
being written, FCFS without overtaking, LIFO preemption only when needed, nothing dropped, retirement
exactly at max_new_tokens), on fixed scenarios and random workloads; then a count of decoding steps
against a bound that static batching cannot meet."""
import pytest
from hypothesis import given, settings, strategies as st


def ceil_div(a, b):
    return -(-a // b)


class Checker:
    """Drives a Scheduler and checks each StepResult against its own model of the requests."""

    def __init__(self, mod, max_batch, num_blocks, bs):
        self.s = mod.Scheduler(max_batch, num_blocks, bs)
        self.max_batch, self.num_blocks, self.bs = max_batch, num_blocks, bs
        self.req, self.arrival, self.running, self.adm = {}, 0, [], 0
        self.step_no, self.log = 0, []

    def add(self, rid, prompt, new):
        self.s.add(rid, prompt, new)
        self.req[rid] = dict(prompt=prompt, new=new, gen=0, state="waiting", arrival=self.arrival,
                             first_adm=None, last_adm=None, finish_step=None)
        self.arrival += 1

    def need(self, rid):
        r = self.req[rid]
        return ceil_div(r["prompt"] + r["gen"] + 1, self.bs)

    def prio(self, rid):
        r = self.req[rid]
        return (0, r["first_adm"]) if r["first_adm"] is not None else (1, r["arrival"])

    def fail(self, msg):
        recent = "\n".join(self.log[-6:])
        raise AssertionError(f"step {self.step_no} (max_batch={self.max_batch}, num_blocks={self.num_blocks}, "
                             f"block_size={self.bs}): {msg}\n  last steps (running / preempted / finished):\n{recent}")

    def step(self):
        res = self.s.step()
        running, pre, fin = list(res.running), list(res.preempted), list(res.finished)
        self.log.append(f"    step {self.step_no}: running {running}, preempted {pre}, finished {fin}")
        prev = list(self.running)
        for rid in running + pre + fin:
            if rid not in self.req:
                self.fail(f"unknown request id {rid!r} in the StepResult")
        if len(set(running)) != len(running):
            self.fail(f"a request appears twice in running: {running}")
        for rid in running:
            if self.req[rid]["state"] == "finished":
                self.fail(f"request {rid!r} runs again after it finished")
        if len(running) > self.max_batch:
            self.fail(f"{len(running)} requests run at once; max_batch is {self.max_batch}")
        used = sum(self.need(r) for r in running)
        if used > self.num_blocks:
            detail = ", ".join(f"{r}: {self.req[r]['prompt']}+{self.req[r]['gen']}+1 tokens -> {self.need(r)}" for r in running)
            self.fail(f"the running requests need {used} blocks, more than the {self.num_blocks} available ({detail}). "
                      "A request writes one more token's K/V this step: it needs ceil((prompt + generated + 1) / block_size) blocks.")
        for rid in pre:
            if rid not in prev:
                self.fail(f"request {rid!r} is reported preempted but was not running")
            if rid in running:
                self.fail(f"request {rid!r} is both preempted and running this step")
        for rid in prev:
            if rid not in running and rid not in pre:
                self.fail(f"request {rid!r} was running, did not finish, and is neither running nor preempted now: "
                          "a running request keeps running until it finishes or is preempted")
        kept = [r for r in prev if r in running]
        if pre:
            if sum(self.need(r) for r in kept + pre) <= self.num_blocks:
                self.fail(f"preempted {pre} although every running request still fit: preempt only when the blocks "
                          "needed this step exceed num_blocks")
            oldest_victim = min(pre, key=lambda r: self.req[r]["last_adm"])
            if sum(self.need(r) for r in kept) + self.need(oldest_victim) <= self.num_blocks:
                self.fail(f"preempted {pre}, more than needed: {oldest_victim!r} would still have fit")
            newest_kept = max((self.req[r]["last_adm"] for r in kept), default=-1)
            if any(self.req[r]["last_adm"] < newest_kept for r in pre):
                self.fail(f"preempted {pre} while a more recently admitted request kept running ({kept}): preempt the "
                          "newest first (LIFO), so that the oldest requests always make progress")
        admitted = [r for r in running if r not in prev]
        for rid in pre:
            self.req[rid]["state"] = "waiting"
        still_waiting = [r for r, v in self.req.items() if v["state"] == "waiting" and r not in admitted]
        for rid in admitted:
            if self.req[rid]["state"] != "waiting":
                self.fail(f"request {rid!r} was admitted but was not waiting")
            ahead = [w for w in still_waiting if self.prio(w) < self.prio(rid)]
            if ahead:
                self.fail(f"admitted {rid!r} ahead of {ahead}, which waited longer (first come, first served; a "
                          "preempted request goes back to the front). If the first in line does not fit, admit nobody.")
        if [self.prio(r) for r in admitted] != sorted(self.prio(r) for r in admitted):
            self.fail(f"admitted {admitted} out of queue order")
        if running[:len(kept)] != kept and kept:
            self.fail(f"running must list requests in admission order (oldest first): previous order {kept}, now {running}")
        for rid in admitted:
            r = self.req[rid]
            r["state"] = "running"
            r["last_adm"] = self.adm
            if r["first_adm"] is None:
                r["first_adm"] = self.adm
            self.adm += 1
        for rid in running:
            self.req[rid]["gen"] += 1
        due = [r for r in running if self.req[r]["gen"] == self.req[r]["new"]]
        if sorted(map(str, due)) != sorted(map(str, fin)):
            self.fail(f"finished {fin}, expected {due} (a request finishes in the step that produces its "
                      "max_new_tokens-th token, and is retired right away)")
        for rid in fin:
            self.req[rid]["state"] = "finished"
            self.req[rid]["finish_step"] = self.step_no
        self.running = [r for r in running if r not in fin]
        self.step_no += 1
        return res

    def run(self, arrivals, limit=5000):
        """arrivals: list of (step, id, prompt_len, max_new). Returns the number of steps taken."""
        arrivals = sorted(arrivals, key=lambda a: a[0])
        i = 0
        while i < len(arrivals) or self.s.has_work():
            while i < len(arrivals) and arrivals[i][0] <= self.step_no:
                self.add(*arrivals[i][1:])
                i += 1
            if not self.s.has_work():
                self.step_no += 1  # idle until the next arrival
                continue
            self.step()
            if self.step_no > limit:
                self.fail(f"not done after {limit} steps: waiting/running requests "
                          f"{[r for r, v in self.req.items() if v['state'] != 'finished']}")
        for rid, r in self.req.items():
            if r["gen"] != r["new"]:
                self.fail(f"request {rid!r} ended with {r['gen']} tokens, asked for {r['new']}")
        return self.step_no


def test_add_validates(kata):
    mod = kata.module()
    s = mod.Scheduler(2, 4, 4)
    s.add("a", 3, 2)
    for args, why in [(("a", 2, 2), "a duplicate id"), (("b", 0, 2), "an empty prompt"), (("c", 2, 0), "max_new_tokens = 0"),
                      (("d", 10, 7), "a request needing ceil(17 / 4) = 5 blocks when only 4 exist")]:
        with pytest.raises(ValueError):
            s.add(*args)
            raise AssertionError(f"add{args} must raise ValueError: {why}")
    s.add("e", 10, 6)  # 16 tokens = exactly 4 blocks: allowed
    assert s.has_work()


def test_single_request(kata):
    c = Checker(kata.module(), 4, 8, 4)
    steps = c.run([(0, "a", 5, 3)])
    assert steps == 3, f"one request of 3 new tokens took {steps} steps, expected 3 (one token per step)"
    assert not c.s.has_work()
    assert c.s.step().running == [], "step() with nothing to do must return an empty StepResult"


@pytest.mark.perf
def test_retired_slot_is_refilled_next_step(kata):
    # A throughput property (static batching keeps the rules but fails it): a perf gate.
    c = Checker(kata.module(), 2, 100, 4)
    c.add("short", 2, 1)
    c.add("long", 2, 5)
    c.add("next", 2, 2)
    r0 = c.step()
    assert list(r0.running) == ["short", "long"], f"step 0 ran {r0.running}, expected ['short', 'long'] (FCFS, max_batch 2)"
    r1 = c.step()
    assert "next" in r1.running, (
        f"step 1 ran {r1.running}: 'short' finished in step 0, so its slot must go to 'next' now (continuous batching "
        "admits into freed slots every step, it does not wait for the batch to drain)")


def test_preemption_scenario(kata):
    # block_size 2, 6 blocks. a and b grow until they no longer fit together; b (newer) is preempted,
    # keeps its generated tokens, and resumes once a is done.
    c = Checker(kata.module(), 4, 6, 2)
    c.add("a", 3, 6)
    c.add("b", 3, 6)
    preempted = []
    while c.s.has_work():
        preempted += list(c.step().preempted)
    assert preempted == ["b"], f"expected exactly one preemption, of 'b' (the newer request); got {preempted}"


def test_no_overtaking(kata):
    # 'big' is first in line but does not fit beside 'a'; 'small' behind it would. FCFS: small waits.
    c = Checker(kata.module(), 4, 5, 4)
    c.run([(0, "a", 8, 6), (1, "big", 10, 4), (1, "small", 1, 1)])


@settings(max_examples=60)
@given(max_batch=st.integers(1, 5), bs=st.sampled_from([1, 2, 4, 16]), spare=st.integers(0, 6),
       reqs=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 20), st.integers(1, 15)), min_size=1, max_size=14))
def test_random_workloads(kata, max_batch, bs, spare, reqs):
    biggest = max(ceil_div(p + n, bs) for _, p, n in reqs)
    c = Checker(kata.module(), max_batch, biggest + spare, bs)
    c.run([(t, f"r{i}", p, n) for i, (t, p, n) in enumerate(reqs)])


# ------------------------------------------------------------------------- performance (a count)
# 32 requests queued at once, max_batch 4, plenty of blocks; most want a few tokens, every fourth wants
# 40. With continuous batching the slots never idle: steps <= ceil(total tokens / 4) + 40 (the last long
# request may run alone at the end). Static batching waits for each batch's longest request.


@pytest.mark.perf
def test_throughput(kata):
    c = Checker(kata.module(), 4, 1000, 16)
    wants = [40 if i % 4 == 0 else 2 + i % 3 for i in range(32)]
    steps = c.run([(0, f"r{i}", 8, n) for i, n in enumerate(wants)])
    bound = ceil_div(sum(wants), 4) + max(wants)
    kata.record(steps=steps, bound=bound, tokens=sum(wants))
    assert steps <= bound, (
        f"{len(wants)} requests ({sum(wants)} tokens) with max_batch 4 took {steps} steps; bound {bound} "
        f"(= ceil({sum(wants)} / 4) + {max(wants)}). Slots freed by finished requests must be refilled in the very "
        "next step, not when the whole batch is done.")
