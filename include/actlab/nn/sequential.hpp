// Sequential (modules applied in order, named "0", "1", ... as in PyTorch) and Dropout.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "actlab/nn/module.hpp"

namespace actlab::nn {

class Sequential : public Module {
 public:
  Sequential() = default;

  // Appends a module; returns it, to keep a typed handle.
  template <class M>
  M& push_back(std::shared_ptr<M> module) {
    M& ref = *module;
    register_module(std::to_string(layers_.size()), module.get());
    layers_.push_back(std::move(module));
    return ref;
  }
  template <class M, class... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_shared<M>(std::forward<Args>(args)...));
  }

  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  size_t size() const { return layers_.size(); }
  Module& operator[](size_t i) { return *layers_.at(i); }

 protected:
  // The layers, one per line, under the given type name.
  std::string describe_as(const char* type_name) const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

class Dropout : public Module {
 public:
  // Zeroes elements with probability p in training (scaling the rest by 1/(1-p)), draws from
  // its own generator, seeded from `gen` at construction.
  explicit Dropout(float p = 0.5f, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float p() const { return p_; }
  Generator& generator() { return gen_; }

 private:
  float p_;
  Generator gen_;
};

}  // namespace actlab::nn
