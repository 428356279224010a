// One threading model: OpenBLAS's OpenMP build and actlab's parallel loops on one OpenMP pool.
// The thread count reaches both; a loop's chunks cover it exactly once; actlab's own loops
// (elementwise, sums, optimiser steps) are bit-identical at 1 and 2 threads; matrix products,
// which OpenBLAS may split differently per thread count and CPU, agree within their rounding
// bound; training repeats bit for bit at a fixed thread count.
#include <catch2/catch.hpp>
#include <cblas.h>

#include <algorithm>
#include <cmath>
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

TEST_CASE("bias sums and the optimiser steps give the same bits at 1 and 2 threads",
          "[threads]") {
  // No gradient here passes through a matrix product: OpenBLAS may split a product differently
  // at another thread count (on AMD Zen it does), so only actlab's own loops are held to the
  // bit. d/db sum(linear(x, W, b) * c) is c's column sums; d/dp sum(p * c) is c itself.
  Generator gen(3);
  const Tensor x = Tensor::randn({512, 64}, gen);
  const Tensor c = Tensor::randn({512, 512}, gen);  // 2^18 floats: the loops run split
  const Tensor c_flat = reshape(c, {kLarge});
  const auto bias_and_steps = [&] {
    Generator init(11);
    Tensor weight = Tensor::randn({512, 64}, init);
    Tensor bias = Tensor::randn({512}, init).set_requires_grad(true);
    sum(mul(linear(x, weight, bias), c)).backward();
    Tensor for_adam = Tensor::randn({kLarge}, init).set_requires_grad(true);
    Tensor for_sgd = Tensor::randn({kLarge}, init).set_requires_grad(true);
    optim::AdamW adam({for_adam}, 1e-2f);
    optim::SGD sgd({for_sgd}, 1e-2f, 0.9f, 1e-4f, true);
    for (int i = 0; i < 3; ++i) {
      adam.zero_grad();
      sgd.zero_grad();
      sum(mul(for_adam, c_flat)).backward();
      sum(mul(for_sgd, c_flat)).backward();
      adam.step();
      sgd.step();
    }
    std::vector<std::vector<float>> out = {values(bias.grad()), values(for_adam),
                                           values(for_sgd)};
    return out;
  };
  const auto one = at_threads(1, bias_and_steps);
  const auto two = at_threads(2, bias_and_steps);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i << " (the bias gradient, the AdamW and the SGD parameters)");
    CHECK(same_bits(one[i], two[i]));
  }
  // The bias gradient is c's column sums, added in row order.
  std::vector<float> column_sums(512, 0.f);
  for (int64_t r = 0; r < 512; ++r)
    for (int64_t j = 0; j < 512; ++j) column_sums[static_cast<size_t>(j)] += c.data()[r * 512 + j];
  CHECK(same_bits(one[0], column_sums));
}

TEST_CASE("matrix products at 1 and 2 threads agree within float32's summation error bound",
          "[threads]") {
  // In any summation order, a length-K dot product in float32 is within gamma_K * sum_k
  // |a_k b_k| of the exact value, gamma_K = K u / (1 - K u), u = 2^-24 (Higham, Accuracy and
  // Stability of Numerical Algorithms, section 3.1). Two orders are then within twice that,
  // whichever kernel and split OpenBLAS picks.
  constexpr int64_t rows = 256, in = 192, out = 160;
  Generator gen(5);
  Tensor x = Tensor::randn({rows, in}, gen).set_requires_grad(true);
  Tensor w = Tensor::randn({out, in}, gen).set_requires_grad(true);
  const Tensor c = Tensor::randn({rows, out}, gen);
  const auto forward_backward = [&] {
    x.zero_grad();
    w.zero_grad();
    const Tensor y = linear(x, w, Tensor());
    sum(mul(y, c)).backward();
    std::vector<std::vector<float>> out = {values(y), values(x.grad()), values(w.grad())};
    return out;
  };
  const auto one = at_threads(1, forward_backward);
  const auto two = at_threads(2, forward_backward);
  // Each result as a product A [m, K] B [K, n] with strides, and its bound per output.
  struct Product {
    const char* name;
    const float* a;
    int64_t a_row, a_k;  // a's strides along the output row and along K
    const float* b;
    int64_t b_k, b_col;  // b's strides along K and along the output column
    int64_t m, n, k;
  };
  const Product products[] = {
      {"y = x W^T", x.data(), in, 1, w.data(), 1, in, rows, out, in},
      {"dX = c W", c.data(), out, 1, w.data(), in, 1, rows, in, out},
      {"dW = c^T x", c.data(), 1, out, x.data(), in, 1, out, in, rows}};
  constexpr double u = 0x1p-24;
  for (size_t p = 0; p < 3; ++p) {
    const Product& q = products[p];
    INFO(q.name);
    REQUIRE(one[p].size() == static_cast<size_t>(q.m * q.n));
    int64_t outside = 0;
    for (int64_t i = 0; i < q.m; ++i)
      for (int64_t j = 0; j < q.n; ++j) {
        double magnitude = 0;
        for (int64_t k = 0; k < q.k; ++k)
          magnitude += std::abs(double{q.a[i * q.a_row + k * q.a_k]} * q.b[k * q.b_k + j * q.b_col]);
        const size_t at = static_cast<size_t>(i * q.n + j);
        const double gamma = q.k * u / (1 - q.k * u);
        if (std::abs(double{one[p][at]} - two[p][at]) > 2 * gamma * magnitude) ++outside;
      }
    CHECK(outside == 0);
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
