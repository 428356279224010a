// One threading model: OpenBLAS's OpenMP build and actlab's parallel loops on one OpenMP pool.
// The thread count reaches both; a loop's chunks cover it exactly once; elementwise results
// and sums are bit-identical at 1 and 2 threads; training repeats bit for bit at 2 threads.
#include <catch2/catch.hpp>
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "actlab/actlab.hpp"
#include "actlab/core/threads.hpp"
#include "actlab/detail/parallel.hpp"
#include "actlab/train/train.hpp"
#include "kernels/activations.hpp"

using namespace actlab;
using nlohmann::json;

namespace {

// Runs f at `threads` threads and puts the caller's count back.
template <class F>
auto at_threads(int threads, F f) {
  const int before = num_threads();
  set_num_threads(threads);
  auto result = f();
  set_num_threads(before);
  return result;
}

std::vector<float> values(const Tensor& t) { return {t.data(), t.data() + t.numel()}; }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// An elementwise size well above the serial threshold (2^18 floats).
constexpr int64_t kLarge = int64_t{1} << 18;

}  // namespace

TEST_CASE("matrix products run on OpenBLAS's OpenMP build", "[threads]") {
  CHECK(openblas_get_parallel() == OPENBLAS_OPENMP);
}

TEST_CASE("set_num_threads sets OpenBLAS's and OpenMP's count for the calling thread",
          "[threads]") {
  const int before = num_threads();
  set_num_threads(2);
  CHECK(num_threads() == 2);
  CHECK(openblas_get_num_threads() == 2);
  int inside = 0;
  std::thread other([&] {
    set_num_threads(1);
    inside = num_threads();
  });
  other.join();
  CHECK(inside == 1);
  CHECK(num_threads() == 2);  // another thread's setting is its own
  set_num_threads(before);
  CHECK_THROWS_WITH(set_num_threads(0), "set_num_threads: expected at least 1 thread, got 0");
}

TEST_CASE("parallel_for covers every index once, in chunks aligned to 16", "[threads]") {
  const int64_t min_work = detail::kParallelMinWork;
  for (const int threads : {1, 2, 3}) {
    for (const int64_t n : {int64_t{0}, int64_t{1}, 2 * min_work - 1, 2 * min_work + 7,
                            5 * min_work + 3}) {
      INFO(n << " indices at " << threads << " threads");
      std::vector<int> visits(static_cast<size_t>(n), 0);
      std::vector<std::pair<int64_t, int64_t>> chunks;
      std::mutex chunks_lock;
      at_threads(threads, [&] {
        detail::parallel_for(n, [&](int64_t begin, int64_t end) {
          for (int64_t k = begin; k < end; ++k) ++visits[static_cast<size_t>(k)];
          const std::lock_guard<std::mutex> lock(chunks_lock);
          chunks.emplace_back(begin, end);
        });
        return 0;
      });
      const auto calls = static_cast<int64_t>(chunks.size());
      CHECK(std::all_of(visits.begin(), visits.end(), [](int v) { return v == 1; }));
      // Serial below 2 * kParallelMinWork; above, one chunk per thread, each at least
      // kParallelMinWork long and starting on a multiple of 16.
      const int64_t expected = n < 2 * min_work ? 1 : std::min<int64_t>(threads, n / min_work);
      CHECK(calls == expected);
      for (const auto& [begin, end] : chunks) {
        CHECK(begin % 16 == 0);
        if (expected > 1) CHECK(end - begin >= min_work - 16);
      }
    }
  }
}

TEST_CASE("large elementwise ops give the same bits at 1 and 2 threads", "[threads]") {
  Generator gen(7);
  Tensor x = Tensor::randn({kLarge}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({kLarge}, gen).set_requires_grad(true);
  const auto forward_backward = [&] {
    x.zero_grad();
    w.zero_grad();
    const Tensor y = gelu(x);
    const Tensor loss = sum(mul(y, w));
    loss.backward();
    std::vector<std::vector<float>> out = {values(y), values(loss), values(x.grad()),
                                           values(w.grad())};
    return out;
  };
  const auto one = at_threads(1, forward_backward);
  const auto two = at_threads(2, forward_backward);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i << " (gelu(x), the sum, dx, dw)");
    CHECK(same_bits(one[i], two[i]));
  }
  // And each element is the serial kernel's value: no chunk was skipped or written twice.
  const kernels::Gelu f;
  std::vector<float> expected(static_cast<size_t>(kLarge));
  for (int64_t k = 0; k < kLarge; ++k) expected[static_cast<size_t>(k)] = f(x.data()[k]);
  CHECK(same_bits(two[0], expected));
}

TEST_CASE("bias sums and the Adam step give the same bits at 1 and 2 threads", "[threads]") {
  Generator gen(3);
  const Tensor x = Tensor::randn({512, 256}, gen);
  const auto step = [&] {
    Generator init(11);
    Tensor weight = Tensor::randn({512, 256}, init).set_requires_grad(true);
    Tensor bias = Tensor::randn({512}, init).set_requires_grad(true);
    optim::Adam adam({weight, bias}, 1e-2f);
    for (int i = 0; i < 3; ++i) {
      adam.zero_grad();
      sum(square(linear(x, weight, bias))).backward();
      adam.step();
    }
    std::vector<std::vector<float>> out = {values(bias.grad()), values(weight),
                                           values(bias)};
    return out;
  };
  const auto one = at_threads(1, step);
  const auto two = at_threads(2, step);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i << " (the bias gradient, the weight and the bias after 3 steps)");
    CHECK(same_bits(one[i], two[i]));
  }
}

TEST_CASE("training repeats bit for bit at 2 threads", "[threads]") {
  // Layers of [512, 256] activations: every elementwise loop of the step runs split.
  const Config config = parse_config(
      {{"task", {{"name", "spirals"}, {"n_train", 1024}, {"n_test", 256}}},
       {"model", {{"hidden", {256, 256}}, {"activation", "gelu"}}},
       {"optimizer", {{"name", "adamw"}}},
       {"train", {{"epochs", 2}, {"batch_size", 512}, {"eval_every", 2}}}});
  struct Trained {
    std::vector<double> losses;  // train and test loss at each evaluation
    std::vector<std::vector<float>> parameters;
  };
  const auto train = [&] {
    Trainer trainer(config);
    Trained t;
    for (const EvalRecord& r : trainer.run().history) {
      t.losses.push_back(r.train_loss);
      t.losses.push_back(r.test_loss);
    }
    for (const Tensor& p : trainer.model().parameters()) t.parameters.push_back(values(p));
    return t;
  };
  const Trained first = at_threads(2, train);
  const Trained second = at_threads(2, train);
  CHECK(first.losses == second.losses);
  REQUIRE(first.parameters.size() == second.parameters.size());
  for (size_t i = 0; i < first.parameters.size(); ++i) {
    INFO("parameter " << i);
    CHECK(same_bits(first.parameters[i], second.parameters[i]));
  }
}
