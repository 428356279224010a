#!/usr/bin/python3
"""Generate PyTorch reference values for actlab's sequence ops and the decoder.

Produces, next to this script:
  sequence_ops.json - embedding, layer_norm, rms_norm, rotary embedding and causal /
                      full scaled dot-product attention: values and input gradients
  decoder.json      - a tiny Llama-style decoder with fixed weights in several
                      configurations: logits, the cross-entropy loss and the gradient
                      of every parameter

Op gradients are d/d(input) of sum(output * proj) for a fixed random `proj`; the
decoder's are of the mean cross-entropy over [batch x time, vocab]. Tensors are
row-major flat lists with their shapes; everything is float32 (the rotary angles
are computed in float64 and rounded, as actlab does), except one layer_norm case
computed in float64 where float32 PyTorch is itself inaccurate ("computed_in").

Layouts follow actlab: attention and rotary inputs are [batch, time, heads,
head_dim]; attention probabilities [batch, heads, Tq, Tk]. Torch 1.13 has no
scaled_dot_product_attention or RMSNorm, so both are written out here from their
definitions; RoPE is written as Meta's Llama code does it (adjacent channel
pairs as complex numbers times e^(i p theta)).

Rerun (from the repository root, with Debian's torch):
    /usr/bin/python3 tests/reference/make_sequence_reference.py
The output is deterministic; torch is not needed to run the C++ tests.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
DTYPE = torch.float32


# ---------------------------------------------------------------- helpers

def flat(t):
    """Row-major values, each with the 9 significant digits that give back its float32."""
    return [float(f"{v:.9g}") for v in t.detach().to(DTYPE).reshape(-1).tolist()]


def seeded_randn(seed, shape, scale=1.0, shift=0.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=DTYPE) * scale + shift


def seeded_uniform(seed, shape, low=-1.0, high=1.0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen, dtype=DTYPE) * (high - low) + low


def leaf(t):
    return t.clone().requires_grad_(True)


def write_json(filename, payload):
    path = os.path.join(OUT_DIR, filename)
    with open(path, "w") as f:
        json.dump(payload, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    return path


def project(out, seed):
    """Backward from sum(out * proj); returns proj."""
    proj = seeded_uniform(seed, out.shape)
    (out * proj).sum().backward()
    return proj


# ------------------------------------------------------------ definitions

def rms_norm(x, weight, eps):
    """Llama's RMSNorm: x / sqrt(mean(x^2) + eps) * weight over the last dim."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotary(x, offset, base=10000.0):
    """RoPE on [batch, time, heads, head_dim], Llama's pairing: channels (2i, 2i+1)
    form one complex number, multiplied by e^(i (offset + t) theta_i) with
    theta_i = base^(-2i / head_dim)."""
    _, time, _, dim = x.shape
    i = torch.arange(0, dim, 2, dtype=torch.float64)
    theta = base ** (-i / dim)
    positions = torch.arange(offset, offset + time, dtype=torch.float64)
    angles = torch.outer(positions, theta)                        # [time, dim/2]
    rotation = torch.polar(torch.ones_like(angles), angles).to(torch.complex64)
    pairs = torch.view_as_complex(x.reshape(*x.shape[:-1], dim // 2, 2).contiguous())
    return torch.view_as_real(pairs * rotation[None, :, None, :]).reshape(x.shape)


def attention(q, k, v, causal, temperature):
    """softmax(q k^T / (sqrt(d) T)) v on [batch, time, heads, head_dim]; with causal,
    query i is position Tk - Tq + i and sees keys 0 .. Tk - Tq + i. Returns the output
    and the probabilities [batch, heads, Tq, Tk]."""
    qh, kh, vh = (t.permute(0, 2, 1, 3) for t in (q, k, v))     # [B, H, T, D]
    tq, tk, d = q.shape[1], k.shape[1], q.shape[3]
    scores = qh @ kh.transpose(-1, -2) / (math.sqrt(d) * temperature)
    if causal:
        visible = torch.arange(tk)[None, :] <= torch.arange(tq)[:, None] + (tk - tq)
        scores = scores.masked_fill(~visible, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return (probs @ vh).permute(0, 2, 1, 3), probs


# ------------------------------------------------------------------ ops

def embedding_case(ids, num, dim, seed):
    weight = leaf(seeded_randn(seed, [num, dim]))
    ids = torch.tensor(ids, dtype=torch.long)
    out = F.embedding(ids, weight)
    proj = project(out, seed + 1)
    return {"ids": ids.reshape(-1).tolist(), "ids_shape": list(ids.shape),
            "weight": flat(weight), "weight_shape": list(weight.shape),
            "proj": flat(proj), "output": flat(out), "grad_weight": flat(weight.grad)}


def norm_case(kind, x, seed, with_bias=True, dtype=DTYPE):
    """layer_norm (with a bias unless with_bias is False) or rms_norm (never a bias), on
    float32 inputs, computed in `dtype`."""
    dim = x.shape[-1]
    with_bias = with_bias and kind == "layer_norm"
    x = leaf(x.to(dtype))
    weight = leaf(seeded_randn(seed, [dim], 0.3, 1.0).to(dtype))
    bias = leaf(seeded_randn(seed + 1, [dim], 0.3).to(dtype)) if with_bias else None
    if kind == "layer_norm":
        eps = 1e-5
        out = F.layer_norm(x, [dim], weight, bias, eps)
    else:
        eps = 1e-6
        out = rms_norm(x, weight, eps)
    proj = project(out, seed + 2)
    case = {"kind": kind, "eps": eps, "computed_in": str(dtype).replace("torch.", ""),
            "shape": list(x.shape), "x": flat(x),
            "weight": flat(weight), "proj": flat(proj), "output": flat(out),
            "grad_x": flat(x.grad), "grad_weight": flat(weight.grad)}
    if bias is not None:
        case["bias"] = flat(bias)
        case["grad_bias"] = flat(bias.grad)
    return case


def rotary_case(shape, offset, seed):
    x = leaf(seeded_randn(seed, shape))
    out = rotary(x, offset)
    proj = project(out, seed + 1)
    return {"shape": shape, "offset": offset, "x": flat(x), "proj": flat(proj),
            "output": flat(out), "grad_x": flat(x.grad)}


def attention_case(q_shape, k_time, causal, temperature, seed):
    k_shape = [q_shape[0], k_time, q_shape[2], q_shape[3]]
    q = leaf(seeded_randn(seed, q_shape, 1.5))
    k = leaf(seeded_randn(seed + 1, k_shape, 1.5))
    v = leaf(seeded_randn(seed + 2, k_shape))
    out, probs = attention(q, k, v, causal, temperature)
    proj = project(out, seed + 3)
    return {"q_shape": q_shape, "k_shape": k_shape, "causal": causal,
            "temperature": temperature, "q": flat(q), "k": flat(k), "v": flat(v),
            "proj": flat(proj), "output": flat(out), "probs": flat(probs),
            "grad_q": flat(q.grad), "grad_k": flat(k.grad), "grad_v": flat(v.grad)}


def build_sequence_ops():
    return {
        "torch_version": torch.__version__,
        "embedding": [embedding_case([[1, 3, 1], [0, 4, 3]], 5, 4, 100),
                      embedding_case([2], 5, 4, 110)],
        "norm": [
            norm_case("layer_norm", seeded_randn(200, [2, 3, 8], 2.0, 0.5), 210),
            norm_case("layer_norm", seeded_randn(220, [4, 6], 1.0), 230, with_bias=False),
            # A large mean and a small spread: the variance must survive round-off. Torch's
            # float32 kernel loses about 1% of dx here (its backward subtracts terms of
            # x * rstd ~ 1e5), so the reference is computed in float64 from the same inputs.
            norm_case("layer_norm", seeded_randn(240, [2, 8], 0.01, 1000.0), 250,
                      dtype=torch.float64),
            norm_case("layer_norm", seeded_randn(260, [1, 1, 8], 1.0), 270),
            norm_case("rms_norm", seeded_randn(300, [2, 3, 8], 2.0, 0.5), 310),
            norm_case("rms_norm", seeded_randn(320, [1, 1, 8], 1.0), 330),
        ],
        "rotary": [rotary_case([2, 5, 2, 8], 0, 400),
                   rotary_case([1, 1, 2, 8], 7, 410),   # one token at position 7
                   rotary_case([1, 3, 1, 4], 1000, 420)],
        "attention": [
            attention_case([2, 4, 2, 8], 4, True, 1.0, 500),
            attention_case([2, 4, 2, 8], 4, False, 1.0, 510),
            attention_case([2, 4, 2, 8], 4, True, 0.5, 520),
            attention_case([1, 5, 3, 4], 5, True, 2.0, 530),
            attention_case([2, 1, 2, 8], 1, True, 1.0, 540),   # a sequence of length 1
            attention_case([1, 2, 2, 4], 5, True, 1.0, 550),   # 2 new queries, 5 keys
        ],
    }


# -------------------------------------------------------------- decoder

class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def make_norm(kind, dim):
    return RMSNorm(dim) if kind == "rms" else torch.nn.LayerNorm(dim, eps=1e-5)


class Attention(torch.nn.Module):
    def __init__(self, d_model, n_heads, rope):
        super().__init__()
        self.n_heads, self.rope = n_heads, rope
        for name in ("q", "k", "v", "o"):
            setattr(self, name, torch.nn.Linear(d_model, d_model, bias=False))

    def forward(self, x):
        b, t, c = x.shape
        heads = [p(x).reshape(b, t, self.n_heads, c // self.n_heads)
                 for p in (self.q, self.k, self.v)]
        q, k, v = heads
        if self.rope:
            q, k = rotary(q, 0), rotary(k, 0)
        out, _ = attention(q, k, v, True, 1.0)
        return self.o(out.reshape(b, t, c))


class FeedForward(torch.nn.Module):
    def __init__(self, d_model, d_ff, activation):
        super().__init__()
        self.activation = activation
        if activation == "swiglu":
            self.gate = torch.nn.Linear(d_model, d_ff, bias=False)
        self.up = torch.nn.Linear(d_model, d_ff, bias=False)
        self.down = torch.nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x):
        if self.activation == "swiglu":
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x)))


class Block(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = make_norm(cfg["norm"], cfg["d_model"])
        self.attn = Attention(cfg["d_model"], cfg["n_heads"], cfg["positions"] == "rope")
        self.ffn_norm = make_norm(cfg["norm"], cfg["d_model"])
        self.ffn = FeedForward(cfg["d_model"], cfg["d_ff"], cfg["activation"])

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.ffn(self.ffn_norm(x))


class Decoder(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = torch.nn.Embedding(cfg["vocab"], cfg["d_model"])
        if cfg["positions"] == "learned":
            self.positions = torch.nn.Embedding(cfg["context"], cfg["d_model"])
        self.blocks = torch.nn.ModuleList(Block(cfg) for _ in range(cfg["n_layers"]))
        self.norm = make_norm(cfg["norm"], cfg["d_model"])
        if not cfg["tie_embeddings"]:
            self.head = torch.nn.Linear(cfg["d_model"], cfg["vocab"], bias=False)

    def forward(self, ids):
        h = self.embed(ids)
        if self.cfg["positions"] == "learned":
            h = h + self.positions(torch.arange(ids.shape[1]))
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        return h @ self.embed.weight.T if self.cfg["tie_embeddings"] else self.head(h)


def randomise(model, seed):
    """Weights away from their neutral inits, so that every term of the gradient matters:
    norm weights 1 + N(0, 0.2^2), biases N(0, 0.1^2), embeddings N(0, 0.5^2), linear
    weights as PyTorch initialises them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name in ("embed.weight", "positions.weight"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))


def decoder_case(cfg, batch, time, seed):
    torch.manual_seed(seed)
    model = Decoder(cfg)
    randomise(model, seed + 1)
    gen = torch.Generator().manual_seed(seed + 2)
    ids = torch.randint(0, cfg["vocab"], (batch, time), generator=gen)
    targets = torch.randint(0, cfg["vocab"], (batch, time), generator=gen)
    logits = model(ids)
    loss = F.cross_entropy(logits.reshape(-1, cfg["vocab"]), targets.reshape(-1))
    loss.backward()
    named = dict(model.named_parameters())
    return {"config": cfg, "batch": batch, "time": time,
            "ids": ids.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "params": {n: flat(p) for n, p in named.items()},
            "param_shapes": {n: list(p.shape) for n, p in named.items()},
            "logits": flat(logits), "loss": float(loss),
            "grads": {n: flat(p.grad) for n, p in named.items()}}


def build_decoder():
    base = {"vocab": 11, "d_model": 16, "n_layers": 2, "n_heads": 2, "context": 8}
    variants = [
        # norm, positions, tie, activation (and its d_ff: SwiGLU at 2/3 of 32, to the 8)
        ("rms", "rope", False, "swiglu", 24, 8),
        ("layer", "learned", True, "gelu", 32, 8),
        ("rms", "learned", False, "gelu", 32, 5),     # shorter than the context
        ("layer", "rope", True, "swiglu", 24, 8),
    ]
    cases = []
    for i, (norm, positions, tie, activation, d_ff, time) in enumerate(variants):
        cfg = dict(base, norm=norm, positions=positions, tie_embeddings=tie,
                   activation=activation, d_ff=d_ff)
        cases.append(decoder_case(cfg, 2, time, 700 + 10 * i))
    return {"torch_version": torch.__version__, "cases": cases}


def main():
    for filename, build in {"sequence_ops.json": build_sequence_ops,
                            "decoder.json": build_decoder}.items():
        path = write_json(filename, build())
        print(f"{filename}: {os.path.getsize(path)} bytes")
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
