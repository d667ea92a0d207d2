"""Wrong control: rewrites x * sigmoid(y) into silu(x) without checking that y is x."""
import operator

import torch
import torch.fx as fx
import torch.nn.functional as F

_MUL = {operator.mul, torch.mul}


def _is_mul(n):
    return (n.op == "call_function" and n.target in _MUL) or (n.op == "call_method" and n.target == "mul")


def _is_sigmoid(n):
    return isinstance(n, fx.Node) and ((n.op == "call_function" and n.target is torch.sigmoid)
                                       or (n.op == "call_method" and n.target == "sigmoid"))


def fuse_silu(gm: fx.GraphModule) -> fx.GraphModule:
    g = gm.graph
    for n in list(g.nodes):
        if not _is_mul(n) or len(n.args) != 2 or n.kwargs:
            continue
        a, b = n.args
        for s, other in ((a, b), (b, a)):
            # The pattern is mul(sigmoid(x), x) with the SAME x, not any sigmoid.
            if _is_sigmoid(s) and len(s.args) == 1:
                with g.inserting_after(n):
                    new = g.call_function(F.silu, (other,))
                n.replace_all_uses_with(new)
                g.erase_node(n)
                break
    g.eliminate_dead_code()  # the sigmoid goes too, unless something else still uses it
    g.lint()
    gm.recompile()
    return gm


def _fetch(gm, target):
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def fold_constants(gm: fx.GraphModule) -> fx.GraphModule:
    g = gm.graph
    const = {}  # node -> its value, for nodes that depend on no placeholder
    for n in g.nodes:
        if n.op == "get_attr":
            const[n] = _fetch(gm, n.target)
        elif n.op in ("call_function", "call_method"):
            inputs = n.all_input_nodes
            if all(i in const for i in inputs):
                args = fx.node.map_arg(n.args, lambda i: const[i])
                kwargs = fx.node.map_arg(n.kwargs, lambda i: const[i])
                with torch.no_grad():
                    if n.op == "call_function":
                        const[n] = n.target(*args, **kwargs)
                    else:
                        self_, *rest = args
                        const[n] = getattr(self_, n.target)(*rest, **kwargs)
    k = 0
    for n in list(g.nodes):
        if n not in const or n.op == "get_attr":
            continue
        # Only values that a non-constant node (or the output) reads need to live on as buffers.
        if all(u in const for u in n.users):
            continue
        name = f"_folded_{k}"
        k += 1
        value = const[n]
        gm.register_buffer(name, value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value))
        with g.inserting_before(n):
            new = g.get_attr(name)
        n.replace_all_uses_with(new)
    g.eliminate_dead_code()
    g.lint()
    gm.recompile()
    return gm
