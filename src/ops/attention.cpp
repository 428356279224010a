// scaled_dot_product_attention on [batch, time, heads, head_dim], the layout the q, k and v
// projections produce, so no head is ever copied out: for each (batch, head) the head's
// columns are a [time, head_dim] matrix with row stride heads * head_dim, which sgemm reads as
// it lies. As llm.c's attention_forward, the softmax probabilities are computed in place in
// the scores buffer and kept for backward. Shapes: B batch, Tq query and Tk key positions,
// H heads, D head_dim; P [B, H, Tq, Tk].
//   forward:  S = Q K^T;  P = softmax(S / (sqrt(D) T)) over the keys each query may see;
//             O = P V
//   backward: dP = dO V^T;  dS = P (dP - sum(dP P)) / (sqrt(D) T);
//             dQ = dS K;  dK = dS^T Q;  dV = P^T dO
// With is_causal, query i sits at position Tk - Tq + i (the last Tq of the Tk positions, as
// when new tokens attend to a cache of earlier ones) and sees keys 0 .. Tk - Tq + i; the
// masked probabilities are exactly 0.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/detail/parallel.hpp"
#include "actlab/ops/ops.hpp"
#include "kernels/blas.hpp"
#include "kernels/softmax.hpp"

namespace actlab {
namespace {

struct AttentionDims {
  int64_t batch, q_time, k_time, heads, head_dim;
  bool causal;
  int64_t row_stride() const { return heads * head_dim; }  // between time steps of one head
  // The number of keys query i sees.
  int64_t visible(int64_t i) const { return causal ? k_time - q_time + i + 1 : k_time; }
  // Offsets of head h of batch b in q (or dO), in k and v, and in P.
  int64_t q_at(int64_t b, int64_t h) const { return b * q_time * row_stride() + h * head_dim; }
  int64_t k_at(int64_t b, int64_t h) const { return b * k_time * row_stride() + h * head_dim; }
  int64_t p_at(int64_t b, int64_t h) const { return (b * heads + h) * q_time * k_time; }
};

AttentionDims attention_dims(const Tensor& q, const Tensor& k, const Tensor& v, bool is_causal,
                             float temperature) {
  const bool ok = q.dim() == 4 && k.dim() == 4 && k.shape() == v.shape() &&
                  q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3) &&
                  q.size(3) > 0;
  if (!ok)
    throw Error(fmt::format("scaled_dot_product_attention: q {}, k {} and v {} do not fit: "
                            "expected [batch, time, heads, head_dim] each, k and v of one shape",
                            q.shape().str(), k.shape().str(), v.shape().str()));
  if (is_causal && q.size(1) > k.size(1))
    throw Error(fmt::format("scaled_dot_product_attention: causal attention of {} queries to {} "
                            "keys: queries must not outnumber keys",
                            q.size(1), k.size(1)));
  if (!(temperature > 0.f))
    throw Error(fmt::format("scaled_dot_product_attention: temperature must be > 0, got {}",
                            temperature));
  return {q.size(0), q.size(1), k.size(1), q.size(2), q.size(3), is_causal};
}

// softmax(S / scale) in place over each row's visible keys; the masked rest become 0.
void masked_softmax(float* p, const AttentionDims& d, float scale) {
  for (int64_t i = 0; i < d.q_time; ++i) {
    float* row = p + i * d.k_time;
    const int64_t n = d.visible(i);
    kernels::softmax_rows(row, 1, n, scale, row);
    std::fill(row + n, row + d.k_time, 0.f);
  }
}

// dP -> dS in place, row by row, from the probabilities; masked entries get 0.
void masked_softmax_backward(const float* p, float* dp, const AttentionDims& d, float scale) {
  for (int64_t i = 0; i < d.q_time; ++i) {
    float* row = dp + i * d.k_time;
    const int64_t n = d.visible(i);
    kernels::softmax_rows_backward(p + i * d.k_time, row, 1, n, scale, row, false);
    std::fill(row + n, row + d.k_time, 0.f);
  }
}

// f(b, h) for every (batch, head), the heads split over the threads: one parallel region per
// call rather than one inside each of the batch * heads small products (each waking the other
// threads, which costs most on a busy machine), and the softmax rows go parallel with them.
// Each head's products and softmax touch only its own columns and rows, and a product inside a
// parallel region runs on its calling thread (OpenBLAS's OpenMP build).
// parallel_for cuts its range at multiples of 16 (a line of floats); counting each head as 16
// units lets it cut between any two heads, so that even 4 heads split.
template <class F>
void for_each_head(const AttentionDims& d, const F& f) {
  constexpr int64_t kUnits = 16;
  const int64_t work = d.q_time * d.k_time * d.head_dim;  // per head, about its flops / 2
  detail::parallel_for(d.batch * d.heads * kUnits, work / kUnits,
                       [f, heads = d.heads](int64_t begin, int64_t end) {
                         for (int64_t i = begin / kUnits; i < end / kUnits; ++i)
                           f(i / heads, i % heads);
                       });
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool is_causal, float temperature, Tensor* attention) {
  const AttentionDims d = attention_dims(q, k, v, is_causal, temperature);
  const float scale = std::sqrt(static_cast<float>(d.head_dim)) * temperature;
  const int64_t ld = d.row_stride();
  Tensor probs = Tensor::empty({d.batch, d.heads, d.q_time, d.k_time});
  Tensor out = Tensor::empty(q.shape());
  for_each_head(d, [d, scale, ld, qv = q.data(), kv = k.data(), vv = v.data(),
                   pv = probs.mutable_data(), ov = out.mutable_data()](int64_t b, int64_t h) {
    float* p = pv + d.p_at(b, h);  // [Tq, Tk]
    kernels::gemm(false, true, d.q_time, d.k_time, d.head_dim, qv + d.q_at(b, h), ld,
                  kv + d.k_at(b, h), ld, 0.f, p, d.k_time);  // S = Q K^T
    masked_softmax(p, d, scale);
    kernels::gemm(false, false, d.q_time, d.head_dim, d.k_time, p, d.k_time, vv + d.k_at(b, h),
                  ld, 0.f, ov + d.q_at(b, h), ld);  // O = P V
  });
  if (attention) *attention = probs;

  record("scaled_dot_product_attention", out, {q, k, v},
         [sq = save(q), sk = save(k), sv = save(v), sp = save(probs), d, scale](
             const Tensor& g, GradSink& sink) {
           const int64_t ld = d.row_stride();
           // Taken in input order: when q, k and v are one tensor, its buffer is fresh for dQ
           // and accumulating after, and each head below writes dQ before adding dK and dV.
           const auto target = [&](int i) {
             return sink.needs(i) ? sink.target(i) : GradSink::Target{nullptr, false};
           };
           const GradSink::Target dq = target(0), dk = target(1), dv = target(2);
           const auto beta = [](const GradSink::Target& t) { return t.accumulate ? 1.f : 0.f; };
           // dS of every head, so that heads run in parallel without sharing a buffer.
           Tensor ds_buffer = Tensor::empty({d.batch, d.heads, d.q_time, d.k_time});
           for_each_head(d, [=, qv = sq.data(), kv = sk.data(), vv = sv.data(), pv = sp.data(),
                             gv = g.data(), dsv = ds_buffer.mutable_data()](int64_t b, int64_t h) {
             const int64_t qo = d.q_at(b, h), ko = d.k_at(b, h);
             const float* p = pv + d.p_at(b, h);
             const float* go = gv + qo;
             float* ds = dsv + d.p_at(b, h);
             kernels::gemm(false, true, d.q_time, d.k_time, d.head_dim, go, ld, vv + ko, ld, 0.f,
                           ds, d.k_time);  // dP = dO V^T
             masked_softmax_backward(p, ds, d, scale);
             if (dq.data)  // dQ = dS K
               kernels::gemm(false, false, d.q_time, d.head_dim, d.k_time, ds, d.k_time, kv + ko,
                             ld, beta(dq), dq.data + qo, ld);
             if (dk.data)  // dK = dS^T Q
               kernels::gemm(true, false, d.k_time, d.head_dim, d.q_time, ds, d.k_time, qv + qo,
                             ld, beta(dk), dk.data + ko, ld);
             if (dv.data)  // dV = P^T dO
               kernels::gemm(true, false, d.k_time, d.head_dim, d.q_time, p, d.k_time, go, ld,
                             beta(dv), dv.data + ko, ld);
           });
         });
  return out;
}

}  // namespace actlab
