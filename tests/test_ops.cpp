// Values of the core ops against hand-computed numbers, broadcasting, and shape errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "actlab/actlab.hpp"
#include "tensor_literal.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

namespace {

void check_values(const Tensor& t, const std::vector<float>& want, double rel = 1e-6) {
  const auto got = t.to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).epsilon(rel).margin(1e-7));
  }
}
}  // namespace

TEST_CASE("arithmetic on equal shapes", "[ops]") {
  Tensor a = T({1, 2, 3, 4}, {2, 2});
  Tensor b = T({5, 6, 7, 8}, {2, 2});
  check_values(a + b, {6, 8, 10, 12});
  check_values(a - b, {-4, -4, -4, -4});
  check_values(a * b, {5, 12, 21, 32});
  check_values(b / a, {5, 3, 7.f / 3.f, 2});
  check_values(-a, {-1, -2, -3, -4});
}

TEST_CASE("arithmetic with scalars", "[ops]") {
  Tensor a = T({1, 2, 4}, {3});
  check_values(a + 1.f, {2, 3, 5});
  check_values(1.f + a, {2, 3, 5});
  check_values(a - 1.f, {0, 1, 3});
  check_values(1.f - a, {0, -1, -3});
  check_values(a * 3.f, {3, 6, 12});
  check_values(3.f * a, {3, 6, 12});
  check_values(a / 3.f, {1.f / 3.f, 2.f / 3.f, 4.f / 3.f}, 0);  // true division, exact
  check_values(4.f / a, {4, 2, 1});
}

TEST_CASE("broadcasting: row, column, scalar tensor, both ways", "[ops][broadcast]") {
  Tensor m = T({1, 2, 3, 4, 5, 6}, {2, 3});
  check_values(m + T({10, 20, 30}, {3}), {11, 22, 33, 14, 25, 36});        // row
  check_values(m + T({100, 200}, {2, 1}), {101, 102, 103, 204, 205, 206});  // column
  check_values(m * Tensor::scalar(2.f), {2, 4, 6, 8, 10, 12});             // 0-dim
  check_values(m - T({1}, {1, 1}), {0, 1, 2, 3, 4, 5});
  // [2, 1] op [3] -> [2, 3]: both operands broadcast.
  Tensor outer = T({1, 2}, {2, 1}) * T({1, 10, 100}, {3});
  CHECK(outer.shape() == std::vector<int64_t>{2, 3});
  check_values(outer, {1, 10, 100, 2, 20, 200});
  // leading dimensions: [2, 1, 3] + [4, 1] -> [2, 4, 3]
  Tensor big = Tensor::zeros({2, 1, 3}) + T({0, 1, 2, 3}, {4, 1});
  CHECK(big.shape() == std::vector<int64_t>{2, 4, 3});
  CHECK(big.to_vector()[3 * 3 + 12] == 3.f);
  check_values(T({6}, {1}) / T({1, 2, 3}, {3}), {6, 3, 2});
}

TEST_CASE("incompatible shapes are rejected with both shapes in the message", "[ops][errors]") {
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = Tensor::zeros({2, 4});
  CHECK_THROWS_AS(a + b, Error);
  CHECK_THROWS_WITH(a + b, "add: shapes [2, 3] and [2, 4] cannot be broadcast together "
                           "(dimension 1 from the right: 3 vs 4)");
  CHECK_THROWS_WITH(a * Tensor::zeros({3, 3}), Contains("mul: shapes [2, 3] and [3, 3]"));
  CHECK_THROWS_WITH(a - Tensor::zeros({2}), Contains("sub: shapes [2, 3] and [2]"));
  CHECK_THROWS_WITH(a / Tensor::zeros({4, 3, 3}), Contains("div: shapes [2, 3] and [4, 3, 3]"));
}

TEST_CASE("exp, log, square, sqrt, reciprocal", "[ops]") {
  Tensor x = T({0.5f, 1.f, 2.f}, {3});
  check_values(exp(x), {std::exp(0.5f), std::exp(1.f), std::exp(2.f)});
  check_values(log(x), {std::log(0.5f), 0.f, std::log(2.f)});
  check_values(square(x), {0.25f, 1.f, 4.f});
  check_values(sqrt(x), {std::sqrt(0.5f), 1.f, std::sqrt(2.f)});
  check_values(reciprocal(x), {2.f, 1.f, 0.5f});
}

TEST_CASE("sum and mean: all, along each dim, keepdim", "[ops][reduce]") {
  Tensor m = T({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(m).dim() == 0);
  CHECK(sum(m).item() == 21.f);
  CHECK(mean(m).item() == 3.5f);
  check_values(sum(m, 0), {5, 7, 9});
  check_values(sum(m, 1), {6, 15});
  check_values(sum(m, -1), {6, 15});
  check_values(mean(m, 1), {2, 5});
  CHECK(sum(m, 0).shape() == std::vector<int64_t>{3});
  CHECK(sum(m, 0, true).shape() == std::vector<int64_t>{1, 3});
  CHECK(mean(m, 1, true).shape() == std::vector<int64_t>{2, 1});
  Tensor cube = reshape(T({1, 2, 3, 4, 5, 6, 7, 8}, {8}), {2, 2, 2});
  check_values(sum(cube, 1), {4, 6, 12, 14});
  // long sums use eight partial sums: check against the closed form
  Tensor ramp = Tensor::empty({1001});
  for (int i = 0; i <= 1000; ++i) ramp.mutable_data()[i] = static_cast<float>(i);
  CHECK(sum(ramp).item() == 500500.f);
  CHECK_THROWS_WITH(sum(m, 2), "sum: dim 2 is out of range for shape [2, 3]");
}

TEST_CASE("reshape is a view with -1 inference, transpose copies", "[ops][shape]") {
  Tensor m = T({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor r = reshape(m, {3, -1});
  CHECK(r.shape() == std::vector<int64_t>{3, 2});
  CHECK(r.data() == m.data());
  CHECK_THROWS_WITH(reshape(m, {4, -1}), "reshape: cannot reshape [2, 3] (6 elements) to [4, -1]");
  CHECK_THROWS_WITH(reshape(m, {-1, -1}), Contains("only one dimension can be -1"));

  Tensor t = transpose(m, 0, 1);
  CHECK(t.shape() == std::vector<int64_t>{3, 2});
  check_values(t, {1, 4, 2, 5, 3, 6});
  Tensor c = reshape(T({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {12}), {2, 3, 2});
  check_values(transpose(c, 0, 2), {0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11});
  CHECK_THROWS_WITH(transpose(m, 0, 2), "transpose: dims (0, 2) are out of range for shape [2, 3]");
}

TEST_CASE("matmul against a hand-computed product", "[ops][matmul]") {
  Tensor a = T({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = T({7, 8, 9, 10, 11, 12}, {3, 2});
  // [1 2 3; 4 5 6] x [7 8; 9 10; 11 12] = [58 64; 139 154]
  check_values(matmul(a, b), {58, 64, 139, 154});
  CHECK(matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})).to_vector() ==
        std::vector<float>(6, 0.f));
}

TEST_CASE("matmul rejects wrong dims and mismatched inner sizes", "[ops][matmul][errors]") {
  CHECK_THROWS_WITH(matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 5})),
                    "matmul: shapes [2, 3] and [4, 5] do not fit: expected [N, K] x [K, M]");
  CHECK_THROWS_WITH(matmul(Tensor::zeros({3}), Tensor::zeros({3, 2})),
                    Contains("matmul: shapes [3] and [3, 2]"));
  CHECK_THROWS_AS(matmul(Tensor::zeros({2, 2, 2}), Tensor::zeros({2, 2})), Error);
}
