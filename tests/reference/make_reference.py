#!/usr/bin/python3
"""Generate PyTorch reference values for actlab's C++ tests.

Produces, next to this script:
  activations.json  - forward values and input gradients of activation functions
  losses.json       - mse / cross-entropy (ignored rows too) / BCE-with-logits values and
                      gradients
  optimizers.json   - 5-step trajectories of SGD / Adam / AdamW, plus a
                      clip_grad_norm_ case, on a small fixed regression problem
  blocks.json       - standard and gated feed-forward blocks with fixed weights

Every gradient is d/d(input) of sum(output * proj) for a fixed random `proj`
unless stated otherwise. All computation is float32; values are written with
full float32 precision (non-finite values as the strings "inf", "-inf", "nan").

Rerun (from the repository root, with Debian's torch):
    /usr/bin/python3 tests/reference/make_reference.py
The output is deterministic; torch is not needed to run the C++ tests.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
DTYPE = torch.float32

EDGE_INPUT = [-1e4, -1000, -100, -50, -20, -1, 0.0, 1e-3, 1, 20, 50, 100]
KINK_INPUT = [-2, -1.5, -1, -0.5, -0.25, -0.1, 0, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4]
PRELU_WEIGHTS_8 = [0.0, 0.05, 0.1, 0.15, 0.25, 0.3, 0.4, 0.5]
TEMPERATURES = [0.5, 1.0, 2.0]


# ---------------------------------------------------------------- helpers

def to_json_number(x):
    """A Python float (exact float32 value) or a string for non-finite values."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def flat(t):
    """Row-major flattened list of JSON-safe numbers for a tensor."""
    return [to_json_number(v) for v in t.detach().to(DTYPE).reshape(-1).tolist()]


def tensor(values, shape=None):
    t = torch.tensor(values, dtype=DTYPE)
    return t.reshape(shape) if shape is not None else t


def seeded_randn(seed, shape, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=DTYPE) * scale


def seeded_uniform(seed, shape, low=-1.0, high=1.0):
    """Uniform values in [low, high)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen, dtype=DTYPE) * (high - low) + low


def write_json(filename, payload):
    path = os.path.join(OUT_DIR, filename)
    with open(path, "w") as f:
        json.dump(payload, f, allow_nan=False, indent=1)
        f.write("\n")
    return path


# ------------------------------------------------------------ activations

class HardswishDocumented(torch.autograd.Function):
    """hardswish with the derivative of PyTorch's documented piecewise definition (0 for
    x <= -3, x (x + 3) / 6 for -3 < x < 3, x for x >= 3): f'(-3) = 0, f'(3) = 1, and
    x / 3 + 1/2 between, the expression of current PyTorch's backward kernel, which follows the
    documentation since its PR #148049. PyTorch 1.13 (Debian's) disagrees with itself at the
    knees: its scalar backward (tensors of under 16 floats) gives f'(-3) = -0.5 and
    f'(3) = 1.5, its vectorised one f'(3) = 1. Values are F.hardswish's."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.hardswish(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.where(x <= -3, torch.zeros_like(x),
                           torch.where(x < 3, grad * (x / 3 + 0.5), grad))


def activation_fn(name, params, weight=None):
    """Return a function x -> activation(x) matching the case's name/params."""
    if name == "relu":
        return F.relu
    if name == "leaky_relu":
        return lambda x: F.leaky_relu(x, params["negative_slope"])
    if name == "prelu":
        return lambda x: F.prelu(x, weight)
    if name == "elu":
        return lambda x: F.elu(x, params["alpha"])
    if name == "selu":
        return F.selu
    if name == "celu":
        return lambda x: F.celu(x, params["alpha"])
    if name == "gelu":
        return lambda x: F.gelu(x, approximate="none")
    if name == "gelu_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "silu":
        return F.silu
    if name == "mish":
        return F.mish
    if name == "softplus":
        return lambda x: F.softplus(x, params["beta"], params["threshold"])
    if name == "sigmoid":
        return torch.sigmoid
    if name == "tanh":
        return torch.tanh
    if name == "hardswish":
        return HardswishDocumented.apply
    if name == "log_sigmoid":
        return F.logsigmoid
    if name == "softmax":
        return lambda x: torch.softmax(x / params["temperature"], params["dim"])
    if name == "log_softmax":
        return lambda x: torch.log_softmax(x / params["temperature"], params["dim"])
    raise ValueError(name)


def activation_case(name, params, x, proj_seed, weight=None):
    """Run one activation forward/backward and package it as a JSON case."""
    x = x.clone().requires_grad_(True)
    w = None
    if weight is not None:
        w = tensor(weight).requires_grad_(True)
    out = activation_fn(name, params, w)(x)
    proj = seeded_uniform(proj_seed, out.shape)
    (out * proj).sum().backward()
    case = {
        "name": name,
        "params": params,
        "shape": list(x.shape),
        "input": flat(x),
        "proj": flat(proj),
        "output": flat(out),
        "grad_input": flat(x.grad),
    }
    if w is not None:
        case["weight"] = flat(w)
        case["grad_weight"] = flat(w.grad)
    return case


def activation_configs():
    """(name, params) pairs; every config gets the random/edge/kink cases."""
    configs = [
        ("relu", {}),
        ("leaky_relu", {"negative_slope": 0.01}),
        ("leaky_relu", {"negative_slope": 0.2}),
        ("elu", {"alpha": 1.0}),
        ("elu", {"alpha": 0.5}),
        ("selu", {}),
        ("celu", {"alpha": 1.0}),
        ("celu", {"alpha": 2.0}),
        ("gelu", {}),
        ("gelu_tanh", {}),
        ("silu", {}),
        ("mish", {}),
        ("softplus", {"beta": 1.0, "threshold": 20.0}),
        ("softplus", {"beta": 2.0, "threshold": 5.0}),
        ("sigmoid", {}),
        ("tanh", {}),
        ("hardswish", {}),
        ("log_sigmoid", {}),
    ]
    for name in ("softmax", "log_softmax"):
        for t in TEMPERATURES:
            configs.append((name, {"dim": -1, "temperature": t}))
    return configs


def build_activations():
    cases = []
    proj_seed = 5000  # incremented per case so every proj differs

    def add(name, params, x, weight=None):
        nonlocal proj_seed
        proj_seed += 1
        cases.append(activation_case(name, params, x, proj_seed, weight))

    edges = tensor(EDGE_INPUT)
    kinks = tensor(KINK_INPUT, [3, 5])

    for idx, (name, params) in enumerate(activation_configs()):
        random_x = seeded_randn(1000 + idx, [4, 8], scale=3.0)
        add(name, params, random_x)
        add(name, params, edges)
        add(name, params, kinks)
        if name in ("softmax", "log_softmax"):
            add(name, params, tensor([[1000, -1000, 0], [-1000, -1000, -1000]]))
            add(name, params, tensor([2.0, 1.0, 0.1]))

    # softmax along dim 0 of a random [4, 8] input.
    add("softmax", {"dim": 0, "temperature": 1.0}, seeded_randn(1900, [4, 8], 3.0))

    # PReLU: a single shared weight, and one weight per channel (dim 1).
    prelu_x = seeded_randn(1950, [4, 8], scale=3.0)
    add("prelu", {"num_parameters": 1}, prelu_x, weight=[0.25])
    add("prelu", {"num_parameters": 8}, prelu_x, weight=PRELU_WEIGHTS_8)
    add("prelu", {"num_parameters": 1}, edges, weight=[0.25])
    add("prelu", {"num_parameters": 1}, kinks, weight=[0.25])

    # hardswish at and around both knees.
    add("hardswish", {}, tensor([-4, -3.001, -3, -2.999, 0, 2.999, 3, 3.001, 4]))

    return {"torch_version": torch.__version__, "cases": cases}


# ----------------------------------------------------------------- losses

def loss_case(name, params, shape_key, x, target, loss_fn):
    x = x.clone().requires_grad_(True)
    out = loss_fn(x, target)
    out.backward()
    target_json = target.tolist() if target.dtype == torch.long else flat(target)
    return {
        "name": name,
        "params": params,
        shape_key: list(x.shape),
        "input": flat(x),
        "target": target_json,
        "output": to_json_number(out),
        "grad_input": flat(x.grad),
    }


def mse_cases():
    x = seeded_randn(2001, [5, 3])
    y = seeded_randn(2002, [5, 3])
    return [loss_case("mse_loss", {"reduction": "mean"}, "shape", x, y,
                      lambda a, b: F.mse_loss(a, b, reduction="mean"))]


def cross_entropy_cases():
    def ce(logits, target, smoothing):
        params = {"label_smoothing": smoothing, "reduction": "mean", "ignore_index": -100}
        fn = lambda a, b: F.cross_entropy(a, b, reduction="mean", ignore_index=-100,
                                          label_smoothing=smoothing)
        return loss_case("cross_entropy", params, "logits_shape", logits, target, fn)

    logits = seeded_randn(2101, [6, 4], scale=2.0)
    target = torch.tensor([0, 3, 1, 2, 3, 1], dtype=torch.long)
    cases = [ce(logits, target, s) for s in (0.0, 0.1, 0.3)]

    extreme = tensor([[1000, -1000, 0, 0],
                      [-1000, 1000, 0, 0],
                      [1000, 1000, -1000, -1000],
                      [-1000, 0, 1000, 0]])
    extreme_target = torch.tensor([0, 0, 1, 2], dtype=torch.long)
    cases += [ce(extreme, extreme_target, s) for s in (0.0, 0.1)]

    # Rows whose target is ignore_index (-100, PyTorch's default) count for nothing: the mean
    # is over the other rows, with and without smoothing.
    masked_target = torch.tensor([0, -100, 1, -100, -100, 1], dtype=torch.long)
    cases += [ce(logits, masked_target, s) for s in (0.0, 0.1)]
    return cases


def bce_with_logits_cases():
    def bce(x, y):
        fn = lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="mean")
        return loss_case("binary_cross_entropy_with_logits", {"reduction": "mean"},
                         "shape", x, y, fn)

    edge_x = tensor([-100, -50, -1, 0, 1, 50, 100, 3])
    edge_y = tensor([1, 0, 0.3, 1, 0, 1, 0, 0.3])
    rand_x = seeded_randn(2201, [4, 3], scale=2.0)
    rand_y = seeded_uniform(2202, [4, 3], 0.0, 1.0)
    rand_y[0, 0], rand_y[1, 1], rand_y[2, 2] = 0.0, 1.0, 0.3
    return [bce(edge_x, edge_y), bce(rand_x, rand_y)]


def build_losses():
    cases = mse_cases() + cross_entropy_cases() + bce_with_logits_cases()
    return {"torch_version": torch.__version__, "cases": cases}


# ------------------------------------------------------------- optimizers

OPTIMIZER_CONFIGS = [
    {"name": "sgd", "lr": 0.1},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"name": "sgd", "lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.01, "weight_decay": 0.1},
    {"name": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
    {"name": "adamw", "lr": 0.01},
    {"name": "adamw", "lr": 0.01, "weight_decay": 0.1},
]


def regression_problem():
    torch.manual_seed(0)
    W = torch.randn(3, 4, dtype=DTYPE)
    b = torch.randn(3, dtype=DTYPE)
    X = torch.randn(5, 4, dtype=DTYPE)
    Y = torch.randn(5, 3, dtype=DTYPE)
    return W, b, X, Y


def regression_loss(W, b, X, Y):
    return F.mse_loss(X @ W.T + b, Y)


def make_optimizer(config, params):
    kwargs = {k: v for k, v in config.items() if k not in ("name", "beta1", "beta2")}
    if "beta1" in config or "beta2" in config:
        kwargs["betas"] = (config.get("beta1", 0.9), config.get("beta2", 0.999))
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam,
           "adamw": torch.optim.AdamW}[config["name"]]
    return cls(params, **kwargs)


def resolved_hyperparameters(opt):
    """All hyperparameters torch actually used (makes defaults explicit)."""
    group = opt.param_groups[0]
    keep = ("lr", "momentum", "dampening", "nesterov", "weight_decay", "betas",
            "eps", "amsgrad", "maximize")
    out = {}
    for key in keep:
        if key in group:
            value = group[key]
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def optimizer_case(config, problem, steps=5):
    W0, b0, X, Y = problem
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = make_optimizer(config, [W, b])
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = regression_loss(W, b, X, Y)
        loss.backward()
        losses.append(to_json_number(loss))
        opt.step()
    return {"config": config, "resolved": resolved_hyperparameters(opt),
            "losses": losses, "W": flat(W), "b": flat(b)}


def clip_case(problem, max_norm=0.5):
    W0, b0, X, Y = problem
    W = W0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    regression_loss(W, b, X, Y).backward()
    before = {"W": flat(W.grad), "b": flat(b.grad)}
    total = torch.nn.utils.clip_grad_norm_([W, b], max_norm, norm_type=2.0)
    return {"max_norm": max_norm, "grads_before": before,
            "grads_after": {"W": flat(W.grad), "b": flat(b.grad)},
            "total_norm": to_json_number(total)}


def build_optimizers():
    problem = regression_problem()
    W, b, X, Y = problem
    return {
        "torch_version": torch.__version__,
        "W0": flat(W), "W_shape": list(W.shape),
        "b0": flat(b),
        "X": flat(X), "X_shape": list(X.shape),
        "Y": flat(Y), "Y_shape": list(Y.shape),
        "cases": [optimizer_case(c, problem) for c in OPTIMIZER_CONFIGS],
        "clip": clip_case(problem),
    }


# ----------------------------------------------------------------- blocks

D_MODEL, D_FF = 6, 10
BLOCK_ACTIVATIONS = {"gelu": lambda x: F.gelu(x, approximate="none"),
                     "relu": F.relu, "silu": F.silu, "sigmoid": torch.sigmoid}
GATED_VARIANTS = {"sigmoid": "GLU", "relu": "ReGLU", "gelu": "GeGLU", "silu": "SwiGLU"}


def block_case(kind, activation, seed):
    torch.manual_seed(seed)
    bias = kind == "standard"
    layers = {}
    if kind == "gated":
        layers["gate"] = torch.nn.Linear(D_MODEL, D_FF, bias=False)
    layers["up"] = torch.nn.Linear(D_MODEL, D_FF, bias=bias)
    layers["down"] = torch.nn.Linear(D_FF, D_MODEL, bias=bias)
    act = BLOCK_ACTIVATIONS[activation]

    x = seeded_randn(seed + 1, [4, D_MODEL]).requires_grad_(True)
    if kind == "standard":
        out = layers["down"](act(layers["up"](x)))
    else:
        out = layers["down"](act(layers["gate"](x)) * layers["up"](x))
    proj = seeded_uniform(seed + 2, out.shape)
    (out * proj).sum().backward()

    named = {f"{layer}.{pname}": p for layer, module in layers.items()
             for pname, p in module.named_parameters()}
    case = {
        "kind": kind,
        "activation": activation,
        "x": flat(x), "x_shape": list(x.shape),
        "params": {k: flat(p) for k, p in named.items()},
        "param_shapes": {k: list(p.shape) for k, p in named.items()},
        "proj": flat(proj),
        "output": flat(out),
        "grads": {"x": flat(x.grad), **{k: flat(p.grad) for k, p in named.items()}},
    }
    if kind == "gated":
        case["variant"] = GATED_VARIANTS[activation]
    return case


def build_blocks():
    specs = [("standard", a) for a in ("gelu", "relu", "silu")]
    specs += [("gated", a) for a in ("sigmoid", "relu", "gelu", "silu")]
    cases = [block_case(kind, act, 300 + 10 * i) for i, (kind, act) in enumerate(specs)]
    return {"torch_version": torch.__version__, "d_model": D_MODEL, "d_ff": D_FF,
            "cases": cases}


# ------------------------------------------------------------------- main

def count_non_finite(obj, path="", found=None):
    """Collect paths of values written as "inf"/"-inf"/"nan" strings."""
    found = [] if found is None else found
    if isinstance(obj, dict):
        for k, v in obj.items():
            count_non_finite(v, f"{path}.{k}", found)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            count_non_finite(v, f"{path}[{i}]", found)
    elif obj in ("inf", "-inf", "nan"):
        found.append(path)
    return found


def main():
    torch.manual_seed(0)
    builders = {"activations.json": build_activations, "losses.json": build_losses,
                "optimizers.json": build_optimizers, "blocks.json": build_blocks}
    for filename, build in builders.items():
        payload = build()
        path = write_json(filename, payload)
        with open(path) as f:
            json.load(f)  # sanity check: the file parses
        n_cases = len(payload.get("cases", []))
        bad = count_non_finite(payload)
        print(f"{filename}: {n_cases} cases, {os.path.getsize(path)} bytes, "
              f"{len(bad)} non-finite values")
        for p in bad[:10]:
            print("   non-finite at", p)
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
