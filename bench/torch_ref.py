#!/usr/bin/python3
"""The PyTorch side of actlab's benchmark: workloads W1-W7 of shared/bench/WORKLOADS.md in
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
                                        [--cpu-time]

--cpu-time times with the process's CPU time (time.process_time), as actlab-bench's flag does:
on a loaded machine it leaves out the time the process waited for a core.
"""
import argparse
import ctypes
import json
import math
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
    p.add_argument("--cpu-time", action="store_true", help="time with the process's CPU time")
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


# ---- W7: the tiny Llama-style decoder ------------------------------------------------------

# d_ff 344: the SwiGLU width matched to a 512-wide FFN (actlab's matched_gated_d_ff: 2/3 of
# it, rounded to a multiple of 8)
DECODER = dict(vocab=96, d_model=128, n_layers=4, n_heads=4, d_ff=344, context=128)
DECODER_BATCH = 16
GENERATED_TOKENS = 16


def decoder():
    """The W7 model as Llama's code writes it in eager PyTorch: bias-free linears, RMSNorm,
    RoPE on adjacent channel pairs from a table of complex rotations made once, causal
    attention through a masked softmax, SwiGLU FFN, final norm, head tied to the embedding."""
    nn, F = torch.nn, torch.nn.functional
    c = DECODER
    d, heads = c["d_model"], c["n_heads"]
    head_dim = d // heads
    theta = 10000.0 ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(c["context"], dtype=torch.float64), theta)
    rotations = torch.polar(torch.ones_like(angles), angles).to(torch.complex64)  # [T, D/2]
    mask = torch.full((c["context"], c["context"]), float("-inf")).triu(1)

    def rope(x, t):  # x [B, T, H, D]
        pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(pairs * rotations[:t, None, :]).flatten(3)

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.ffn_norm = RMSNorm(), RMSNorm()
            self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
            self.gate = nn.Linear(d, c["d_ff"], bias=False)
            self.up = nn.Linear(d, c["d_ff"], bias=False)
            self.down = nn.Linear(c["d_ff"], d, bias=False)

        def attention(self, x):
            b, t, _ = x.shape
            q, k, v = (p(x).view(b, t, heads, head_dim) for p in (self.q, self.k, self.v))
            q, k = rope(q, t), rope(k, t)
            q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, D]
            scores = q @ k.transpose(2, 3) / math.sqrt(head_dim) + mask[:t, :t]
            out = F.softmax(scores, dim=-1) @ v
            return self.o(out.transpose(1, 2).reshape(b, t, d))

        def forward(self, x):
            x = x + self.attention(self.attn_norm(x))
            h = self.ffn_norm(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(c["vocab"], d)
            nn.init.normal_(self.embed.weight, std=0.02)
            self.blocks = nn.ModuleList(Block() for _ in range(c["n_layers"]))
            self.norm = RMSNorm()

        def forward(self, ids):
            h = self.embed(ids)
            for block in self.blocks:
                h = block(h)
            return self.norm(h) @ self.embed.weight.t()

    return Decoder()


def decoder_gemms(batch, time, backward):
    """As actlab-bench's: every Linear (7 per block, then the tied head as d_model -> vocab)
    as gemms_of has them, and per block, batch and head attention's products."""
    c = DECODER
    d, f, t, hd = c["d_model"], c["d_ff"], time, c["d_model"] // c["n_heads"]
    layers = [(d, d, True)] * 4 + [(d, f, True), (d, f, True), (f, d, True)]
    layers = layers * c["n_layers"] + [(d, c["vocab"], True)]
    out = gemms_of(layers, batch * t)
    if not backward:
        out = out[: len(layers)]
    per_head = [(False, True, t, t, hd), (False, False, t, hd, t)]
    if backward:
        per_head += [(False, True, t, t, hd), (False, False, t, hd, t),
                     (True, False, t, hd, t), (True, False, t, hd, t)]
    return out + per_head * (c["n_layers"] * batch * c["n_heads"])


def decoder_training():
    """One step on a fixed batch of 16 random sequences of 128 tokens and random targets."""
    c = DECODER
    model = decoder()
    ids = torch.randint(c["vocab"], (DECODER_BATCH, c["context"]))
    targets = torch.randint(c["vocab"], (DECODER_BATCH * c["context"],))
    return training(model, ids,
                    lambda logits: torch.nn.functional.cross_entropy(logits.reshape(-1, c["vocab"]), targets),
                    lambda p: torch.optim.AdamW(p, lr=3e-4, weight_decay=0.01),
                    decoder_gemms(DECODER_BATCH, c["context"], True))


def decoder_generation():
    """16 tokens at temperature 1 after a full context of random tokens, each recomputing the
    forward pass over the last 128 (no cache), under no_grad."""
    c = DECODER
    model = decoder()
    window = torch.randint(c["vocab"], (1, c["context"]))

    def step():
        nonlocal window
        with torch.no_grad():
            for _ in range(GENERATED_TOKENS):
                probs = torch.softmax(model(window)[0, -1], dim=-1)
                token = torch.multinomial(probs, 1)
                window = torch.cat([window[:, 1:], token[None]], dim=1)

    return step, decoder_gemms(1, c["context"], False) * GENERATED_TOKENS, 0, GENERATED_TOKENS


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
    ("W7", 30, decoder_training),
    ("W7g", 30, decoder_generation),
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


clock = time.perf_counter  # or time.process_time, with --cpu-time


def timed_ms(fn):
    start = clock()
    fn()
    return (clock() - start) * 1e3


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def run_workload(wid, default_steps, build, args):
    """Warms up, then times steps, each followed by its bound; the JSON of WORKLOADS.md."""
    torch.manual_seed(0)
    step, gemms, copy_floats, *generated = build()  # generation workloads: tokens per step
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
    result = {
        "workload": wid,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "median_ms": statistics.median(step_ms),
        "min_ms": min(step_ms),
        "max_ms": max(step_ms),
        "gemm_bound_ms" if gemms else "copy_bound_ms": statistics.median(bound_ms) if bound else None,
        "peak_rss_mib": peak_rss_mib(),
    }
    if generated:
        result["tokens_per_s"] = generated[0] / (statistics.median(step_ms) * 1e-3)
    return result


def main():
    global clock
    args = parse_args()
    if args.cpu_time:
        clock = time.process_time
    set_threads(args.threads)
    for wid, default_steps, build in WORKLOADS:
        if args.workload in (None, wid):
            print(json.dumps(run_workload(wid, default_steps, build, args)), flush=True)


if __name__ == "__main__":
    main()
