"""A tiny reverse-mode engine: topological order (every node once, after its parents, iterative),
then gradients against torch.autograd on hypothesis-generated graphs full of shared subexpressions,
and (the performance gate) a count of backward_fn calls: each node's exactly once."""
import pytest
import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401  (torch's first backward imports it: pay once here)
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.toolkit import expect

OPS = {"add": 2, "sub": 2, "mul": 2, "tanh": 1, "sin": 1}
TORCH = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "tanh": torch.tanh, "sin": torch.sin}
TOL = dict(rtol=1e-9, atol=1e-12)


def reachable(root):
    out, stack, seen = [], [root], {id(root)}
    while stack:
        n = stack.pop()
        out.append(n)
        for p in n.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return out


def build(mod, n_leaves, program, seed, shape=(3,)):
    """The same graph twice: the learner's Nodes and torch tensors. `program` is a list of
    (op, i, j): node k = op(node i, node j) over all nodes so far (indices wrap), so nodes get reused."""
    g = torch.Generator().manual_seed(seed)
    vals = [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(n_leaves)]
    nodes = [mod.leaf(v) for v in vals]
    ts = [v.clone().requires_grad_(True) for v in vals]
    text = [f"x{i}" for i in range(n_leaves)]
    for op, i, j in program:
        i, j = i % len(nodes), j % len(nodes)
        args = (i, j)[: OPS[op]]
        nodes.append(getattr(mod, op)(*(nodes[a] for a in args)))
        t = TORCH[op](*(ts[a] for a in args))
        t.retain_grad()
        ts.append(t)
        text.append(f"n{len(text)} = {op}({', '.join(text[a] if a < n_leaves else f'n{a}' for a in args)})")
    return nodes, ts, text


graphs = st.tuples(st.integers(1, 4), st.lists(st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 99),
                                                         st.integers(0, 99)), min_size=1, max_size=14),
                   st.integers(0, 2**31 - 1))


def check_grads(mod, n_leaves, program, seed, grad_seed=None):
    nodes, ts, text = build(mod, n_leaves, program, seed)
    root, troot = nodes[-1], ts[-1]
    gout = None if grad_seed is None else torch.randn(troot.shape, dtype=torch.float64,
                                                       generator=torch.Generator().manual_seed(grad_seed))
    mod.backward(root, gout)
    troot.backward(torch.ones_like(troot) if gout is None else gout)
    listing = "; ".join(text[n_leaves:]) + f" (root n{len(text) - 1}, leaves x0..x{n_leaves - 1}, seed {seed})"
    for k, (n, t) in enumerate(zip(nodes, ts)):
        name = f"x{k}" if k < n_leaves else f"n{k}"
        want = t.grad if k < n_leaves or k == len(nodes) - 1 or t.grad is not None else None
        if k == len(nodes) - 1:
            want = torch.ones_like(troot) if gout is None else gout
        if want is None:
            expect(n.grad is None, f"{name}.grad is set, but {name} does not lead to the root: only nodes reachable "
                                   f"from the root get a gradient. Graph: {listing}")
            continue
        expect(n.grad is not None, f"{name}.grad is None after backward(), but the root depends on {name}: "
                                   f"expected {want.tolist()}. Graph: {listing}")
        expect(isinstance(n.grad, torch.Tensor) and n.grad.shape == want.shape,
               f"{name}.grad should be a tensor of shape {tuple(want.shape)}, got {n.grad!r:.80}")
        assert_close(n.grad, want, **TOL, what=f"{name}.grad (dL/d{name})",
                     on=f"the graph {listing}.\n  torch.autograd computed the expected values. A node used by several "
                        "others must receive the SUM of their contributions, and must pass its gradient on only after "
                        "all of them arrived (reverse topological order)")


def test_topological_order(kata):
    mod = kata.module()
    nodes, _, text = build(mod, 3, [("mul", 0, 1), ("add", 3, 0), ("tanh", 4, 0), ("sub", 5, 3), ("mul", 6, 2),
                                    ("sin", 7, 0)], seed=1)
    nodes.append(mod.leaf([1.0, 2.0, 3.0]))  # not an ancestor of the root
    root = nodes[-2]
    order = mod.topological_order(root)
    expect(isinstance(order, list), f"topological_order returned {type(order).__name__}, expected a list of nodes")
    ids = [id(n) for n in order]
    expect(len(ids) == len(set(ids)), "topological_order lists a node more than once: every node appears once, "
                                      "however many paths lead to it (keep a set of visited nodes)")
    want = {id(n) for n in reachable(root)}
    expect(set(ids) == want, f"topological_order returned {len(ids)} nodes; {len(want)} are reachable from the root "
                             "(the root and all its ancestors through .parents, and nothing else)")
    pos = {i: k for k, i in enumerate(ids)}
    for n in order:
        for p in n.parents:
            expect(pos[id(p)] < pos[id(n)], f"{n!r} comes before its parent {p!r}: each node must come after all "
                                            f"of its parents (root last). Graph: {'; '.join(text[3:])}")
    expect(order[-1] is root, "the root must come last")


def test_simple_gradients(kata):
    mod = kata.module()
    # y = x*x + x: x is used three times; dL/dx = 2x + 1.
    check_grads(mod, 1, [("mul", 0, 0), ("add", 1, 0)], seed=2)
    # A diamond: a = x0*x1; b = tanh(a); c = sin(a); root = b*c, with a random grad_output.
    check_grads(mod, 2, [("mul", 0, 1), ("tanh", 2, 0), ("sin", 2, 0), ("mul", 3, 4)], seed=3, grad_seed=4)


def test_paths_of_different_lengths(kata):
    # a reaches the root directly and through a chain of four nodes: a node reached early by the short
    # path must wait for the long one.
    mod = kata.module()
    check_grads(mod, 1, [("tanh", 0, 0), ("sin", 1, 0), ("tanh", 2, 0), ("sin", 3, 0), ("mul", 4, 1),
                         ("add", 5, 1)], seed=5)


@settings(max_examples=80, deadline=None)
@given(g=graphs, with_grad=st.booleans())
def test_random_graphs(kata, g, with_grad):
    mod = kata.module()
    n_leaves, program, seed = g
    check_grads(mod, n_leaves, program, seed, grad_seed=seed + 1 if with_grad else None)


def test_fresh_each_call(kata):
    mod = kata.module()
    nodes, ts, _ = build(mod, 2, [("mul", 0, 1), ("add", 2, 0)], seed=6)
    mod.backward(nodes[-1])
    mod.backward(nodes[-1])
    ts[-1].backward(torch.ones(3, dtype=torch.float64))
    assert_close(nodes[0].grad, ts[0].grad, **TOL, what="x0.grad after two backward() calls",
                 on="n2 = mul(x0, x1); n3 = add(n2, x0): each call starts afresh (reset every reachable node's "
                    "grad first), so two calls give the same gradient as one")


def test_deep_graph(kata):
    # 10,000 nodes deep: a recursive depth-first search exceeds Python's recursion limit (1,000).
    mod = kata.module()
    x = mod.leaf([0.5, -0.25])
    y = x
    for _ in range(5000):
        y = mod.add(mod.tanh(y), x)
    try:
        mod.backward(y)
    except RecursionError:
        raise AssertionError("RecursionError on a graph 10,000 nodes deep: walk the graph with an explicit stack "
                             "(a list you push to and pop from), not with recursion") from None
    xt = torch.tensor([0.5, -0.25], dtype=torch.float64, requires_grad=True)
    yt = xt
    for _ in range(5000):
        yt = torch.tanh(yt) + xt
    yt.sum().backward()
    assert_close(x.grad, xt.grad, **TOL, what="x.grad", on="y = tanh(y) + x repeated 5,000 times (10,000 nodes)")


# ------------------------------------------------------------------ performance (backward_fn calls)
# Reverse mode costs about one forward: each node's local backward runs once, however many paths lead
# through it. A ladder y = tanh(y) + y, 16 rungs deep, has 2**16 paths from the root to x; pushing
# gradients down each path runs backward_fn 131,070 times, the engine's way runs it 32 times.


@pytest.mark.perf
def test_each_backward_once(kata):
    mod = kata.module()
    x = mod.leaf([0.3, -0.7, 1.1])
    y = x
    for _ in range(16):
        y = mod.add(mod.tanh(y), y)
    calls = {}
    for n in reachable(y):
        if n.backward_fn is not None:
            def counted(g, fn=n.backward_fn, key=id(n)):
                calls[key] = calls.get(key, 0) + 1
                return fn(g)
            n.backward_fn = counted
    mod.backward(y)
    ops = sum(1 for n in reachable(y) if n.backward_fn is not None)
    total = sum(calls.values())
    kata.record(backward_fn_calls=total, nodes=ops)
    expect(total == ops and all(v == 1 for v in calls.values()),
           f"backward() ran backward_fn {total:,} times for {ops} nodes with a backward_fn (max {max(calls.values()):,} "
           "times for one node): each node's must run exactly once. Walk the nodes in reverse topological order, "
           "adding each node's contributions into its parents' .grad, instead of pushing gradients down every path.")
