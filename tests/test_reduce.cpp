// The reduction kernels of src/kernels/reduce.hpp where their lanes could go wrong: max over
// every length around its 16 lanes, and its NaN rule.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "actlab/core/tensor.hpp"
#include "kernels/reduce.hpp"

using namespace actlab;

TEST_CASE("kernels::max is the largest element at every length around its lanes", "[kernels]") {
  Generator gen(3);
  for (int64_t n = 1; n <= 50; ++n) {
    const std::vector<float> x = Tensor::randn({n}, gen).to_vector();
    INFO("n = " << n);
    CHECK(kernels::max(x.data(), n) == *std::max_element(x.begin(), x.end()));
  }
  CHECK(kernels::max(nullptr, 0) == -std::numeric_limits<float>::infinity());
}

TEST_CASE("kernels::max is NaN when any element is, in the lanes or the tail", "[kernels]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const int64_t at : {0, 5, 15, 16, 31, 35}) {  // 37 elements: 32 in lanes, 5 in the tail
    std::vector<float> x(37, 1.f);
    x[static_cast<size_t>(at)] = nan;
    INFO("NaN at " << at);
    CHECK(std::isnan(kernels::max(x.data(), 37)));
  }
  const std::vector<float> inf_and_nan = {std::numeric_limits<float>::infinity(), nan};
  CHECK(std::isnan(kernels::max(inf_and_nan.data(), 2)));
}
