// layer_norm and rms_norm over the last dimension, one kernel with a flag: LayerNorm centres
// each row (mean mu), RMSNorm does not (mu = 0); both then scale by rstd = 1 / sqrt(mean((x -
// mu)^2) + eps) and by a per-channel weight (plus LayerNorm's optional bias). Forward keeps
// each row's mu and rstd, as llm.c's layernorm_forward does, so backward is one pass per row
// for its two sums and one to write:
//   xhat = (x - mu) rstd,  gw = g * weight,
//   dx = rstd (gw - [centred] mean(gw) - xhat mean(gw xhat)),  dweight += g xhat,  dbias += g.
// Rows with a large mean and a small spread (x = 1000 + noise) are the hazard: row statistics
// are summed in double, and mu is kept as two floats, mu_hi + mu_lo, so that x - mu_hi is exact
// (Sterbenz: x and mu_hi within a factor 2) and xhat keeps float32 accuracy. A single float mu
// would be off by up to ulp(1000) / 2 = 3e-5, 0.3% of a spread of 0.01; PyTorch 1.13's float32
// kernel loses more (its backward forms x * rstd ~ 1e5 and subtracts).
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

void check_norm_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                     float eps) {
  const bool ok = x.dim() >= 1 && weight.defined() && weight.dim() == 1 &&
                  weight.size(0) == x.size(-1) &&
                  (!bias.defined() || bias.shape() == weight.shape());
  if (!ok)
    throw Error(fmt::format("{}: input {}, weight {} and bias {} do not fit: expected [..., d], "
                            "[d], [d]",
                            op, x.shape().str(), weight.defined() ? weight.shape().str() : "none",
                            bias.defined() ? bias.shape().str() : "none"));
  if (!(eps >= 0.f)) throw Error(fmt::format("{}: eps must be >= 0, got {}", op, eps));
}

// A row's mean as mu_hi + mu_lo (0 when not centred) and its rstd; what backward keeps.
struct RowStats {
  float mu_hi;
  float mu_lo;
  float rstd;
  float xhat(float x) const { return ((x - mu_hi) - mu_lo) * rstd; }
};
constexpr int64_t kStatsPerRow = 3;

RowStats row_stats(const float* x, int64_t d, bool centred, float eps) {
  double mu = 0.0;
  if (centred) {
    for (int64_t j = 0; j < d; ++j) mu += x[j];
    mu /= static_cast<double>(d);
  }
  double var = 0.0;
  for (int64_t j = 0; j < d; ++j) var += (x[j] - mu) * (x[j] - mu);
  var /= static_cast<double>(d);
  const float mu_hi = static_cast<float>(mu);
  return {mu_hi, static_cast<float>(mu - mu_hi), static_cast<float>(1.0 / std::sqrt(var + eps))};
}

Tensor normalize(const char* op, bool centred, const Tensor& x, const Tensor& weight,
                 const Tensor& bias, float eps) {
  check_norm_args(op, x, weight, bias, eps);
  const int64_t d = x.size(-1);
  const int64_t rows = x.numel() / d;
  Tensor y = Tensor::empty(x.shape());
  Tensor stats = Tensor::empty({rows, kStatsPerRow});
  const float* xv = x.data();
  const float* w = weight.data();
  const float* b = bias.defined() ? bias.data() : nullptr;
  float* yv = y.mutable_data();
  float* sv = stats.mutable_data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xv + r * d;
    float* yr = yv + r * d;
    const RowStats s = row_stats(xr, d, centred, eps);
    float* kept = sv + r * kStatsPerRow;
    kept[0] = s.mu_hi;
    kept[1] = s.mu_lo;
    kept[2] = s.rstd;
    for (int64_t j = 0; j < d; ++j) yr[j] = s.xhat(xr[j]) * w[j] + (b ? b[j] : 0.f);
  }

  record(op, y, {x, weight, bias},
         [sx = save(x), sw = save(weight), ss = save(stats), centred, rows, d](const Tensor& g,
                                                                                GradSink& sink) {
           const float* xv = sx.data();
           const float* w = sw.data();
           const float* sv = ss.data();
           const float* gv = g.data();
           // dweight and dbias are summed here and added at the end, so that an input that is
           // also the weight (a 1-D x) still gets dx written before dweight is added.
           std::vector<double> dw(static_cast<size_t>(d), 0.0);
           std::vector<double> db(static_cast<size_t>(d), 0.0);
           const bool want_dx = sink.needs(0);
           const GradSink::Target dx = want_dx ? sink.target(0) : GradSink::Target{nullptr, false};
           for (int64_t r = 0; r < rows; ++r) {
             const float* xr = xv + r * d;
             const float* gr = gv + r * d;
             const RowStats s{sv[r * kStatsPerRow], sv[r * kStatsPerRow + 1],
                              sv[r * kStatsPerRow + 2]};
             double mean_gw = 0.0;
             double mean_gw_xhat = 0.0;
             for (int64_t j = 0; j < d; ++j) {
               const float xhat = s.xhat(xr[j]);
               mean_gw += gr[j] * w[j];
               mean_gw_xhat += gr[j] * w[j] * xhat;
               dw[j] += gr[j] * xhat;
               db[j] += gr[j];
             }
             if (!want_dx) continue;
             const float a = centred ? static_cast<float>(mean_gw / d) : 0.f;
             const float c = static_cast<float>(mean_gw_xhat / d);
             const GradSink::Target row{dx.data + r * d, dx.accumulate};
             row.write(d, [=](int64_t j) {
               return s.rstd * (gr[j] * w[j] - a - s.xhat(xr[j]) * c);
             });
           }
           if (sink.needs(1))
             sink.target(1).write(d, [&dw](int64_t j) { return static_cast<float>(dw[j]); });
           if (sink.needs(2))
             sink.target(2).write(d, [&db](int64_t j) { return static_cast<float>(db[j]); });
         });
  return y;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  return normalize("layer_norm", true, x, weight, bias, eps);
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  return normalize("rms_norm", false, x, weight, Tensor(), eps);
}

}  // namespace actlab
