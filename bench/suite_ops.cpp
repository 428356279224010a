// Suite "ops": per-op overhead (an add with and without recording, against the bare loop) and
// matmul forward + backward against the three raw cblas_sgemm calls it makes.
#include <memory>

#include "actlab/actlab.hpp"
#include "suites.hpp"

namespace bench {
namespace {

using actlab::Tensor;

// add of two [64, 64] tensors: recording a node, not recording, and the bare loop.
void add_overhead_benches(std::vector<Bench>& out, actlab::Generator& gen) {
  constexpr int kBatch = 1000;
  const actlab::Shape shape{64, 64};
  const Tensor a = randn_leaf(shape, gen, true);
  const Tensor b = randn_leaf(shape, gen, true);
  out.push_back({"add_grad", "add [64,64]", kBatch, repeat(kBatch, [a, b] {
                   const Tensor c = actlab::add(a, b);  // records a node; dropped at once
                   keep(c.data());
                 })});
  out.push_back({"add_nograd", "add [64,64]", kBatch, repeat(kBatch, [a, b] {
                   const actlab::NoGradGuard no_grad;
                   const Tensor c = actlab::add(a, b);
                   keep(c.data());
                 })});
  // The bare loop reads the same input buffers: where buffers lie in memory moves this loop's
  // time by 10-20% from one process to the next, and that should not count as overhead.
  Tensor c = Tensor::empty(shape);
  out.push_back({"add_raw", "add [64,64]", kBatch,
                 repeat(kBatch, [a, b, c, x = a.data(), y = b.data(), z = c.mutable_data(),
                                 n = shape.numel()] {
                   const float* __restrict xr = x;
                   const float* __restrict yr = y;
                   float* __restrict zr = z;
                   for (int64_t i = 0; i < n; ++i) zr[i] = xr[i] + yr[i];
                   keep(zr);
                 })});
}

// matmul [N, K] x [K, M] forward + backward, the sum it needs as a scalar loss, and the three
// raw sgemm calls of a forward and backward (alone, and in a row as matmul makes them).
void matmul_benches(std::vector<Bench>& out, actlab::Generator& gen) {
  constexpr int N = 256, K = 512, M = 512;
  const std::string group = "matmul [256,512]x[512,512]";
  Tensor a = randn_leaf({N, K}, gen, true);
  Tensor b = randn_leaf({K, M}, gen, true);
  Tensor y_like = randn_leaf({N, M}, gen, true);
  out.push_back({"matmul_sum_fb", group, 1, [a, b]() mutable {
                   a.zero_grad();
                   b.zero_grad();
                   actlab::sum(actlab::matmul(a, b)).backward();
                   keep(a.grad().data());
                   keep(b.grad().data());
                 }});
  // The sum inside matmul_sum_fb reads a matmul output still in cache; `prepare` warms y_like
  // the same way, so the part subtracted is not overstated (cold, it takes twice as long).
  const auto sum_fb = [y_like]() mutable {
    y_like.zero_grad();
    actlab::sum(y_like).backward();
    keep(y_like.grad().data());
  };
  out.push_back({"sum_fb", group, 1, sum_fb, sum_fb});

  auto A = std::make_shared<Floats>(N * K, gen), B = std::make_shared<Floats>(K * M, gen);
  auto dY = std::make_shared<Floats>(N * M, gen), Y = std::make_shared<Floats>(N * M, gen);
  auto dA = std::make_shared<Floats>(N * K, gen), dB = std::make_shared<Floats>(K * M, gen);
  const auto fwd = [=] { sgemm(false, false, N, M, K, A->data(), B->data(), Y->data()); };
  const auto grad_a = [=] { sgemm(false, true, N, K, M, dY->data(), B->data(), dA->data()); };
  const auto grad_b = [=] { sgemm(true, false, K, M, N, A->data(), dY->data(), dB->data()); };
  out.push_back({"sgemm_3", group, 1, [=] {
                   fwd();
                   grad_a();
                   grad_b();
                 }});
  out.push_back({"sgemm_fwd", group, 1, fwd});
  out.push_back({"sgemm_dA", group, 1, grad_a});
  out.push_back({"sgemm_dB", group, 1, grad_b});
}

}  // namespace

Suite ops_suite() {
  actlab::Generator gen(42);
  Suite s{"ops", {}, {}};
  add_overhead_benches(s.benches, gen);
  matmul_benches(s.benches, gen);
  const auto matmul_fb = [](const Medians& m) { return m.at("matmul_sum_fb") - m.at("sum_fb"); };
  s.derived = {
      {"add_overhead_grad", "us", "add_grad - add_raw",
       [](const Medians& m) { return m.at("add_grad") - m.at("add_raw"); }, Target{1.0}},
      {"add_overhead_nograd", "us", "add_nograd - add_raw",
       [](const Medians& m) { return m.at("add_nograd") - m.at("add_raw"); }, Target{1.0}},
      {"matmul_fb", "us", "matmul_sum_fb - sum_fb", matmul_fb, std::nullopt},
      {"raw_3_sgemm", "us", "sgemm_3", [](const Medians& m) { return m.at("sgemm_3"); },
       std::nullopt},
      {"matmul_fb_ratio", "x", "matmul_fb / raw_3_sgemm",
       [=](const Medians& m) { return matmul_fb(m) / m.at("sgemm_3"); }, Target{1.05}},
  };
  return s;
}

}  // namespace bench
