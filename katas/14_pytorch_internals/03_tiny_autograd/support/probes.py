"""What the tiny-autograd tests do with the learner's Nodes, where the learner's code runs
(kata.probe): build the graph there, run topological_order / backward, and return what the nodes hold
(gradients, positions, parents as indices) as data for the test to judge."""
import torch


def _reachable(root):
    out, stack, seen = [], [root], {id(root)}
    while stack:
        n = stack.pop()
        out.append(n)
        for p in n.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return out


def _build(mod, vals, program):
    """Leaves mod.leaf(v) for v in vals, then node k = op(node i, node j) for (op, i, j) in program
    (indices wrap; unary ops take node i)."""
    nodes = [mod.leaf(v) for v in vals]
    for op, i, j in program:
        i, j = i % len(nodes), j % len(nodes)
        args = (i, j) if op in ("add", "sub", "mul") else (i,)
        nodes.append(getattr(mod, op)(*(nodes[a] for a in args)))
    return nodes


def _grad(n):
    """n.grad if it is None or a tensor, else its repr (cut to 80 characters)."""
    g = n.grad
    return g if g is None or isinstance(g, torch.Tensor) else f"{g!r:.80}"


def grads(mod, vals, program, gout=None):
    """Build the graph, mod.backward(root, gout) (root: the last node; gout None: the default). Returns
    each node's .grad, in build order."""
    nodes = _build(mod, vals, program)
    mod.backward(nodes[-1], gout)
    return [_grad(n) for n in nodes]


def topo(mod, vals, program, extra):
    """Build the graph, add mod.leaf(extra) (no part of it), call mod.topological_order(root), root being
    the last node of the program. Returns {"type": the result's type name, "order": each item's index in
    build order (None for an object that is no node built here) if the result is a list, "parents": each
    built node's parents as indices, "repr": each built node's repr}."""
    nodes = _build(mod, vals, program)
    nodes.append(mod.leaf(extra))
    order = mod.topological_order(nodes[-2])
    index = {id(n): k for k, n in enumerate(nodes)}
    return {"type": type(order).__name__,
            "order": [index.get(id(n)) for n in order] if isinstance(order, list) else None,
            "parents": [[index.get(id(p)) for p in n.parents] for n in nodes],
            "repr": [repr(n) for n in nodes]}


def twice(mod, vals, program):
    """Build the graph, mod.backward(root) twice; returns the first leaf's .grad."""
    nodes = _build(mod, vals, program)
    mod.backward(nodes[-1])
    mod.backward(nodes[-1])
    return _grad(nodes[0])


def deep(mod, x, rungs):
    """y = add(tanh(y), x) `rungs` times from y = x = leaf(x), then mod.backward(y). Returns x's .grad, or
    "RecursionError" if backward raised one."""
    x = mod.leaf(x)
    y = x
    for _ in range(rungs):
        y = mod.add(mod.tanh(y), x)
    try:
        mod.backward(y)
    except RecursionError:
        return "RecursionError"
    return _grad(x)


def ladder_calls(mod, x, rungs):
    """y = add(tanh(y), y) `rungs` times from y = leaf(x); every reachable node's backward_fn wrapped to
    count its calls; mod.backward(y). Returns (the call count of each node whose backward_fn ran, the
    number of reachable nodes with a backward_fn)."""
    y = mod.leaf(x)
    for _ in range(rungs):
        y = mod.add(mod.tanh(y), y)
    calls = {}
    for n in _reachable(y):
        if n.backward_fn is not None:
            def counted(g, fn=n.backward_fn, key=id(n)):
                calls[key] = calls.get(key, 0) + 1
                return fn(g)
            n.backward_fn = counted
    mod.backward(y)
    return list(calls.values()), sum(1 for n in _reachable(y) if n.backward_fn is not None)
