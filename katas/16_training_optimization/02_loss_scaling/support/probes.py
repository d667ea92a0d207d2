"""What the loss-scaling tests do beside the learner's scaler: build the parameters, optimizer and
autograd graph there (they cannot cross), run the learner's DynamicLossScaler on them and return what
came out (flags, scales, gradients, weights) for the test to judge. Under `kata grade` this file runs in
the learner's process (kata.probe); the checks do not."""
import torch


def unscale(mod, init_scale, grads, calls):
    """A DynamicLossScaler(init_scale) and one Parameter per entry of `grads` (zeros shaped like it;
    its grad is the tensor, or None). Each call is (assign, idx): set p[k].grad = t for (k, t) in
    assign, then unscale_([p[i] for i in idx]). Returns, per call, (what unscale_ returned,
    every parameter's grad afterwards (None where none))."""
    s = mod.DynamicLossScaler(init_scale=init_scale)
    ps = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(2 if g is None else g.shape))
        p.grad = None if g is None else g.clone()
        ps.append(p)
    out = []
    for assign, idx in calls:
        for k, t in assign:
            ps[k].grad = t.clone()
        found = s.unscale_([ps[i] for i in idx])
        out.append((found, [None if p.grad is None else p.grad.detach().clone() for p in ps]))
    return out


def train(mod, w0, grads_seq, lr, scaler_kwargs):
    """SGD(lr) on w = Parameter(w0) with loss (w * g).sum() for each g, each step through the learner's
    scaler: scale_loss(loss).backward(), then step(opt, [w]). Returns per step (bool(stepped),
    float(scale), the weights afterwards)."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(w0.clone())
    opt = torch.optim.SGD([w], lr=lr)
    s = mod.DynamicLossScaler(**scaler_kwargs)
    history = []
    for g in grads_seq:
        opt.zero_grad()
        loss = (w * g).sum()
        s.scale_loss(loss).backward()
        stepped = s.step(opt, [w])
        history.append((bool(stepped), float(s.scale), w.detach().clone()))
    return history


def fp16_backward(mod, init_scale, w0, g_true):
    """w = Parameter(w0); backward of scale_loss((w * g_true).sum()); the gradient rounded through
    fp16 (what an fp16 backward would store); then unscale_([w]). Returns (what unscale_ returned,
    w.grad afterwards)."""
    s = mod.DynamicLossScaler(init_scale=init_scale)
    w = torch.nn.Parameter(w0.clone())
    s.scale_loss((w * g_true).sum()).backward()
    w.grad = w.grad.half().float()
    found = s.unscale_([w])
    return found, w.grad.detach().clone()
