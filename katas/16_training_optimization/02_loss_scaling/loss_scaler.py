"""A dynamic loss scaler for fp16 training: scale up, unscale, skip steps that overflowed, back off,
grow again after a run of good steps. See README.md. (torch.amp.GradScaler does this; write it yourself.)"""
import torch  # noqa: F401


class DynamicLossScaler:
    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
        """Keep the current scale in `self.scale` (a Python float) and count consecutive good steps."""
        raise NotImplementedError("loss_scaler.py: DynamicLossScaler.__init__()")

    def scale_loss(self, loss):
        """The loss multiplied by the current scale (backward of it gives scaled gradients)."""
        raise NotImplementedError("loss_scaler.py: DynamicLossScaler.scale_loss()")

    def unscale_(self, params):
        """Divide every p.grad (skip None) by the scale, in place. Return True if any gradient holds inf
        or NaN (the step overflowed), else False."""
        raise NotImplementedError("loss_scaler.py: DynamicLossScaler.unscale_()")

    def update(self, found_inf):
        """After an overflow: scale *= backoff_factor and the good-step count starts again from 0.
        After a good step: count it; when growth_interval good steps in a row are reached, scale *=
        growth_factor and the count starts again from 0."""
        raise NotImplementedError("loss_scaler.py: DynamicLossScaler.update()")

    def step(self, optimizer, params):
        """unscale_ the gradients of params; call optimizer.step() only if none overflowed; update the
        scale. Return True if the optimizer stepped."""
        raise NotImplementedError("loss_scaler.py: DynamicLossScaler.step()")
