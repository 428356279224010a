// nn::Module: parameter and child registries, train/eval, forward hooks.
#include "actlab/nn/module.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "actlab/core/anomaly.hpp"
#include "actlab/core/autograd.hpp"

namespace actlab {

namespace {
thread_local Generator* scoped_generator = nullptr;  // set by DefaultGeneratorScope
}  // namespace

Generator& default_generator() {
  thread_local Generator gen(0);
  return scoped_generator != nullptr ? *scoped_generator : gen;
}

detail::DefaultGeneratorScope::DefaultGeneratorScope(Generator& gen) : previous_(scoped_generator) {
  scoped_generator = &gen;
}
detail::DefaultGeneratorScope::~DefaultGeneratorScope() { scoped_generator = previous_; }

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

namespace nn {
namespace {

// The dotted name of `m` called from its parent's forward, as named_modules() gives it; a
// module its parent did not register is named "?" under it.
std::string dotted_name(const Module& m, const detail::ModuleFrame* parent) {
  if (parent == nullptr) return "";
  std::string name = "?";
  for (const auto& [child_name, child] : parent->module->named_children())
    if (child == &m) {
      name = child_name;
      break;
    }
  return parent->name.empty() ? name : parent->name + "." + name;
}

// describe() on one line: a container's describe() lists its children on the lines after its
// type name ("MLP(\n  (0): Linear(...)..."), and only the type name is kept.
std::string one_line_description(const Module& m) {
  std::string d = m.describe();
  const size_t newline = d.find('\n');
  if (newline == std::string::npos) return d;
  d.resize(newline);
  if (d.ends_with('(')) d.pop_back();
  return d;
}

// In anomaly mode, puts a module on the thread's stack of running modules for the scope of
// its forward, so that an anomaly can name it.
class RunningModule {
 public:
  explicit RunningModule(const Module& m) : tracked_(is_anomaly_enabled()) {
    if (!tracked_) return;
    const detail::ModuleFrame* parent = detail::innermost_module().get();
    detail::enter_module(std::make_shared<const detail::ModuleFrame>(
        detail::ModuleFrame{&m, dotted_name(m, parent), one_line_description(m)}));
  }
  ~RunningModule() {
    if (tracked_) detail::leave_module();
  }
  RunningModule(const RunningModule&) = delete;
  RunningModule& operator=(const RunningModule&) = delete;

 private:
  bool tracked_;
};

}  // namespace

Tensor Module::operator()(const Tensor& x) {
  Tensor y;
  {
    const RunningModule running(*this);
    y = forward(x);
  }
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
