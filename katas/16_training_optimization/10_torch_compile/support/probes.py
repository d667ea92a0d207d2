"""What the torch.compile tests do beside the learner's model: build its Pooler there (modules and
compiled functions cannot cross), run it eager or compiled on the batches the test gives, and return
what came out (outputs, the model's weights for the test's oracle, dynamo's counters of that process)
for the test to judge. Under `kata grade` this file runs in the learner's process (kata.probe); the
checks do not."""
import torch
import torch._dynamo
from torch._dynamo.utils import counters


def _weights(model):
    return dict(proj_weight=model.proj.weight.detach().clone(), proj_bias=model.proj.bias.detach().clone(),
                head_weight=model.head.weight.detach().clone(), head_bias=model.head.bias.detach().clone())


def outputs(mod, dim, classes, seed, batches, compiled=False):
    """model = mod.Pooler(dim, classes, seed=seed); with compiled, torch._dynamo.reset() first and calls go
    through mod.compile_model(model). Returns (the model's proj/head weights and biases, the output of
    each call on the (x, lengths) of batches, detached)."""
    if compiled:
        torch._dynamo.reset()
    model = mod.Pooler(dim, classes, seed=seed)
    run = mod.compile_model(model) if compiled else model
    outs = [run(x, lengths).detach().clone() for x, lengths in batches]
    return _weights(model), outs


def counted(mod, dim, classes, seed, batches):
    """torch._dynamo.reset() and dynamo's counters cleared; mod.compile_model(mod.Pooler(dim, classes,
    seed=seed)) called on each (x, lengths). Returns (graph breaks counted, the first line of up to 3
    distinct break reasons, the unique_graphs stat)."""
    torch._dynamo.reset()
    counters.clear()
    model = mod.Pooler(dim, classes, seed=seed)
    compiled = mod.compile_model(model)
    for x, lengths in batches:
        compiled(x, lengths)
    breaks = sum(counters["graph_break"].values())
    reasons = sorted({r.strip().splitlines()[0] for r in counters["graph_break"]})[:3]
    return breaks, reasons, counters["stats"]["unique_graphs"]
