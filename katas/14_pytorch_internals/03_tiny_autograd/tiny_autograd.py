"""A tiny reverse-mode autograd engine. See README.md.

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
    """Every node reachable from root (root and all its ancestors through .parents), each exactly once,
    ordered so that each node comes after all of its parents (root last). No recursion: graphs may be
    thousands of nodes deep."""
    raise NotImplementedError("tiny_autograd.py: topological_order()")


def backward(root, grad=None):
    """Set .grad = dL/d(node) on every node reachable from root, where dL/d(root) = grad (ones shaped like
    root.value when None). Gradients from every use of a node add up. Call each node's backward_fn
    exactly once. Each call starts afresh: grads left by an earlier backward() are replaced."""
    raise NotImplementedError("tiny_autograd.py: backward()")
