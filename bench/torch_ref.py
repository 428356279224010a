#!/usr/bin/python3
"""The PyTorch side of actlab's benchmark: workloads W1-W6 of shared/bench/WORKLOADS.md in
PyTorch eager mode (Debian's python3-torch 1.13; run it with /usr/bin/python3), timed as
actlab-bench times them, printing the same JSON object per workload.

One step = zero_grad (set_to_none, as actlab's), forward, loss, backward, optimiser update;
median over the timed steps after warm-up, each step followed by one run of its bound: the
step's matrix products as torch.mm calls into preallocated outputs (the same shapes and
transposes as actlab's sgemm calls; each call also pays PyTorch's dispatch, a few
microseconds, so for the small W1 and W2 actlab's raw-sgemm bound is the one to quote), or,
for W6, a copy_ of the same 2^24 floats.

Threads: Debian's torch runs its GEMMs through OpenBLAS (libblas.so.3 -> openblas-pthread),
whose thread pool torch.set_num_threads does not set. Both are set here: OPENBLAS_NUM_THREADS
before torch is imported, openblas_set_num_threads after, then checked. Torch's own pool is
libgomp's, which spin-waits after each parallel region; with 2 threads on 2 cores that spinning
starves OpenBLAS's threads (W4 ran 2x slower that way here, W3 16x while other work ran), so
OMP_WAIT_POLICY defaults to PASSIVE (set it in the environment to override).

    /usr/bin/python3 bench/torch_ref.py [--workload W] [--threads N] [--steps N] [--no-bound]
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

torch = None  # imported in main(), once OpenBLAS's thread count is in the environment


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", choices=[w[0] for w in WORKLOADS], help="one workload (default: all)")
    p.add_argument("--threads", type=int, default=1, help="torch and OpenBLAS threads (default 1)")
    p.add_argument("--steps", type=int, default=0, help="timed steps (default: per workload)")
    p.add_argument("--no-bound", action="store_true", help="time the steps only (for peak RSS)")
    return p.parse_args()


def set_threads(n):
    """Sets torch's intra-op threads and OpenBLAS's, and imports torch."""
    global torch
    os.environ["OPENBLAS_NUM_THREADS"] = str(n)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch as t
    torch = t
    torch.set_num_threads(n)
    openblas = ctypes.CDLL("libopenblas.so.0")
    openblas.openblas_set_num_threads(n)
    got = (torch.get_num_threads(), openblas.openblas_get_num_threads())
    if got != (n, n):
        sys.exit(f"torch_ref.py: asked for {n} threads, got torch {got[0]}, OpenBLAS {got[1]}")


# ---- the workloads ------------------------------------------------------------------------

def gemms_of(layers, rows):
    """The products of a step through Linear layers [(in, out, input_grad)], as actlab makes
    them: (ta, tb, m, n, k) for Y = X W^T forward, then backward in reverse order dX = dY W
    (when the input needs a gradient) and dW = dY^T X."""
    out = [(False, True, rows, o, i) for i, o, _ in layers]
    for i, o, input_grad in reversed(layers):
        if input_grad:
            out.append((False, False, rows, i, o))
        out.append((True, False, o, i, rows))
    return out


def training(model, x, loss, optimizer, gemms):
    """One training step of model on the fixed batch x, and its GEMMs."""
    opt = optimizer(model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        loss(model(x)).backward()
        opt.step()

    return step, gemms, 0


def mlp(n_in, hidden, n_out, activation, batch, optimizer):
    nn = torch.nn
    sizes = [n_in] + hidden
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(sizes[-1], n_out))
    classes = torch.randint(n_out, (batch,))
    shapes = [(a, b, k > 0) for k, (a, b) in enumerate(zip(sizes, sizes[1:] + [n_out]))]
    return training(nn.Sequential(*layers), torch.randn(batch, n_in),
                    lambda y: torch.nn.functional.cross_entropy(y, classes), optimizer,
                    gemms_of(shapes, batch))


TOKENS, D_MODEL = 1024, 512


def swiglu(d_ff):
    nn = torch.nn

    class SwiGLU(nn.Module):
        """down(silu(gate(x)) * up(x)), no biases."""

        def __init__(self):
            super().__init__()
            self.gate = nn.Linear(D_MODEL, d_ff, bias=False)
            self.up = nn.Linear(D_MODEL, d_ff, bias=False)
            self.down = nn.Linear(d_ff, D_MODEL, bias=False)

        def forward(self, x):
            return self.down(nn.functional.silu(self.gate(x)) * self.up(x))

    return SwiGLU()


def ffn(block, layers):
    """A feed-forward block on x [1024, 512], MSE against a fixed random target, AdamW."""
    target = torch.randn(TOKENS, D_MODEL)
    return training(block, torch.randn(TOKENS, D_MODEL),
                    lambda y: torch.nn.functional.mse_loss(y, target),
                    lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
                    gemms_of(layers, TOKENS))


def ffn_gelu():
    nn = torch.nn
    block = nn.Sequential(nn.Linear(D_MODEL, 2048), nn.GELU(), nn.Linear(2048, D_MODEL))
    return ffn(block, [(D_MODEL, 2048, False), (2048, D_MODEL, True)])


def ffn_swiglu():
    return ffn(swiglu(1408), [(D_MODEL, 1408, False), (D_MODEL, 1408, False), (1408, D_MODEL, True)])


def gelu_alone():
    """sum(gelu(x) * w) over 2^24 floats, forward and backward; no optimiser."""
    n = 1 << 24
    x = torch.randn(n, requires_grad=True)
    w = torch.randn(n)

    def step():
        x.grad = None
        (torch.nn.functional.gelu(x) * w).sum().backward()

    return step, [], n


def sgd(lr):
    return lambda p: torch.optim.SGD(p, lr=lr)


def adam(lr):
    return lambda p: torch.optim.Adam(p, lr=lr)


# id, default timed steps (as actlab-bench's), builder
WORKLOADS = [
    ("W1", 500, lambda: mlp(2, [64, 64], 2, torch.nn.ReLU, 128, sgd(0.1))),
    ("W2", 200, lambda: mlp(32, [64] * 16, 10, torch.nn.Sigmoid, 64, sgd(0.1))),
    ("W3", 100, lambda: mlp(784, [512, 512], 10, torch.nn.GELU, 256, adam(1e-3))),
    ("W4", 50, ffn_gelu),
    ("W5", 50, ffn_swiglu),
    ("W6", 50, gelu_alone),
    # W6f is actlab's fused op; in PyTorch's eager mode the same sum is W6's ops.
    ("W6f", 50, gelu_alone),
]


# ---- bounds and timing --------------------------------------------------------------------

def gemm_bound(gemms):
    """The step's products as torch.mm calls on buffers as large as the largest of each."""
    size = lambda f: max(f(m, n, k) for _, _, m, n, k in gemms)
    a = torch.randn(size(lambda m, n, k: m * k))
    b = torch.randn(size(lambda m, n, k: k * n))
    c = torch.empty(size(lambda m, n, k: m * n))
    calls = []
    for ta, tb, m, n, k in gemms:
        a_op = a[: m * k].view(k, m).t() if ta else a[: m * k].view(m, k)
        b_op = b[: k * n].view(n, k).t() if tb else b[: k * n].view(k, n)
        calls.append((a_op, b_op, c[: m * n].view(m, n)))

    def run():
        for a_op, b_op, out in calls:
            torch.mm(a_op, b_op, out=out)

    return run


def copy_bound(n):
    src, dst = torch.randn(n), torch.empty(n)
    return lambda: dst.copy_(src)


def timed_ms(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def run_workload(wid, default_steps, build, args):
    """Warms up, then times steps, each followed by its bound; the JSON of WORKLOADS.md."""
    torch.manual_seed(0)
    step, gemms, copy_floats = build()
    bound = None
    if not args.no_bound:
        bound = gemm_bound(gemms) if gemms else copy_bound(copy_floats)
    steps = args.steps or default_steps
    for _ in range(max(5, steps // 10)):
        step()
        if bound:
            bound()
    step_ms, bound_ms = [], []
    for _ in range(steps):
        step_ms.append(timed_ms(step))
        if bound:
            bound_ms.append(timed_ms(bound))
    return {
        "workload": wid,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "median_ms": statistics.median(step_ms),
        "min_ms": min(step_ms),
        "max_ms": max(step_ms),
        "gemm_bound_ms" if gemms else "copy_bound_ms": statistics.median(bound_ms) if bound else None,
        "peak_rss_mib": peak_rss_mib(),
    }


def main():
    args = parse_args()
    set_threads(args.threads)
    for wid, default_steps, build in WORKLOADS:
        if args.workload in (None, wid):
            print(json.dumps(run_workload(wid, default_steps, build, args)), flush=True)


if __name__ == "__main__":
    main()
