// Inverted dropout with a seeded mask: the scale is applied in training so that evaluation is
// the identity.
#include <fmt/format.h>

#include <cmath>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  if (!(p >= 0.f && p < 1.f))
    throw Error(fmt::format("dropout: probability must be in [0, 1), got {}", p));
  if (!training || p == 0.f) return x;
  const float keep_scale = 1.f / (1.f - p);
  Tensor mask = Tensor::empty(x.shape());  // 0 or 1 / (1 - p)
  float* m = mask.mutable_data();
  for (int64_t k = 0, n = x.numel(); k < n; ++k) m[k] = gen.uniform() < p ? 0.f : keep_scale;
  Tensor y = Tensor::empty(x.shape());
  const float* xv = x.data();
  float* yv = y.mutable_data();
  for (int64_t k = 0, n = x.numel(); k < n; ++k) yv[k] = xv[k] * m[k];
  record("dropout", y, {x}, [sm = save(mask)](const Tensor& g, GradSink& sink) {
    const float* gv = g.data();
    const float* mv = sm.data();
    sink.target(0).write(g.numel(), [&](int64_t k) { return gv[k] * mv[k]; });
  });
  return y;
}

}  // namespace actlab
