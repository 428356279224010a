// The tape: gradients by hand, accumulation, NoGradGuard, detach, lifetimes, deep graphs,
// and the errors autograd misuse gets.
#include <catch2/catch.hpp>

#include <thread>

#include "actlab/actlab.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

TEST_CASE("gradients of a small expression, by hand", "[autograd]") {
  // f(a, b) = sum(a * b + a) -> df/da = b + 1, df/db = a
  Tensor a = Tensor::from_vector({1, 2, 3}, {3}, true);
  Tensor b = Tensor::from_vector({4, 5, 6}, {3}, true);
  sum(a * b + a).backward();
  CHECK(a.grad().to_vector() == std::vector<float>{5, 6, 7});
  CHECK(b.grad().to_vector() == std::vector<float>{1, 2, 3});
}

TEST_CASE("an input used twice accumulates both paths", "[autograd]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, true);
  sum(a + a).backward();
  CHECK(a.grad().to_vector() == std::vector<float>{2, 2});
  Tensor x = Tensor::from_vector({3}, {1}, true);
  sum(x * x).backward();  // d(x^2)/dx = 2x = 6
  CHECK(x.grad().item() == 6.f);
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd]") {
  Tensor w = Tensor::from_vector({1, 1}, {2}, true);
  sum(w * 3.f).backward();
  sum(w * 3.f).backward();
  CHECK(w.grad().to_vector() == std::vector<float>{6, 6});
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  sum(w * 2.f).backward();
  CHECK(w.grad().to_vector() == std::vector<float>{2, 2});
}

TEST_CASE("broadcast inputs get gradients summed to their shape", "[autograd][broadcast]") {
  Tensor m = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, true);
  Tensor row = Tensor::from_vector({1, 1, 1}, {3}, true);
  Tensor col = Tensor::from_vector({2, 3}, {2, 1}, true);
  sum(m * row + col).backward();
  CHECK(row.grad().to_vector() == std::vector<float>{5, 7, 9});
  CHECK(col.grad().to_vector() == std::vector<float>{3, 3});
  CHECK(col.grad().shape() == std::vector<int64_t>{2, 1});
}

TEST_CASE("sum and mean hand mul one value for the whole gradient, mixed with full ones", "[autograd][uniform]") {
  // a [2, 1] * b [1, 3]; sum's gradient of the product is 1 everywhere, which mul expands at its
  // output's shape before summing down to each input's: da = sum of b, db = sum of a.
  Tensor a = Tensor::from_vector({1, 2}, {2, 1}, true);
  Tensor b = Tensor::from_vector({3, 4, 5}, {1, 3}, true);
  sum(a * b).backward();
  CHECK(a.grad().to_vector() == std::vector<float>{12, 12});
  CHECK(b.grad().to_vector() == std::vector<float>{3, 3, 3});
  // y = a * b gets one value from sum and one from mean, and a full gradient c from y * c,
  // the full one last in backward or first: dy = 1 + 1/6 + c either way.
  const Tensor c = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  for (const bool full_first_in_backward : {false, true}) {
    a.zero_grad();
    b.zero_grad();
    const Tensor y = a * b;
    const Tensor loss = full_first_in_backward ? sum(y) + mean(y) + sum(y * c)
                                               : sum(y * c) + sum(y) + mean(y);
    loss.backward();
    for (int64_t i = 0; i < 2; ++i) {
      double da = 0;
      for (int64_t j = 0; j < 3; ++j) da += (1 + 1 / 6.0 + c.data()[i * 3 + j]) * b.data()[j];
      CHECK(a.grad().data()[i] == Approx(da));
    }
    for (int64_t j = 0; j < 3; ++j) {
      double db = 0;
      for (int64_t i = 0; i < 2; ++i) db += (1 + 1 / 6.0 + c.data()[i * 3 + j]) * a.data()[i];
      CHECK(b.grad().data()[j] == Approx(db));
    }
  }
  // A leaf gets its gradient written out in full.
  Tensor leaf = Tensor::from_vector({1, 2, 3}, {3}, true);
  mean(leaf).backward();
  CHECK(leaf.grad().shape() == std::vector<int64_t>{3});
  CHECK(leaf.grad().to_vector() == std::vector<float>{1 / 3.f, 1 / 3.f, 1 / 3.f});
}

TEST_CASE("matmul gradients: dA = dY B^T, dB = A^T dY", "[autograd][matmul]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, true);
  Tensor b = Tensor::from_vector({5, 6, 7, 8}, {2, 2}, true);
  sum(matmul(a, b)).backward();
  // dY = ones: dA[i][k] = sum_j B[k][j]; dB[k][j] = sum_i A[i][k]
  CHECK(a.grad().to_vector() == std::vector<float>{11, 15, 11, 15});
  CHECK(b.grad().to_vector() == std::vector<float>{4, 4, 6, 6});
}

TEST_CASE("only inputs that require grad get one", "[autograd]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, true);
  Tensor c = Tensor::from_vector({3, 4}, {2});
  Tensor y = sum(a * c);
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  y.backward();
  CHECK(a.grad().to_vector() == std::vector<float>{3, 4});
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("NoGradGuard records no node and costs the graph nothing", "[autograd]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, true);
  const int64_t before = autograd::live_nodes();
  Tensor y;
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    y = sum(a * a + a);
    CHECK(autograd::live_nodes() == before);
    CHECK_FALSE(y.requires_grad());
    {
      NoGradGuard nested;
    }
    CHECK_FALSE(grad_enabled());
  }
  CHECK(grad_enabled());
  CHECK_THROWS_WITH(y.backward(), Contains("does not require grad"));
  Tensor z = sum(a * a);
  CHECK(autograd::live_nodes() == before + 2);
}

TEST_CASE("detach cuts the graph and shares storage", "[autograd]") {
  Tensor a = Tensor::from_vector({2}, {1}, true);
  Tensor b = a * 3.f;
  Tensor d = b.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.data() == b.data());
  sum(d * a).backward();  // d is a constant 6
  CHECK(a.grad().item() == 6.f);
}

TEST_CASE("backward on a leaf scalar and on a non-scalar", "[autograd][errors]") {
  Tensor s = Tensor::from_vector({1}, {1}, true);
  s.backward();
  CHECK(s.grad().item() == 1.f);
  Tensor v = Tensor::from_vector({1, 2}, {2}, true);
  CHECK_THROWS_WITH((v * 2.f).backward(),
                    "backward: the output must hold one element (a scalar loss), got shape [2]");
  CHECK_THROWS_WITH(Tensor::from_vector({1}, {1}).backward(), Contains("does not require grad"));
}

TEST_CASE("a second backward through a freed graph throws", "[autograd][errors]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, true);
  Tensor y = sum(a * a);
  y.backward();
  CHECK_THROWS_AS(y.backward(), Error);
  CHECK_THROWS_WITH(y.backward(), Contains("backward through the graph a second time"));
  CHECK(a.grad().to_vector() == std::vector<float>{2, 4});  // unchanged by the failed call
}

TEST_CASE("a value changed in place after it was saved is refused", "[autograd][errors]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, true);
  Tensor b = Tensor::from_vector({3, 4}, {2}, true);
  Tensor y = sum(a * b);
  b.copy_(Tensor::from_vector({0, 0}, {2}));
  CHECK_THROWS_WITH(y.backward(), Contains("modified in place after it was saved"));
}

TEST_CASE("set_requires_grad only on leaves", "[autograd][errors]") {
  Tensor a = Tensor::from_vector({1}, {1}, true);
  Tensor b = a * 2.f;
  CHECK_THROWS_WITH(b.set_requires_grad(false), Contains("only leaf tensors"));
}

TEST_CASE("a 10,000-op chain backprops and is torn down without recursion", "[autograd][tape]") {
  const int64_t nodes_before = autograd::live_nodes();
  Tensor x = Tensor::from_vector({1}, {1}, true);
  {
    Tensor y = x;
    for (int i = 0; i < 10000; ++i) y = y * 1.0001f + 0.f;
    CHECK(autograd::live_nodes() == nodes_before + 20000);
    y.backward();
  }
  CHECK(autograd::live_nodes() == nodes_before);
  CHECK(x.grad().item() == Approx(std::pow(1.0001, 10000)).epsilon(1e-3));
  {  // a deeper one, dropped without backward
    Tensor y = x;
    for (int i = 0; i < 200000; ++i) y = y + 1.f;
  }
  CHECK(autograd::live_nodes() == nodes_before);
}

TEST_CASE("forward without backward 10,000 times keeps live buffers flat", "[autograd][memory]") {
  Generator gen(0);
  Tensor w = Tensor::randn({16, 16}, gen).set_requires_grad(true);
  Tensor x = Tensor::randn({8, 16}, gen);
  auto step = [&] { return mean(square(matmul(x, w) + 1.f)); };
  step();
  const int64_t buffers = memory::stats().live_buffers;
  const int64_t nodes = autograd::live_nodes();
  const int64_t os_allocations = memory::stats().os_allocations;
  for (int i = 0; i < 10000; ++i) step();
  CHECK(memory::stats().live_buffers == buffers);
  CHECK(autograd::live_nodes() == nodes);
  // The buffer cache served every step after the first.
  CHECK(memory::stats().os_allocations == os_allocations);
  for (int i = 0; i < 100; ++i) {
    step().backward();
    w.zero_grad();
  }
  CHECK(memory::stats().live_buffers == buffers);
}

TEST_CASE("a gradient handed to the sink by reference is copied, not taken over", "[autograd]") {
  // A custom op that reuses one scratch tensor for both inputs' gradients.
  Tensor a = Tensor::from_vector({1, 1}, {2}, true);
  Tensor b = Tensor::from_vector({1, 1}, {2}, true);
  Tensor y = Tensor::zeros({2});
  record("scratch", y, {a, b}, [](const Tensor& g, GradSink& sink) {
    Tensor scratch = g.clone();
    scratch.mutable_data()[0] = scratch.mutable_data()[1] = 2.f;
    sink.add(0, scratch);
    scratch.mutable_data()[0] = scratch.mutable_data()[1] = 3.f;
    sink.add(1, scratch);
  });
  sum(y).backward();
  CHECK(a.grad().to_vector() == std::vector<float>{2, 2});
  CHECK(b.grad().to_vector() == std::vector<float>{3, 3});
}

TEST_CASE("a graph built on two threads backprops in the right order", "[autograd][threads]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, true);
  Tensor h;
  // Another thread records many nodes first, so per-thread counters would disagree.
  std::thread worker([&] {
    Tensor t = x;
    for (int i = 0; i < 1000; ++i) t = t * 1.f;
    h = t * 2.f;
  });
  worker.join();
  Tensor loss = sum(exp(h * 0.f) * 3.f + h * 5.f);
  loss.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{10, 10, 10});
}
