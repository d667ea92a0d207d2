"""Loop fusion, graded by running your program in an interpreter that enforces the IR's rules (a
vector read by another loop must be in a buffer; a reduction cannot be read in its own loop) and
comparing every output exactly with the unfused evaluation; then (the performance gates) counting
loops and stored intermediate buffers against the least the rules allow."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import assert_equal
from kata.toolkit import expect

BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "max2": np.maximum}
UNARY = {"neg": np.negative, "exp": np.exp, "relu": lambda a: np.maximum(a, 0.0), "rsqrt": lambda a: 1.0 / np.sqrt(a)}
REDUCE = {"sum": np.sum, "max": np.max, "mean": np.mean}
N = 37


def apply(op, vals):
    with np.errstate(all="ignore"):
        if op in BINARY:
            return BINARY[op](*vals)
        if op in UNARY:
            return UNARY[op](*vals)
        return REDUCE[op](*vals)


def kinds(graph):
    vec = {}
    for name, op, args in graph:
        vec[name] = op == "input" or (op not in REDUCE and any(vec[a] for a in args))
    return vec


def evaluate(graph, inputs):
    env = dict(inputs)
    for name, op, args in graph:
        if op != "input":
            env[name] = apply(op, [env[a] for a in args])
    return env


def text(graph, outputs):
    body = "; ".join(f"{n} = {op}({', '.join(a)})" for n, op, a in graph if op != "input")
    return f"[{body}] -> outputs {outputs}"


def execute(graph, outputs, loops, bufs, inputs):
    """Run the program loop by loop (each loop vectorised over i), refusing anything the IR forbids."""
    where = text(graph, outputs)
    nodes = {n: (op, a) for n, op, a in graph}
    vec = kinds(graph)
    compute = [n for n, op, _ in graph if op != "input"]
    expect(isinstance(loops, list) and all(isinstance(l, list) for l in loops),
           f"fuse() returned {loops!r:.200}; expected a list of loops, each a list of node names")
    flat = [n for l in loops for n in l]
    expect(sorted(flat) == sorted(compute) and all(l for l in loops),
           f"fuse() returned loops {loops} for the graph {where}: every non-input node must appear exactly once "
           "(and no loop may be empty)")
    expect(isinstance(bufs, (set, frozenset, list, tuple)) and all(b in nodes and nodes[b][0] != "input" for b in bufs),
           f"buffers() returned {bufs!r:.200}: expected a set of non-input node names")
    memory, scalars, unstored = dict(inputs), {}, {}
    for k, loop in enumerate(loops):
        local, incomplete = {}, set()
        for name in loop:
            op, args = nodes[name]
            vals = []
            for a in args:
                if a in local:
                    expect(a not in incomplete,
                           f"loop {k} {loop} computes {name} = {op}({', '.join(args)}), reading {a}, which depends on a "
                           f"reduction made in that same loop: it is not complete until loop {k} ends. Start a new loop "
                           f"at {name}. Graph: {where}")
                    vals.append(local[a])
                elif a in memory:
                    vals.append(memory[a])
                elif a in scalars:
                    vals.append(scalars[a])
                elif a in unstored:
                    raise AssertionError(f"loop {k} computes {name}, reading the vector {a} made in loop {unstored[a]}, "
                                         f"but {a} is not in buffers() {sorted(bufs)}: a vector lives in registers only "
                                         f"inside its own loop; another loop must read it from memory. Graph: {where}")
                else:
                    raise AssertionError(f"loop {k} computes {name}, reading {a} before any loop has computed it: "
                                         f"loops {loops} run in order. Graph: {where}")
            local[name] = apply(op, vals)
            if op in REDUCE or any(a in incomplete for a in args):
                incomplete.add(name)
        for name in loop:
            if not vec[name]:
                scalars[name] = local[name]
            elif name in bufs:
                memory[name] = local[name]
            else:
                unstored[name] = k
    for o in outputs:
        expect(o in memory, f"output {o} is not in buffers() {sorted(bufs)}: outputs must be written to memory. "
                            f"Graph: {where}")
    return memory


def run(mod, graph, outputs, seed=0):
    r = np.random.default_rng(seed)
    inputs = {n: r.uniform(-1, 1, N) for n, op, _ in graph if op == "input"}
    loops = mod.fuse([tuple(x) for x in graph])
    bufs = mod.buffers([tuple(x) for x in graph], list(outputs), [list(l) for l in loops])
    memory = execute(graph, outputs, loops, set(bufs), inputs)
    want = evaluate(graph, inputs)
    for o in outputs:
        assert_equal(memory[o], want[o], what=f"output {o}",
                     on=f"{text(graph, outputs)} (n = {N}); the unfused evaluation gave the expected values")
    vec = kinds(graph)
    return len(loops), sum(1 for b in set(bufs) if vec[b]), loops


# name: (graph, outputs, least loops, least stored vectors, one-loop-per-op's loops and buffers)
GRAPHS = {
    "chain": ([("x", "input", ()), ("y", "input", ()), ("a", "mul", ("x", "y")), ("b", "add", ("a", "x")),
               ("c", "relu", ("b",))], ["c"], 1, 1),
    "softmax": ([("x", "input", ()), ("m", "max", ("x",)), ("d", "sub", ("x", "m")), ("e", "exp", ("d",)),
                 ("s", "sum", ("e",)), ("y", "div", ("e", "s"))], ["y"], 3, 2),
    "layernorm": ([("x", "input", ()), ("g", "input", ()), ("b", "input", ()), ("mu", "mean", ("x",)),
                   ("d", "sub", ("x", "mu")), ("sq", "mul", ("d", "d")), ("var", "mean", ("sq",)),
                   ("r", "rsqrt", ("var",)), ("y", "mul", ("d", "r")), ("z1", "mul", ("y", "g")),
                   ("z", "add", ("z1", "b"))], ["z"], 3, 2),
    "two_outputs": ([("x", "input", ()), ("a", "exp", ("x",)), ("s", "sum", ("a",)), ("b", "neg", ("a",)),
                     ("c", "mul", ("b", "s")), ("t", "max2", ("c", "x"))], ["b", "t"], 2, 2),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_fixed_graphs(kata, name):
    graph, outputs, _, _ = GRAPHS[name]
    run(kata.module(), graph, outputs)


@st.composite
def graphs(draw):
    n_in = draw(st.integers(1, 3))
    graph = [(f"x{i}", "input", ()) for i in range(n_in)]
    vec = [True] * n_in
    for k in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(sorted(BINARY) + sorted(UNARY) + sorted(REDUCE)))
        arity = 2 if op in BINARY else 1
        args = tuple(graph[draw(st.integers(0, len(graph) - 1))][0] for _ in range(arity))
        if op in REDUCE and not vec[[g[0] for g in graph].index(args[0])]:
            args = (graph[draw(st.integers(0, n_in - 1))][0],)
        vec.append(op not in REDUCE and any(vec[[g[0] for g in graph].index(a)] for a in args))
        graph.append((f"n{k}", op, args))
    graph.append(("out", "add", (graph[-1][0], "x0")))
    extra = [g[0] for g, v in zip(graph[n_in:-1], vec[n_in:]) if v]
    outputs = ["out"] + ([draw(st.sampled_from(extra))] if extra and draw(st.booleans()) else [])
    return graph, outputs


@settings(max_examples=80, deadline=None)
@given(g=graphs(), seed=st.integers(0, 1000))
def test_random_graphs(kata, g, seed):
    graph, outputs = g
    run(kata.module(), graph, outputs, seed)


# ------------------------------------------------------------------------------ performance (counts)
# A fused loop reads its inputs once and keeps intermediates in registers; every extra loop is
# another pass over memory and every stored intermediate is n more elements written and read back.
# Both are counted exactly and must be the least the rules allow (a cut only where a reduction
# forces one; a buffer only for outputs and vectors another loop reads).


@pytest.mark.perf
def test_loop_count(kata):
    mod, rows, bad = kata.module(), [], []
    for name, (graph, outputs, least, _) in GRAPHS.items():
        n, _, loops = run(mod, graph, outputs)
        rows.append(f"{name}: {n} loops {loops} (least: {least})")
        kata.record(**{f"{name}_loops": n})
        if n > least:
            bad.append(rows[-1])
    expect(not bad, "too many loops:\n    " + "\n    ".join(bad) + "\n  Put a node in the current loop unless it "
                    "reads a value that depends on a reduction made in that loop; only then start a new loop.")


@pytest.mark.perf
def test_buffer_count(kata):
    mod, bad = kata.module(), []
    for name, (graph, outputs, _, least) in GRAPHS.items():
        _, nb, loops = run(mod, graph, outputs)
        kata.record(**{f"{name}_buffers": nb})
        if nb > least:
            bad.append(f"{name}: {nb} stored vectors with loops {loops} (least: {least})")
    expect(not bad, "too many stored intermediates:\n    " + "\n    ".join(bad) + "\n  Store only the outputs and "
                    "the vectors that a node in ANOTHER loop reads; a vector used only inside its own loop stays a "
                    "register.")
