// Sequential and Dropout modules.
#include "actlab/nn/sequential.hpp"

#include <fmt/format.h>

#include "actlab/ops/ops.hpp"

namespace actlab::nn {

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& layer : layers_) h = (*layer)(h);
  return h;
}

std::string Sequential::describe() const { return describe_as("Sequential"); }

std::string Sequential::describe_as(const char* type_name) const {
  std::string out = std::string(type_name) + "(";
  for (size_t i = 0; i < layers_.size(); ++i)
    out += fmt::format("{}\n  ({}): {}", i == 0 ? "" : ",", i, layers_[i]->describe());
  return out + (layers_.empty() ? ")" : "\n)");
}

Dropout::Dropout(float p, Generator& gen) : p_(p), gen_(gen.next_u32()) {
  if (!(p >= 0.f && p < 1.f))
    throw Error(fmt::format("Dropout: probability must be in [0, 1), got {}", p));
  register_generator("generator", &gen_);
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), gen_); }

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

}  // namespace actlab::nn
