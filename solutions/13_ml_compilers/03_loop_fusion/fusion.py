"""Loop fusion for a tiny tensor-expression IR (reference).

A graph is a list of nodes (name, op, args) in topological order; args name earlier nodes.
  op "input"              a vector of length n (the graph's inputs)
  op in ELEMENTWISE       out[i] = f(args[i]); an arg may be a scalar, which broadcasts. A node is a
                          scalar if all its args are scalars, else a vector.
  op in REDUCE            a vector -> a scalar (complete only once its loop has finished)
A program is a list of loops, each `for i in range(n)` running its nodes in order. A vector value is
a register inside its loop; any other loop can read it only from a buffer. A scalar from an earlier
loop can be read anywhere later; one made in the current loop (a reduction, or anything computed from
one there) is not complete until the loop ends, so no node of that same loop may read it."""

ELEMENTWISE = {"add", "sub", "mul", "div", "max2", "neg", "exp", "relu", "rsqrt"}
REDUCE = {"sum", "max", "mean"}


def fuse(graph: list[tuple[str, str, tuple[str, ...]]]) -> list[list[str]]:
    """Group the graph's non-input nodes into as few legal loops as you can: a list of loops, each a list of
    node names in the order they run. Every non-input node appears exactly once."""
    loops, current, incomplete = [], [], set()
    for name, op, args in graph:
        if op == "input":
            continue
        # Greedy: stay in the current loop unless this node reads a value that is not complete yet
        # (a reduction from this loop, or something computed from one). Every cut is forced, so the
        # number of loops is the least a split of the node order allows.
        if any(a in incomplete for a in args):
            loops.append(current)
            current, incomplete = [], set()
        current.append(name)
        if op in REDUCE:
            incomplete.add(name)
    if current:
        loops.append(current)
    return loops


def buffers(graph: list[tuple[str, str, tuple[str, ...]]], outputs: list[str], loops: list[list[str]]) -> set[str]:
    """The names of the non-input VECTOR nodes that must be stored in memory: the graph's outputs, and every
    vector that a node in another loop reads. Nothing else."""
    is_vector = {}
    for name, op, args in graph:
        is_vector[name] = op == "input" or (op in ELEMENTWISE and any(is_vector[a] for a in args))
    loop_of = {name: k for k, loop in enumerate(loops) for name in loop}
    need = {o for o in outputs if o in loop_of}
    for name, op, args in graph:
        for a in args:
            # A vector read by another loop must be stored; inside its own loop it stays a register.
            if a in loop_of and is_vector[a] and loop_of[a] != loop_of.get(name):
                need.add(a)
    return need
