// The losses of loss.hpp. Each computes its mean in one sweep over its inputs (cross_entropy
// works row by row: max, exp and sum, normalise), records one node, and writes each input's
// gradient in one pass in backward. Sums run in double: a loss averages many terms, and
// float32 sums of thousands of them would drift in the last digits.
#include "actlab/ops/loss.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/core/autograd.hpp"

namespace actlab {
namespace {

// Losses here compare two tensors element by element: no broadcasting (a silently broadcast
// target is a classic bug, which PyTorch only warns about) and no empty mean.
void check_pair(const char* op, const char* a_name, const Tensor& a, const char* b_name,
                const Tensor& b) {
  if (a.shape() != b.shape())
    throw Error(fmt::format("{}: {} of shape {} and {} of shape {} must have the same shape",
                            op, a_name, a.shape().str(), b_name, b.shape().str()));
  if (a.numel() == 0)
    throw Error(fmt::format("{}: {} of shape {} has no elements to average", op, a_name,
                            a.shape().str()));
}

// ---- mse_loss ------------------------------------------------------------------------------

double squared_error_sum(const float* pred, const float* target, int64_t n) {
  double total = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double d = static_cast<double>(pred[k]) - target[k];
    total += d * d;
  }
  return total;
}

// ---- cross_entropy -------------------------------------------------------------------------

// The rows that count (target != ignore_index); throws when there are none.
void check_cross_entropy_args(const Tensor& logits, const std::vector<int64_t>& targets,
                              float label_smoothing, int64_t ignore_index) {
  const Shape& shape = logits.shape();
  if (shape.size() != 2)
    throw Error(fmt::format("cross_entropy: logits must be 2-D [N, C], got shape {}", shape.str()));
  if (!(label_smoothing >= 0.f && label_smoothing <= 1.f))
    throw Error(fmt::format("cross_entropy: label_smoothing must be in [0, 1], got {}",
                            label_smoothing));
  if (static_cast<int64_t>(targets.size()) != shape[0])
    throw Error(fmt::format("cross_entropy: {} targets for logits of shape {}: expected one per "
                            "row ({})",
                            targets.size(), shape.str(), shape[0]));
  if (shape[0] == 0)
    throw Error(fmt::format("cross_entropy: logits of shape {} have no rows to average",
                            shape.str()));
  int64_t scored = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == ignore_index) continue;
    ++scored;
    if (targets[i] < 0 || targets[i] >= shape[1])
      throw Error(fmt::format("cross_entropy: target {} at row {} is out of range for {} classes "
                              "(logits of shape {})",
                              targets[i], i, shape[1], shape.str()));
  }
  if (scored == 0)
    throw Error(fmt::format("cross_entropy: every one of the {} targets is ignore_index ({}): no "
                            "rows to average",
                            targets.size(), ignore_index));
}

// One row of C logits x with target class t: writes softmax(x) into p and returns
// -sum_j q_j log softmax(x)_j with q = (1 - eps) onehot(t) + eps / C. With m = max x and
// s_j = x_j - m (all <= 0, so exp cannot overflow), log softmax(x)_j = s_j - log sum_k e^{s_k},
// and the loss is log sum_k e^{s_k} - (1 - eps) s_t - (eps / C) sum_j s_j.
float softmax_cross_entropy_row(const float* x, int64_t C, int64_t t, float eps, float* p) {
  const float m = *std::max_element(x, x + C);
  float sum_exp = 0.f;
  float sum_shifted = 0.f;
  for (int64_t j = 0; j < C; ++j) {
    const float s = x[j] - m;
    p[j] = std::exp(s);
    sum_exp += p[j];
    sum_shifted += s;
  }
  const float inv_sum = 1.f / sum_exp;
  for (int64_t j = 0; j < C; ++j) p[j] *= inv_sum;
  return std::log(sum_exp) - (1.f - eps) * (x[t] - m) -
         eps / static_cast<float>(C) * sum_shifted;
}

// ---- binary_cross_entropy_with_logits ------------------------------------------------------

// log(1 + e) for e in [0, 1] within 3 ulp (checked over every float there), by Kahan's trick
// (Goldberg 1991, "What every computer scientist should know about floating-point
// arithmetic", Theorem 4): glibc 2.36's log1pf is about three times slower than its logf.
float log1p_unit(float e) {
  const float u = 1.f + e;
  return u == 1.f ? e : std::log(u) * e / (u - 1.f);
}

// -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), rewritten so that exp only sees -|x| <= 0.
float bce_with_logits(float x, float t) {
  return std::max(x, 0.f) - x * t + log1p_unit(std::exp(-std::abs(x)));
}

// 1 / (1 + e^-x), with exp evaluated only at -|x| so that no intermediate overflows.
float sigmoid(float x) {
  const float e = std::exp(-std::abs(x));
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  check_pair("mse_loss", "pred", pred, "target", target);
  const int64_t n = pred.numel();
  Tensor out = Tensor::scalar(
      static_cast<float>(squared_error_sum(pred.data(), target.data(), n) / static_cast<double>(n)));
  record("mse_loss", out, {pred, target},
         [sp = save(pred), st = save(target), n](const Tensor& g, GradSink& sink) {
           const float scale = 2.f * g.data()[0] / static_cast<float>(n);
           const float* p = sp.data();
           const float* t = st.data();
           if (sink.needs(0))  // dpred = 2 (pred - target) / n
             sink.target(0).write(n, [p, t, scale](int64_t k) { return scale * (p[k] - t[k]); });
           if (sink.needs(1))  // dtarget = -dpred
             sink.target(1).write(n, [p, t, scale](int64_t k) { return scale * (t[k] - p[k]); });
         });
  return out;
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets,
                     float label_smoothing, int64_t ignore_index) {
  check_cross_entropy_args(logits, targets, label_smoothing, ignore_index);
  const int64_t N = logits.size(0);
  const int64_t C = logits.size(1);
  const float eps = label_smoothing;
  // The softmax is computed on the way to the loss anyway; keeping it makes backward one
  // pass with no exp. An ignored row's stays unset: backward writes 0 there.
  Tensor probs = Tensor::empty({N, C});
  const float* x = logits.data();
  float* p = probs.mutable_data();
  double total = 0.0;
  int64_t scored = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[static_cast<size_t>(i)] == ignore_index) continue;
    total += softmax_cross_entropy_row(x + i * C, C, targets[static_cast<size_t>(i)], eps, p + i * C);
    ++scored;
  }
  Tensor out = Tensor::scalar(static_cast<float>(total / static_cast<double>(scored)));
  record("cross_entropy", out, {logits},
         [sp = save(probs), targets, eps, ignore_index, scored, C](const Tensor& g,
                                                                   GradSink& sink) {
           const float scale = g.data()[0] / static_cast<float>(scored);
           const float q_off = eps / static_cast<float>(C);  // q_j for j != target
           const float q_on_extra = 1.f - eps;               // q_target - q_off
           const float* p = sp.data();
           const GradSink::Target dx = sink.target(0);
           for (size_t i = 0; i < targets.size(); ++i) {  // dlogits = (softmax - q) / N, by row
             const auto row_start = static_cast<int64_t>(i) * C;
             const GradSink::Target row{dx.data + row_start, dx.accumulate};
             const int64_t t = targets[i];
             if (t == ignore_index) {
               row.write(C, [](int64_t) { return 0.f; });
               continue;
             }
             const float* pi = p + row_start;
             row.write(C, [&](int64_t j) {
               return scale * (pi[j] - q_off - (j == t ? q_on_extra : 0.f));
             });
           }
         });
  return out;
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets) {
  check_pair("binary_cross_entropy_with_logits", "logits", logits, "targets", targets);
  const int64_t n = logits.numel();
  const float* x = logits.data();
  const float* t = targets.data();
  double total = 0.0;
  for (int64_t k = 0; k < n; ++k) total += bce_with_logits(x[k], t[k]);
  Tensor out = Tensor::scalar(static_cast<float>(total / static_cast<double>(n)));
  record("binary_cross_entropy_with_logits", out, {logits, targets},
         [sx = save(logits), st = save(targets), n](const Tensor& g, GradSink& sink) {
           const float scale = g.data()[0] / static_cast<float>(n);
           const float* xv = sx.data();
           const float* tv = st.data();
           if (sink.needs(0))  // dlogits = (sigmoid(x) - t) / n
             sink.target(0).write(n, [xv, tv, scale](int64_t k) {
               return scale * (sigmoid(xv[k]) - tv[k]);
             });
           if (sink.needs(1))  // dtargets = -x / n
             sink.target(1).write(n, [xv, scale](int64_t k) { return -scale * xv[k]; });
         });
  return out;
}

}  // namespace actlab
