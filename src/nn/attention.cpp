// CausalSelfAttention: project, split into heads by reshaping (a view: the attention op reads
// [batch, time, heads, head_dim] as it lies), rotate q and k, attend, merge, project.
#include "actlab/nn/attention.hpp"

#include <fmt/format.h>

#include "actlab/ops/ops.hpp"

namespace actlab::nn {
namespace {

// d_model, once it is known to split into n_heads heads (before any weight is drawn).
int64_t checked_d_model(int64_t d_model, int64_t n_heads, bool rope) {
  if (d_model <= 0 || n_heads <= 0 || d_model % n_heads != 0)
    throw Error(fmt::format("CausalSelfAttention: n_heads {} does not divide d_model {}", n_heads,
                            d_model));
  if (rope && (d_model / n_heads) % 2 != 0)
    throw Error(fmt::format("CausalSelfAttention: rope needs an even head size, got d_model / "
                            "n_heads = {} / {} = {}",
                            d_model, n_heads, d_model / n_heads));
  return d_model;
}

}  // namespace

CausalSelfAttention::CausalSelfAttention(int64_t d_model, int64_t n_heads, bool rope,
                                         Generator& gen)
    : q(checked_d_model(d_model, n_heads, rope), d_model, false, gen),
      k(d_model, d_model, false, gen),
      v(d_model, d_model, false, gen),
      o(d_model, d_model, false, gen),
      n_heads_(n_heads),
      rope_(rope) {
  register_module("q", &q);
  register_module("k", &k);
  register_module("v", &v);
  register_module("o", &o);
}

Tensor CausalSelfAttention::forward(const Tensor& x) {
  if (x.dim() != 3 || x.size(2) != q.in_features())
    throw Error(fmt::format("CausalSelfAttention: input of shape {} must be [batch, time, {}]",
                            x.shape().str(), q.in_features()));
  const int64_t batch = x.size(0), time = x.size(1), d_model = x.size(2);
  const std::vector<int64_t> heads{batch, time, n_heads_, head_dim()};
  Tensor qh = reshape(q(x), heads);
  Tensor kh = reshape(k(x), heads);
  Tensor vh = reshape(v(x), heads);
  if (rope_) {
    qh = rotary_embedding(qh);
    kh = rotary_embedding(kh);
  }
  Tensor* keep = keep_attention ? &attention : nullptr;
  Tensor merged = scaled_dot_product_attention(qh, kh, vh, true, temperature, keep);
  return o(reshape(merged, {batch, time, d_model}));
}

std::string CausalSelfAttention::describe() const {
  return fmt::format("CausalSelfAttention(d_model={}, n_heads={}, rope={})", q.in_features(),
                     n_heads_, rope_);
}

}  // namespace actlab::nn
