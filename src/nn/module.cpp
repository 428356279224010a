// nn::Module: parameter and child registries, train/eval, forward hooks.
#include "actlab/nn/module.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace actlab {

Generator& default_generator() {
  thread_local Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

namespace nn {

Tensor Module::operator()(const Tensor& x) {
  Tensor y = forward(x);
  for (auto& [id, hook] : hooks_) hook(*this, x, y);
  return y;
}

void Module::register_parameter(std::string name, Tensor* parameter) {
  if (!parameter->defined())
    throw Error(fmt::format("register_parameter: '{}' is undefined", name));
  parameter->set_requires_grad(true);
  parameters_.emplace_back(std::move(name), parameter);
}

void Module::register_module(std::string name, Module* child) {
  children_.emplace_back(std::move(name), child);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, p] : parameters_) out.emplace_back(name, *p);
  for (const auto& [prefix, child] : children_)
    for (auto& [name, p] : child->named_parameters()) out.emplace_back(prefix + "." + name, p);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

void Module::register_generator(std::string name, Generator* gen) {
  generators_.emplace_back(std::move(name), gen);
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() {
  std::vector<std::pair<std::string, Generator*>> out = generators_;
  for (const auto& [prefix, child] : children_)
    for (auto& [name, gen] : child->named_generators()) out.emplace_back(prefix + "." + name, gen);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [prefix, child] : children_)
    for (auto& [name, m] : child->named_modules())
      out.emplace_back(name.empty() ? prefix : prefix + "." + name, m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

int Module::add_forward_hook(ForwardHook hook) {
  hooks_.emplace_back(next_hook_id_, std::move(hook));
  return next_hook_id_++;
}

void Module::remove_forward_hook(int id) {
  std::erase_if(hooks_, [id](const auto& entry) { return entry.first == id; });
}

int64_t count_parameters(const Module& module) {
  int64_t n = 0;
  for (const auto& [name, p] : module.named_parameters()) n += p.numel();
  return n;
}

}  // namespace nn
}  // namespace actlab
