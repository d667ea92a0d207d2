"""Wrong control: parent.grad = g instead of adding: a node used twice keeps only its last contribution.

The Node class and the ops below are given (each op records its parents and a backward_fn that maps
dL/d(output) to dL/d(each parent)). Write topological_order() and backward()."""
import torch


class Node:
    """A value in the graph: `value` (a float64 tensor, no torch autograd), the nodes it was computed
    from (`parents`), and `backward_fn(grad_out) -> tuple of grads, one per parent` (None for a leaf).
    `grad` is dL/d(this node) after backward(), or None if backward never reached it."""

    def __init__(self, value, parents=(), backward_fn=None, op="leaf"):
        self.value = value
        self.parents = tuple(parents)
        self.backward_fn = backward_fn
        self.op = op
        self.grad = None

    def __repr__(self):
        return f"Node({self.op}, shape={tuple(self.value.shape)})"


def leaf(value):
    return Node(torch.as_tensor(value, dtype=torch.float64))


def add(a, b):
    return Node(a.value + b.value, (a, b), lambda g: (g, g), "add")


def sub(a, b):
    return Node(a.value - b.value, (a, b), lambda g: (g, -g), "sub")


def mul(a, b):
    return Node(a.value * b.value, (a, b), lambda g: (g * b.value, g * a.value), "mul")


def tanh(a):
    t = torch.tanh(a.value)
    return Node(t, (a,), lambda g: (g * (1 - t * t),), "tanh")


def sin(a):
    return Node(torch.sin(a.value), (a,), lambda g: (g * torch.cos(a.value),), "sin")


def topological_order(root):
    # Iterative depth-first search with an explicit stack: a node is emitted once all its parents are
    # (post-order), so each node comes after its parents.
    order, seen = [], {id(root)}
    stack = [(root, iter(root.parents))]
    while stack:
        node, it = stack[-1]
        for p in it:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(p.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backward(root, grad=None):
    order = topological_order(root)
    for node in order:
        node.grad = None
    root.grad = torch.ones_like(root.value) if grad is None else grad
    # Reverse topological order: when a node is reached, every consumer has added its contribution.
    for node in reversed(order):
        if node.backward_fn is None or node.grad is None:
            continue
        for p, g in zip(node.parents, node.backward_fn(node.grad)):
            p.grad = g
