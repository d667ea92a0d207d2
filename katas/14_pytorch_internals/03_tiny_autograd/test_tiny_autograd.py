"""A tiny reverse-mode engine: topological order (every node once, after its parents, iterative),
then gradients against torch.autograd on hypothesis-generated graphs full of shared subexpressions,
and (the performance gate) a count of backward_fn calls: each node's exactly once. The learner's Nodes
are built and walked in support/probes.py, where the learner's code runs (kata.probe): gradients,
positions and parents come back as data (nodes as indices in build order) and are judged here."""
import pytest
import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401  (torch's first backward imports it: pay once here)
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.toolkit import expect

OPS = {"add": 2, "sub": 2, "mul": 2, "tanh": 1, "sin": 1}
TORCH = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "tanh": torch.tanh, "sin": torch.sin}
TOL = dict(rtol=1e-9, atol=1e-12)


def reachable(root, parents):
    """The indices reachable from node `root` through `parents` (each node's parents, as indices)."""
    out, stack, seen = [], [root], {root}
    while stack:
        n = stack.pop()
        out.append(n)
        for p in parents[n]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return out


def build(n_leaves, program, seed, shape=(3,)):
    """The leaf values, and the graph as torch tensors, with its listing. `program` is a list of
    (op, i, j): node k = op(node i, node j) over all nodes so far (indices wrap), so nodes get reused.
    The probe builds the same graph of the learner's Nodes from the same values and program."""
    g = torch.Generator().manual_seed(seed)
    vals = [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(n_leaves)]
    ts = [v.clone().requires_grad_(True) for v in vals]
    text = [f"x{i}" for i in range(n_leaves)]
    for op, i, j in program:
        i, j = i % len(ts), j % len(ts)
        args = (i, j)[: OPS[op]]
        t = TORCH[op](*(ts[a] for a in args))
        t.retain_grad()
        ts.append(t)
        text.append(f"n{len(text)} = {op}({', '.join(text[a] if a < n_leaves else f'n{a}' for a in args)})")
    return vals, ts, text


def shown(g):
    """A grad from the probe for a message (the probe sends a non-tensor's repr)."""
    return g if isinstance(g, str) else f"{g!r:.80}"


graphs = st.tuples(st.integers(1, 4), st.lists(st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 99),
                                                         st.integers(0, 99)), min_size=1, max_size=14),
                   st.integers(0, 2**31 - 1))


def check_grads(kata, mod, n_leaves, program, seed, grad_seed=None):
    vals, ts, text = build(n_leaves, program, seed)
    troot = ts[-1]
    gout = None if grad_seed is None else torch.randn(troot.shape, dtype=torch.float64,
                                                       generator=torch.Generator().manual_seed(grad_seed))
    nodes = kata.probe("probes.py").grads(mod, vals, program, gout)  # each node's .grad after backward(root, gout)
    troot.backward(torch.ones_like(troot) if gout is None else gout)
    listing = "; ".join(text[n_leaves:]) + f" (root n{len(text) - 1}, leaves x0..x{n_leaves - 1}, seed {seed})"
    for k, (n_grad, t) in enumerate(zip(nodes, ts)):
        name = f"x{k}" if k < n_leaves else f"n{k}"
        want = t.grad if k < n_leaves or k == len(nodes) - 1 or t.grad is not None else None
        if k == len(nodes) - 1:
            want = torch.ones_like(troot) if gout is None else gout
        if want is None:
            expect(n_grad is None, f"{name}.grad is set, but {name} does not lead to the root: only nodes reachable "
                                   f"from the root get a gradient. Graph: {listing}")
            continue
        expect(n_grad is not None, f"{name}.grad is None after backward(), but the root depends on {name}: "
                                   f"expected {want.tolist()}. Graph: {listing}")
        expect(isinstance(n_grad, torch.Tensor) and n_grad.shape == want.shape,
               f"{name}.grad should be a tensor of shape {tuple(want.shape)}, got {shown(n_grad)}")
        assert_close(n_grad, want, **TOL, what=f"{name}.grad (dL/d{name})",
                     on=f"the graph {listing}.\n  torch.autograd computed the expected values. A node used by several "
                        "others must receive the SUM of their contributions, and must pass its gradient on only after "
                        "all of them arrived (reverse topological order)")


def test_topological_order(kata):
    mod = kata.module()
    program = [("mul", 0, 1), ("add", 3, 0), ("tanh", 4, 0), ("sub", 5, 3), ("mul", 6, 2), ("sin", 7, 0)]
    vals, _, text = build(3, program, seed=1)
    # The graph, plus a leaf [1, 2, 3] that is not an ancestor of the root (the program's last node);
    # topological_order's nodes come back as indices in build order (None: not a node of this graph).
    seen = kata.probe("probes.py").topo(mod, vals, program, [1.0, 2.0, 3.0])
    root = len(seen["parents"]) - 2
    expect(seen["order"] is not None, f"topological_order returned {seen['type']}, expected a list of nodes")
    ids = seen["order"]
    expect(len(ids) == len(set(ids)), "topological_order lists a node more than once: every node appears once, "
                                      "however many paths lead to it (keep a set of visited nodes)")
    want = set(reachable(root, seen["parents"]))
    expect(set(ids) == want, f"topological_order returned {len(ids)} nodes; {len(want)} are reachable from the root "
                             "(the root and all its ancestors through .parents, and nothing else)")
    pos = {i: k for k, i in enumerate(ids)}
    for n in ids:
        for p in seen["parents"][n]:
            expect(pos[p] < pos[n], f"{seen['repr'][n]} comes before its parent {seen['repr'][p]}: each node must come "
                                    f"after all of its parents (root last). Graph: {'; '.join(text[3:])}")
    expect(ids[-1] == root, "the root must come last")


def test_simple_gradients(kata):
    mod = kata.module()
    # y = x*x + x: x is used three times; dL/dx = 2x + 1.
    check_grads(kata, mod, 1, [("mul", 0, 0), ("add", 1, 0)], seed=2)
    # A diamond: a = x0*x1; b = tanh(a); c = sin(a); root = b*c, with a random grad_output.
    check_grads(kata, mod, 2, [("mul", 0, 1), ("tanh", 2, 0), ("sin", 2, 0), ("mul", 3, 4)], seed=3, grad_seed=4)


def test_paths_of_different_lengths(kata):
    # a reaches the root directly and through a chain of four nodes: a node reached early by the short
    # path must wait for the long one.
    mod = kata.module()
    check_grads(kata, mod, 1, [("tanh", 0, 0), ("sin", 1, 0), ("tanh", 2, 0), ("sin", 3, 0), ("mul", 4, 1),
                         ("add", 5, 1)], seed=5)


@settings(max_examples=80, deadline=None)
@given(g=graphs, with_grad=st.booleans())
def test_random_graphs(kata, g, with_grad):
    mod = kata.module()
    n_leaves, program, seed = g
    check_grads(kata, mod, n_leaves, program, seed, grad_seed=seed + 1 if with_grad else None)


def test_fresh_each_call(kata):
    mod = kata.module()
    program = [("mul", 0, 1), ("add", 2, 0)]
    vals, ts, _ = build(2, program, seed=6)
    x0_grad = kata.probe("probes.py").twice(mod, vals, program)  # x0.grad after backward(root) twice
    ts[-1].backward(torch.ones(3, dtype=torch.float64))
    assert_close(x0_grad, ts[0].grad, **TOL, what="x0.grad after two backward() calls",
                 on="n2 = mul(x0, x1); n3 = add(n2, x0): each call starts afresh (reset every reachable node's "
                    "grad first), so two calls give the same gradient as one")


def test_deep_graph(kata):
    # 10,000 nodes deep: a recursive depth-first search exceeds Python's recursion limit (1,000).
    mod = kata.module()
    x_grad = kata.probe("probes.py").deep(mod, [0.5, -0.25], 5000)  # y = add(tanh(y), x), 5,000 times
    if isinstance(x_grad, str) and x_grad == "RecursionError":
        raise AssertionError("RecursionError on a graph 10,000 nodes deep: walk the graph with an explicit stack "
                             "(a list you push to and pop from), not with recursion")
    xt = torch.tensor([0.5, -0.25], dtype=torch.float64, requires_grad=True)
    yt = xt
    for _ in range(5000):
        yt = torch.tanh(yt) + xt
    yt.sum().backward()
    assert_close(x_grad, xt.grad, **TOL, what="x.grad", on="y = tanh(y) + x repeated 5,000 times (10,000 nodes)")


# ------------------------------------------------------------------ performance (backward_fn calls)
# Reverse mode costs about one forward: each node's local backward runs once, however many paths lead
# through it. A ladder y = tanh(y) + y, 16 rungs deep, has 2**16 paths from the root to x; pushing
# gradients down each path runs backward_fn 131,070 times, the engine's way runs it 32 times.


@pytest.mark.perf
def test_each_backward_once(kata):
    mod = kata.module()
    # y = add(tanh(y), y), 16 rungs from x = leaf([0.3, -0.7, 1.1]); the probe counts each node's
    # backward_fn calls during backward(y).
    calls, ops = kata.probe("probes.py").ladder_calls(mod, [0.3, -0.7, 1.1], 16)
    total = sum(calls)
    kata.record(backward_fn_calls=total, nodes=ops)
    expect(total == ops and all(v == 1 for v in calls),
           f"backward() ran backward_fn {total:,} times for {ops} nodes with a backward_fn (max {max(calls):,} "
           "times for one node): each node's must run exactly once. Walk the nodes in reverse topological order, "
           "adding each node's contributions into its parents' .grad, instead of pushing gradients down every path.")
