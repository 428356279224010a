// Tensor construction, shapes, access, the Generator, and the errors bad arguments get.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "actlab/actlab.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

TEST_CASE("from_vector keeps values and shape, row-major", "[tensor]") {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.shape() == std::vector<int64_t>{2, 3});
  CHECK(t.dim() == 2);
  CHECK(t.numel() == 6);
  CHECK(t.size(-1) == 3);
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK_FALSE(t.requires_grad());
  CHECK(Tensor::from_vector({1}, {1}, true).requires_grad());
}

TEST_CASE("factories fill as named", "[tensor]") {
  CHECK(Tensor::zeros({2, 2}).to_vector() == std::vector<float>(4, 0.f));
  CHECK(Tensor::ones({3}).to_vector() == std::vector<float>(3, 1.f));
  CHECK(Tensor::full({2}, 2.5f).to_vector() == std::vector<float>{2.5f, 2.5f});
  Tensor s = Tensor::scalar(4.f);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 4.f);
}

TEST_CASE("storage is 64-byte aligned", "[tensor]") {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::zeros({n});
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
  }
}

TEST_CASE("copying a handle shares data, clone and copy_ copy values", "[tensor]") {
  Tensor a = Tensor::from_vector({1, 2}, {2});
  Tensor b = a;
  b.mutable_data()[0] = 9.f;
  CHECK(a.to_vector()[0] == 9.f);
  Tensor c = a.clone();
  c.mutable_data()[1] = 7.f;
  CHECK(a.to_vector()[1] == 2.f);
  a.copy_(Tensor::from_vector({5, 6}, {2}));
  CHECK(b.to_vector() == std::vector<float>{5, 6});
}

TEST_CASE("undefined tensors say so", "[tensor]") {
  Tensor t;
  CHECK_FALSE(t.defined());
  CHECK_THROWS_WITH(t.shape(), Contains("undefined"));
}

TEST_CASE("bad construction and access throw Error naming op and shapes", "[tensor][errors]") {
  CHECK_THROWS_AS(Tensor::from_vector({1, 2, 3}, {2, 2}), Error);
  CHECK_THROWS_WITH(Tensor::from_vector({1, 2, 3}, {2, 2}),
                    "from_vector: 3 values do not fill shape [2, 2] (4 elements)");
  CHECK_THROWS_WITH(Tensor::zeros({2, 3}).item(),
                    "item: the tensor must hold exactly one element, got shape [2, 3] (6 "
                    "elements)");
  CHECK_THROWS_WITH(Tensor::zeros({-1}), Contains("negative"));
  CHECK_THROWS_WITH(Tensor::from_vector({}, {int64_t{1} << 62, 4}),
                    "shape: [4611686018427387904] x 4 elements overflow a 64-bit count");
  CHECK_THROWS_WITH(Tensor::zeros({2}).copy_(Tensor::zeros({3})),
                    "copy_: source shape [3] does not match destination shape [2]");
  CHECK_THROWS_WITH(Tensor::zeros({2}).size(1), Contains("dimension 1 is out of range for shape [2]"));
}

TEST_CASE("Shape converts to and from std::vector and prints", "[tensor]") {
  Shape s = std::vector<int64_t>{4, 5};
  std::vector<int64_t> v = s;
  CHECK(v == std::vector<int64_t>{4, 5});
  CHECK(s.str() == "[4, 5]");
  CHECK(Shape{}.str() == "[]");
  CHECK(Shape{}.numel() == 1);
  CHECK_THROWS_AS((Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}), Error);
}

TEST_CASE("Generator is PCG32: a seed gives a fixed, documented sequence", "[tensor][random]") {
  // Reference values of the PCG32 XSH-RR generator (pcg32_srandom(42, 54) in the PCG paper's
  // reference C code gives 0xa15c02b7 0x7b47f409 0xba1d3330 ...).
  Generator gen(42, 54);
  CHECK(gen.next_u32() == 0xa15c02b7u);
  CHECK(gen.next_u32() == 0x7b47f409u);
  CHECK(gen.next_u32() == 0xba1d3330u);
}

TEST_CASE("Generator: same seed same numbers, uniform in range, normal moments", "[tensor][random]") {
  Generator a(7);
  Generator b(7);
  CHECK(Tensor::randn({100}, a).to_vector() == Tensor::randn({100}, b).to_vector());

  Generator gen(1);
  Tensor u = Tensor::rand({20000}, gen);
  const auto uv = u.to_vector();
  CHECK(*std::min_element(uv.begin(), uv.end()) >= 0.f);
  CHECK(*std::max_element(uv.begin(), uv.end()) < 1.f);
  CHECK(std::accumulate(uv.begin(), uv.end(), 0.0) / uv.size() == Approx(0.5).margin(0.01));

  const auto nv = Tensor::randn({20000}, gen).to_vector();
  double mean = std::accumulate(nv.begin(), nv.end(), 0.0) / nv.size();
  double var = 0;
  for (float x : nv) var += (x - mean) * (x - mean);
  var /= nv.size();
  // Standard errors at n = 20000: 0.007 for the mean, 0.01 for the variance.
  CHECK(mean == Approx(0.0).margin(0.03));
  CHECK(var == Approx(1.0).margin(0.04));

  for (int i = 0; i < 1000; ++i) CHECK(gen.below(3) < 3);
}

TEST_CASE("Generator state can be saved and restored", "[tensor][random]") {
  Generator gen(3);
  gen.normal();  // leaves a spare normal in the state
  const Generator::State saved = gen.state();
  const float x = gen.normal();
  const float y = gen.normal();
  gen.set_state(saved);
  CHECK(gen.normal() == x);
  CHECK(gen.normal() == y);
}
