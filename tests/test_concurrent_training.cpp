// Thread safety: models trained on concurrent threads match the same models trained one after
// the other, a buffer may be released on another thread than the one that allocated it, and
// activations may be registered while other threads build and train models. Catch2's
// assertions are not thread-safe, so the threads only compute; the checks run on the main one.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "actlab/actlab.hpp"
#include "actlab/core/threads.hpp"
#include "actlab/train/config.hpp"
#include "actlab/train/train.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

// An MLP with dropout, whose masks come from the trainer's own generator.
Config mlp_with_dropout() {
  return parse_config({{"task", {{"name", "moons"}, {"n_train", 128}, {"n_test", 64}}},
                       {"model", {{"hidden", {16, 16}}, {"activation", "gelu"}, {"dropout", 0.2}}},
                       {"train", {{"epochs", 4}, {"batch_size", 32}, {"eval_every", 4}, {"seed", 3}}}});
}

// A residual FFN of gated (SwiGLU) blocks.
Config gated_ffn() {
  return parse_config(
      {{"task", {{"name", "spirals"}, {"n_train", 128}, {"n_test", 64}}},
       {"model", {{"kind", "ffn"}, {"block", "gated"}, {"d_model", 16}, {"d_ff", 24}, {"blocks", 2}}},
       {"train", {{"epochs", 4}, {"batch_size", 32}, {"eval_every", 4}, {"seed", 5}}}});
}

struct Trained {
  TrainResult result;
  std::vector<std::vector<float>> parameters;
};

// Trains on the calling thread with one thread for matrix products and loops: whether OpenBLAS
// splits a product, and so its bits, may depend on the thread count and the CPU.
Trained train(const Config& config) {
  set_num_threads(1);
  Trainer trainer(config);
  Trained t{trainer.run(), {}};
  for (const Tensor& p : trainer.model().parameters()) t.parameters.push_back(p.to_vector());
  return t;
}

void check_same(const Trained& concurrent, const Trained& sequential) {
  const auto& a = concurrent.result.history;
  const auto& b = sequential.result.history;
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() >= 2);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("evaluation " << i);
    CHECK(a[i].train_loss == b[i].train_loss);
    CHECK(a[i].test_loss == b[i].test_loss);
    CHECK(a[i].test_accuracy == b[i].test_accuracy);
  }
  CHECK(concurrent.parameters == sequential.parameters);  // every float, bit for bit
}

// d/dW sum(act(x W^T + b)) for fixed x, W, b: the activation's module comes from the registry.
std::vector<float> activation_gradient(const std::string& activation) {
  set_num_threads(1);
  Generator gen(11);
  const Tensor x = Tensor::randn({32, 8}, gen);
  const Tensor w = Tensor::randn({16, 8}, gen).set_requires_grad(true);
  const Tensor b = Tensor::randn({16}, gen).set_requires_grad(true);
  const auto act = nn::make_activation(activation);
  sum((*act)(linear(x, w, b))).backward();
  return w.grad().to_vector();
}

}  // namespace

TEST_CASE("two models trained on two threads at once match them trained one after the other",
          "[threads][train]") {
  const Config first = mlp_with_dropout();
  const Config second = gated_ffn();
  const Trained first_alone = train(first);
  const Trained second_alone = train(second);
  auto first_concurrent = std::async(std::launch::async, train, std::cref(first));
  auto second_concurrent = std::async(std::launch::async, train, std::cref(second));
  check_same(first_concurrent.get(), first_alone);
  check_same(second_concurrent.get(), second_alone);
}

TEST_CASE("a tensor made on one thread may be released on another", "[threads][memory]") {
  const int64_t live_before = memory::stats().live_buffers;
  Tensor made_on_a;
  std::thread([&] {
    Generator gen(1);
    made_on_a = Tensor::randn({64, 64}, gen);
  }).join();  // thread A has exited, and its buffer cache with it
  const std::vector<float> values = made_on_a.to_vector();
  CHECK(memory::stats().live_buffers == live_before + 1);

  struct OnB {
    std::vector<float> values;
    int64_t cached_after_release = 0;
    int64_t os_allocations_for_reuse = 0;
  } on_b;
  std::thread([&, handle = std::move(made_on_a)]() mutable {
    on_b.values = handle.to_vector();
    handle = Tensor();  // released here: the buffer joins thread B's cache
    on_b.cached_after_release = memory::stats().cached_buffers;
    const int64_t os_before = memory::stats().os_allocations;
    const Tensor reused = Tensor::zeros({64, 64});
    on_b.os_allocations_for_reuse = memory::stats().os_allocations - os_before;
  }).join();  // thread B's cache gives its buffers back to the OS as it exits
  CHECK(on_b.values == values);
  CHECK(on_b.cached_after_release == 1);
  CHECK(on_b.os_allocations_for_reuse == 0);
  CHECK(memory::stats().live_buffers == live_before);
}

TEST_CASE("forward and backward on two threads while a third registers activations",
          "[threads][activation][registry]") {
  const std::vector<float> gelu_alone = activation_gradient("gelu");
  const std::vector<float> silu_alone = activation_gradient("silu");
  constexpr int kRepeats = 50;
  constexpr int kRegistrations = 200;
  const auto repeat = [](const std::string& activation) {
    std::vector<std::vector<float>> grads;
    for (int i = 0; i < kRepeats; ++i) grads.push_back(activation_gradient(activation));
    return grads;
  };
  auto gelu_grads = std::async(std::launch::async, repeat, "gelu");
  auto silu_grads = std::async(std::launch::async, repeat, "silu");
  auto registered = std::async(std::launch::async, [] {
    for (int i = 0; i < kRegistrations; ++i)
      nn::register_activation(
          fmt::format("threads_test_{}", i),
          [](const json&) { return std::make_unique<nn::ReLU>(); }, "ReLU under another name");
  });
  registered.get();
  for (const auto& g : gelu_grads.get()) CHECK(g == gelu_alone);
  for (const auto& g : silu_grads.get()) CHECK(g == silu_alone);
  const std::vector<std::string> names = nn::activation_names();
  REQUIRE(names.size() >= kRegistrations);
  for (int i = 0; i < kRegistrations; ++i)
    CHECK(names[names.size() - kRegistrations + i] == fmt::format("threads_test_{}", i));
  CHECK(activation_gradient("threads_test_7") == activation_gradient("relu"));
}
