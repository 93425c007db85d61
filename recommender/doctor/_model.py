"""Checks on the untrained model: activation statistics at initialisation, and a gradient check.

Both take a `torch.nn.Module` (built by `training.build_model` for the user's configuration), so
they check exactly the network that training would use.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from recommender.doctor._report import Check
from training.model import Dropout

STD_RANGE = (1e-2, 1e2)  # activation std outside this at init: collapsed or exploded signal
DEPTH_DRIFT = 10.0  # last / first hidden layer's std beyond this factor: it drifts with depth
DEAD_SHARE = 0.5  # share of units that output exactly 0 (or saturate) for every row
GRAD_PASS = 1e-7  # relative error of the analytic gradient, as the textbook check asks
GRAD_WARN = 1e-4  # up to here a kink (ReLU at 0) can explain it; beyond, backward is wrong
# Central-difference steps in double precision: rounding dominates a small step, curvature a
# large one, so each tensor keeps the best of three; a wrong backward is wrong at every step.
GRAD_EPS = (1e-4, 1e-5, 1e-6)


def _hidden_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of each hidden activation layer for batch `x` (train mode, no gradient)."""
    outputs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outputs.append(o.detach()))
             for m in model.modules()
             if not isinstance(m, (nn.Linear, Dropout, nn.BatchNorm1d, nn.Sequential))]
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return outputs


def _dead_share(o: torch.Tensor) -> float:
    """Share of units that output 0 for every row (ReLU), or of a bounded activation's (tanh)
    outputs stuck at +-1, where the gradient vanishes."""
    if float(o.abs().max()) <= 1.0 and float(o.min()) < 0:  # tanh-like
        return float((o.abs() > 0.99).float().mean())
    return float((o == 0).all(dim=0).float().mean())


def check_init(model: nn.Module, x: torch.Tensor) -> Check:
    """At initialisation every hidden layer's activations should keep a similar, moderate spread,
    with few units dead (always 0) or saturated (tanh at +-1) over a batch."""
    outputs = _hidden_outputs(model, x)
    if not outputs:
        return Check("init", "pass", "a linear model: no hidden activations to check", "", {})
    stds = [float(o.float().std()) for o in outputs]
    dead = [_dead_share(o) for o in outputs]
    details = {"activation_std": stds, "dead_or_saturated_share": dead}
    layers = ", ".join(f"{s:.2g}" for s in stds)
    advice = ("use init='he' with relu-like activations or 'xavier' with tanh, add batch_norm, "
              "and check the inputs are standardised")
    if not all(math.isfinite(s) and STD_RANGE[0] <= s <= STD_RANGE[1] for s in stds):
        return Check("init", "fail",
                     f"activation std per layer at init is {layers}: outside "
                     f"[{STD_RANGE[0]:g}, {STD_RANGE[1]:g}], the signal collapses or explodes",
                     advice, details)
    drift = stds[-1] / stds[0]
    if not 1 / DEPTH_DRIFT <= drift <= DEPTH_DRIFT or max(dead) > DEAD_SHARE:
        why = (f"{max(dead):.0%} of a layer's units are dead or saturated" if max(dead) > DEAD_SHARE
               else f"the spread changes {drift:.3g}x from the first to the last hidden layer")
        return Check("init", "warn", f"activation std per layer at init is {layers}; {why}",
                     advice, details)
    return Check("init", "pass",
                 f"activation std per layer at init is {layers}: steady across depth", "",
                 details)


def task_loss(task: str, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training loss in the output's own precision (the engine's casts to float32)."""
    if task == "regression":
        return F.mse_loss(output.squeeze(1), y.to(output.dtype))
    return F.cross_entropy(output, y)


def _slope(model: nn.Module, param: torch.Tensor, direction: torch.Tensor, eps: float,
           task: str, x: torch.Tensor, y: torch.Tensor) -> float:
    """(L(w + eps d) - L(w - eps d)) / 2 eps, leaving `param` as it was."""
    original = param.detach().clone()
    param.add_(eps * direction)
    plus = float(task_loss(task, model(x), y))
    param.copy_(original - eps * direction)
    minus = float(task_loss(task, model(x), y))
    param.copy_(original)
    return (plus - minus) / (2 * eps)


def _relative_error(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale < 1e-12 else abs(a - b) / scale


def check_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, task: str, seed: int = 0
) -> Check:
    """Backpropagation against central differences on a double-precision copy of `model`.

    Per parameter tensor, the derivative along the analytic gradient's own direction d (random
    where the gradient is 0): analytic |gradient| against numeric
    (L(w + eps d) - L(w - eps d)) / 2 eps, the best of `GRAD_EPS`; relative error
    |a - n| / max(|a|, |n|). Along d the derivative is as large as it gets, so rounding stays far
    below 1e-7, while a wrong backward (another direction or length) shows at once.
    """
    copy64 = copy.deepcopy(model).double().eval()  # eval: no dropout noise between evaluations
    x64 = x.double()
    params = [p for p in copy64.parameters() if p.requires_grad]
    loss = task_loss(task, copy64(x64), y)
    grads = torch.autograd.grad(loss, params)
    generator = torch.Generator().manual_seed(seed)
    errors: list[float] = []
    with torch.no_grad():
        for param, grad in zip(params, grads, strict=True):
            direction = grad if grad.norm() > 0 else torch.randn(
                param.shape, generator=generator, dtype=param.dtype)
            direction = direction / direction.norm()
            analytic = float((grad * direction).sum())
            errors.append(min(_relative_error(analytic, _slope(copy64, param, direction, eps,
                                                               task, x64, y))
                              for eps in GRAD_EPS))
    worst = int(np.argmax(errors))
    names = [name for name, p in copy64.named_parameters() if p.requires_grad]
    details = {"relative_error": dict(zip(names, errors, strict=True)), "pass_below": GRAD_PASS}
    reason = (f"largest relative error between analytic and numerical gradients "
              f"{errors[worst]:.1e} (parameter '{names[worst]}')")
    if errors[worst] < GRAD_PASS:
        return Check("gradient_check", "pass", reason + f" < {GRAD_PASS:g}", "", details)
    if errors[worst] < GRAD_WARN:
        return Check("gradient_check", "warn", reason + f", above {GRAD_PASS:g}",
                     "usually a kink (ReLU at 0) hit by the finite difference; rerun with "
                     "another seed, or a smooth activation (gelu, silu) to confirm", details)
    return Check("gradient_check", "fail", reason + ": backpropagation is wrong",
                 "a custom layer or loss has a broken backward; fix it before tuning", details)
