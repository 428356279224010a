// rotary_embedding (RoPE, Su et al. 2021, as Llama applies it to queries and keys): channel
// pairs (2i, 2i+1) of each head are rotated by the angle p theta_i, where p is the token's
// position and theta_i = base^(-2i / head_dim). This is the interleaved pairing of Meta's Llama
// code (view_as_complex on adjacent channels); Hugging Face's rotate_half pairs i with
// i + head_dim/2 instead, a permutation of the same channels. A rotation is orthogonal, so
// backward rotates the gradient by -p theta_i.
#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "actlab/core/autograd.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {
namespace {

// cos and sin of p theta_i for p in [offset, offset + time), i in [0, half): [time, half]
// each, computed in double so that large positions keep their angle exact to float precision.
struct Angles {
  std::vector<float> cos;
  std::vector<float> sin;
};

Angles rotary_angles(int64_t time, int64_t head_dim, int64_t offset, float base) {
  const int64_t half = head_dim / 2;
  Angles a{std::vector<float>(time * half), std::vector<float>(time * half)};
  for (int64_t t = 0; t < time; ++t)
    for (int64_t i = 0; i < half; ++i) {
      const double theta = std::pow(static_cast<double>(base),
                                    -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double angle = static_cast<double>(offset + t) * theta;
      a.cos[t * half + i] = static_cast<float>(std::cos(angle));
      a.sin[t * half + i] = static_cast<float>(std::sin(angle));
    }
  return a;
}

// Rotates each pair of x [batch, time, heads, head_dim] by `direction` (1 or -1) times its
// angle, into y (assigned or added).
void rotate(const float* x, const Shape& shape, const Angles& a, float direction, float* y,
            bool accumulate) {
  const int64_t batch = shape[0], time = shape[1], heads = shape[2], half = shape[3] / 2;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < time; ++t) {
      const float* c = a.cos.data() + t * half;
      const float* s = a.sin.data() + t * half;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t at = ((b * time + t) * heads + h) * 2 * half;
        const float* xp = x + at;
        float* yp = y + at;
        for (int64_t i = 0; i < half; ++i) {
          const float x0 = xp[2 * i], x1 = xp[2 * i + 1], sn = direction * s[i];
          const float y0 = x0 * c[i] - x1 * sn;
          const float y1 = x0 * sn + x1 * c[i];
          yp[2 * i] = accumulate ? yp[2 * i] + y0 : y0;
          yp[2 * i + 1] = accumulate ? yp[2 * i + 1] + y1 : y1;
        }
      }
    }
}

}  // namespace

Tensor rotary_embedding(const Tensor& x, int64_t position_offset, float base) {
  if (x.dim() != 4 || x.size(3) % 2 != 0)
    throw Error(fmt::format("rotary_embedding: input of shape {} must be [batch, time, heads, "
                            "head_dim] with an even head_dim",
                            x.shape().str()));
  if (position_offset < 0 || !(base > 0.f))
    throw Error(fmt::format("rotary_embedding: position_offset must be >= 0 and base > 0, got {} "
                            "and {}",
                            position_offset, base));
  Angles angles = rotary_angles(x.size(1), x.size(3), position_offset, base);
  Tensor y = Tensor::empty(x.shape());
  rotate(x.data(), x.shape(), angles, 1.f, y.mutable_data(), false);
  record("rotary_embedding", y, {x},
         [angles = std::move(angles), shape = x.shape()](const Tensor& g, GradSink& sink) {
           const GradSink::Target dx = sink.target(0);
           rotate(g.data(), shape, angles, -1.f, dx.data, dx.accumulate);
         });
  return y;
}

}  // namespace actlab
