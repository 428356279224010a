// The sequence ops (embedding, layer_norm, rms_norm, rotary_embedding,
// scaled_dot_product_attention): values and gradients against PyTorch's (saved by
// tests/reference/make_sequence_reference.py), gradcheck, hand-checked properties (a masked row,
// a sequence of length 1, positions), and their errors word for word.
#include <catch2/catch.hpp>

#include <cmath>

#include "actlab/actlab.hpp"
#include "op_cases.hpp"
#include "reference_data.hpp"

using namespace actlab;
using Catch::Matchers::Contains;
using reference::numbers;

namespace {

const nlohmann::json& ops_reference() {
  static const nlohmann::json ref = reference::load("sequence_ops.json");
  return ref;
}

Tensor leaf(const nlohmann::json& values, const nlohmann::json& shape) {
  return Tensor::from_vector(numbers(values), shape.get<std::vector<int64_t>>(), true);
}

// Backward from sum(out * proj), as the reference script does.
void backward_projected(const Tensor& out, const nlohmann::json& proj) {
  sum(out * Tensor::from_vector(numbers(proj), out.shape())).backward();
}

// Float32 ops over rows of at most 8 channels: round-off stays within a few ulp of each value;
// 1e-5 relative (about 80 ulp) with 1e-6 absolute for values near zero covers it with margin
// and still catches any wrong term.
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

}  // namespace

TEST_CASE("embedding matches PyTorch and scatter-adds repeated ids", "[sequence][reference]") {
  for (const auto& c : ops_reference()["embedding"]) {
    Tensor weight = leaf(c["weight"], c["weight_shape"]);
    Tensor out = embedding(c["ids"].get<std::vector<int64_t>>(),
                           c["ids_shape"].get<std::vector<int64_t>>(), weight);
    reference::check_close(out.to_vector(), numbers(c["output"]), 0, 0, "output (a copy)");
    backward_projected(out, c["proj"]);
    reference::check_close(weight.grad().to_vector(), numbers(c["grad_weight"]), kRtol, kAtol,
                           "dweight");
  }
  // By hand: id 1 twice gathers the same row, and its gradient is the sum of both.
  Tensor w = Tensor::from_vector({0, 1, 10, 11, 20, 21}, {3, 2}, true);
  Tensor out = embedding({1, 2, 1}, {3}, w);
  CHECK(out.shape() == Shape{3, 2});
  CHECK(out.to_vector() == std::vector<float>{10, 11, 20, 21, 10, 11});
  sum(out * Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2})).backward();
  CHECK(w.grad().to_vector() == std::vector<float>{0, 0, 6, 8, 3, 4});
}

TEST_CASE("layer_norm and rms_norm match PyTorch, with and without bias", "[sequence][reference]") {
  for (const auto& c : ops_reference()["norm"]) {
    const std::string kind = c["kind"];
    INFO(kind << " of shape " << c["shape"].dump());
    const Shape dim{c["shape"].back().get<int64_t>()};
    Tensor x = leaf(c["x"], c["shape"]);
    Tensor weight = leaf(c["weight"], nlohmann::json(dim.vec()));
    Tensor bias = c.contains("bias") ? leaf(c["bias"], nlohmann::json(dim.vec())) : Tensor();
    const float eps = c["eps"];
    Tensor out = kind == "layer_norm" ? layer_norm(x, weight, bias, eps) : rms_norm(x, weight, eps);
    // One case, rows 1000 + N(0, 0.01^2), holds float64 values (PyTorch's float32 kernel is off
    // by 1% there): actlab's float32 must come as close as for the others, relative to the
    // size of the values (dx ~ rstd = 100). Lost variance would give 0, NaN or 30% errors.
    const double scale = c["computed_in"] == "float64" ? 100.0 : 1.0;
    const double rtol = kRtol;
    const double atol = kAtol * scale;
    reference::check_close(out.to_vector(), numbers(c["output"]), rtol, atol, "output");
    backward_projected(out, c["proj"]);
    reference::check_close(x.grad().to_vector(), numbers(c["grad_x"]), rtol, atol, "dx");
    reference::check_close(weight.grad().to_vector(), numbers(c["grad_weight"]), rtol, atol,
                           "dweight");
    if (bias.defined())
      reference::check_close(bias.grad().to_vector(), numbers(c["grad_bias"]), rtol, atol,
                             "dbias");
  }
}

TEST_CASE("layer_norm and rms_norm by hand", "[sequence]") {
  // Row [1, 3]: mean 2, variance 1, so layer_norm gives [-1, 1] (eps 0); rms = sqrt(5).
  Tensor x = Tensor::from_vector({1, 3}, {1, 2});
  Tensor ones = Tensor::ones({2});
  const std::vector<float> ln = layer_norm(x, ones, Tensor(), 0.f).to_vector();
  CHECK(ln[0] == Approx(-1.f));
  CHECK(ln[1] == Approx(1.f));
  const std::vector<float> rms = rms_norm(x, Tensor::from_vector({2, 1}, {2}), 0.f).to_vector();
  CHECK(rms[0] == Approx(2.f / std::sqrt(5.f)));
  CHECK(rms[1] == Approx(3.f / std::sqrt(5.f)));
  // A constant row has no spread: layer_norm gives its bias, with no NaN.
  const std::vector<float> flat_row =
      layer_norm(Tensor::full({1, 4}, 7.f), Tensor::ones({4}), Tensor::full({4}, 0.5f))
          .to_vector();
  CHECK(flat_row == std::vector<float>(4, 0.5f));
}

TEST_CASE("rotary_embedding matches PyTorch (Llama's pairing), at offsets too",
          "[sequence][reference]") {
  for (const auto& c : ops_reference()["rotary"]) {
    INFO("shape " << c["shape"].dump() << " offset " << c["offset"]);
    Tensor x = leaf(c["x"], c["shape"]);
    Tensor out = rotary_embedding(x, c["offset"].get<int64_t>());
    // cos and sin rounded to float32 (1 ulp) and two products: a few ulp of |x|.
    reference::check_close(out.to_vector(), numbers(c["output"]), kRtol, kAtol, "output");
    backward_projected(out, c["proj"]);
    reference::check_close(x.grad().to_vector(), numbers(c["grad_x"]), kRtol, kAtol, "dx");
  }
}

TEST_CASE("rotary_embedding rotates pairs by position times theta", "[sequence]") {
  // head_dim 4: theta_0 = 1, theta_1 = 10000^(-1/2) = 0.01. Position 0 is the identity.
  Tensor x = Tensor::from_vector({1, 0, 1, 0, 1, 0, 1, 0}, {1, 2, 1, 4});
  const std::vector<float> y = rotary_embedding(x).to_vector();
  CHECK(std::vector<float>(y.begin(), y.begin() + 4) == std::vector<float>{1, 0, 1, 0});
  CHECK(y[4] == Approx(std::cos(1.f)));
  CHECK(y[5] == Approx(std::sin(1.f)));
  CHECK(y[6] == Approx(std::cos(0.01f)));
  CHECK(y[7] == Approx(std::sin(0.01f)));
  // An offset shifts positions: the last token of a sequence alone, at its offset.
  Generator gen(3);
  Tensor seq = Tensor::randn({2, 5, 3, 6}, gen);
  Tensor last = Tensor::from_vector(
      [&] {
        std::vector<float> v;
        const std::vector<float> all = seq.to_vector();
        for (int64_t b = 0; b < 2; ++b)
          v.insert(v.end(), all.begin() + (b * 5 + 4) * 18, all.begin() + (b * 5 + 5) * 18);
        return v;
      }(),
      {2, 1, 3, 6});
  const std::vector<float> full = rotary_embedding(seq).to_vector();
  const std::vector<float> alone = rotary_embedding(last, 4).to_vector();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < 18; ++j) CHECK(alone[b * 18 + j] == full[(b * 5 + 4) * 18 + j]);
}

TEST_CASE("scaled_dot_product_attention matches PyTorch: output, probabilities, gradients",
          "[sequence][reference]") {
  for (const auto& c : ops_reference()["attention"]) {
    INFO("q " << c["q_shape"].dump() << " k " << c["k_shape"].dump() << " causal "
              << c["causal"] << " T " << c["temperature"]);
    Tensor q = leaf(c["q"], c["q_shape"]);
    Tensor k = leaf(c["k"], c["k_shape"]);
    Tensor v = leaf(c["v"], c["k_shape"]);
    Tensor probs;
    Tensor out = scaled_dot_product_attention(q, k, v, c["causal"].get<bool>(),
                                              c["temperature"].get<float>(), &probs);
    // Dot products of 8 terms, softmax through actlab's fast exp (a few ulp), then 8 more
    // products: 1e-5 relative with 1e-6 absolute.
    reference::check_close(probs.to_vector(), numbers(c["probs"]), kRtol, kAtol, "probs");
    reference::check_close(out.to_vector(), numbers(c["output"]), kRtol, kAtol, "output");
    backward_projected(out, c["proj"]);
    reference::check_close(q.grad().to_vector(), numbers(c["grad_q"]), kRtol, kAtol, "dq");
    reference::check_close(k.grad().to_vector(), numbers(c["grad_k"]), kRtol, kAtol, "dk");
    reference::check_close(v.grad().to_vector(), numbers(c["grad_v"]), kRtol, kAtol, "dv");
  }
}

TEST_CASE("causal attention: the first query sees only itself, later ones nothing ahead",
          "[sequence]") {
  Generator gen(5);
  const int64_t T = 4;
  Tensor q = Tensor::randn({1, T, 2, 4}, gen), k = Tensor::randn({1, T, 2, 4}, gen);
  Tensor v = Tensor::randn({1, T, 2, 4}, gen);
  Tensor probs;
  Tensor out = scaled_dot_product_attention(q, k, v, true, 1.f, &probs);
  CHECK(probs.shape() == Shape{1, 2, T, T});
  const std::vector<float> p = probs.to_vector();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t i = 0; i < T; ++i) {
      float row_sum = 0.f;
      for (int64_t j = 0; j < T; ++j) {
        const float pij = p[(h * T + i) * T + j];
        if (j > i) CHECK(pij == 0.f);  // masked: exactly zero
        row_sum += pij;
      }
      CHECK(row_sum == Approx(1.f).epsilon(1e-6));
    }
  CHECK(p[0] == 1.f);  // head 0, query 0: one visible key
  // So the first output row is v's first row, exactly.
  const std::vector<float> o = out.to_vector(), vv = v.to_vector();
  for (int64_t j = 0; j < 8; ++j) CHECK(o[j] == vv[j]);
}

TEST_CASE("attention: the same bits at 1 and 2 threads, its heads split over them",
          "[sequence][threads]") {
  // 2 x 4 heads of 64 x 64 x 16 products: enough work to split the heads (4 to a thread), too
  // little for OpenBLAS to split a product, so each head is computed the same way at either
  // count; a head skipped, done twice or sharing a buffer with another would show.
  Generator gen(9);
  const Tensor q0 = Tensor::randn({2, 64, 4, 16}, gen), k0 = Tensor::randn({2, 64, 4, 16}, gen);
  const Tensor v0 = Tensor::randn({2, 64, 4, 16}, gen), g = Tensor::randn({2, 64, 4, 16}, gen);
  const auto run_at = [&](int threads) {
    set_num_threads(threads);
    Tensor q = q0.detach().set_requires_grad(true), k = k0.detach().set_requires_grad(true);
    Tensor v = v0.detach().set_requires_grad(true);
    Tensor probs;
    const Tensor out = scaled_dot_product_attention(q, k, v, true, 1.f, &probs);
    sum(out * g).backward();
    std::vector<float> all = out.to_vector();
    for (const Tensor& t : {probs, q.grad(), k.grad(), v.grad()}) {
      const std::vector<float> values = t.to_vector();
      all.insert(all.end(), values.begin(), values.end());
    }
    return all;
  };
  const int before = num_threads();
  const std::vector<float> one = run_at(1), two = run_at(2);
  set_num_threads(before);
  CHECK(one == two);
}

TEST_CASE("sequence ops pass gradcheck", "[sequence][gradcheck]") {
  using op_cases::OpCase;
  const std::vector<OpCase> cases = {
      {"embedding", {{5, 3}}, [](auto& x) { return embedding({4, 0, 4, 2}, {2, 2}, x[0]); }},
      {"layer_norm", {{2, 3, 6}, {6}, {6}}, [](auto& x) { return layer_norm(x[0], x[1], x[2]); }},
      {"layer_norm without bias", {{4, 5}, {5}},
       [](auto& x) { return layer_norm(x[0], x[1], Tensor()); }},
      {"rms_norm", {{2, 3, 6}, {6}}, [](auto& x) { return rms_norm(x[0], x[1]); }},
      {"rotary_embedding", {{2, 3, 2, 4}}, [](auto& x) { return rotary_embedding(x[0], 2); }},
      {"attention causal", {{2, 4, 2, 3}, {2, 4, 2, 3}, {2, 4, 2, 3}},
       [](auto& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"attention full, T = 0.5", {{1, 3, 2, 4}, {1, 3, 2, 4}, {1, 3, 2, 4}},
       [](auto& x) { return scaled_dot_product_attention(x[0], x[1], x[2], false, 0.5f); }},
      {"attention of length 1", {{2, 1, 2, 4}, {2, 1, 2, 4}, {2, 1, 2, 4}},
       [](auto& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      {"attention, 2 queries to 4 keys", {{1, 2, 2, 4}, {1, 4, 2, 4}, {1, 4, 2, 4}},
       [](auto& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); }},
      // q, k and v one tensor: the three gradients land in one buffer.
      {"self-attention of one tensor", {{1, 3, 2, 4}},
       [](auto& x) { return scaled_dot_product_attention(x[0], x[0], x[0]); }},
  };
  for (const OpCase& op : cases)
    for (uint64_t seed : {1, 2}) {
      INFO(op.name << " (seed " << seed << ")");
      GradcheckResult r = gradcheck(op.fn, op_cases::make_inputs(op, seed));
      INFO(r.message);
      CHECK(r.ok);
    }
}

TEST_CASE("sequence ops name the op and the shapes on bad input", "[sequence][errors]") {
  Tensor w = Tensor::zeros({5, 3});
  CHECK_THROWS_WITH(embedding({1, 5}, {2}, w),
                    "embedding: id 5 at position 1 is out of range for 5 rows (weight of shape "
                    "[5, 3])");
  CHECK_THROWS_WITH(embedding({1, 2, 3}, {2, 2}, w),
                    "embedding: 3 ids do not fill shape [2, 2] (4 elements)");
  CHECK_THROWS_WITH(layer_norm(Tensor::zeros({2, 4}), Tensor::ones({3}), Tensor()),
                    "layer_norm: input [2, 4], weight [3] and bias none do not fit: expected "
                    "[..., d], [d], [d]");
  CHECK_THROWS_WITH(rms_norm(Tensor::zeros({2, 4}), Tensor::ones({4, 1})),
                    "rms_norm: input [2, 4], weight [4, 1] and bias none do not fit: expected "
                    "[..., d], [d], [d]");
  CHECK_THROWS_WITH(rotary_embedding(Tensor::zeros({1, 2, 2, 3})),
                    "rotary_embedding: input of shape [1, 2, 2, 3] must be [batch, time, heads, "
                    "head_dim] with an even head_dim");
  Tensor q = Tensor::zeros({1, 3, 2, 4});
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, Tensor::zeros({1, 3, 2, 8}), q),
                    "scaled_dot_product_attention: q [1, 3, 2, 4], k [1, 3, 2, 8] and v [1, 3, "
                    "2, 4] do not fit: expected [batch, time, heads, head_dim] each, k and v of "
                    "one shape");
  Tensor k2 = Tensor::zeros({1, 2, 2, 4});
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, k2, k2),
                    "scaled_dot_product_attention: causal attention of 3 queries to 2 keys: "
                    "queries must not outnumber keys");
  CHECK_THROWS_WITH(scaled_dot_product_attention(q, q, q, true, 0.f),
                    "scaled_dot_product_attention: temperature must be > 0, got 0");
}

TEST_CASE("cross_entropy takes a sequence's logits reshaped to batch x time rows",
          "[sequence]") {
  // [2, 3, 4] logits: the mean over all 6 positions equals the mean of per-position losses.
  Generator gen(9);
  Tensor logits = Tensor::randn({2, 3, 4}, gen).set_requires_grad(true);
  const std::vector<int64_t> targets{0, 3, 1, 2, 2, 0};
  Tensor loss = cross_entropy(reshape(logits, {-1, 4}), targets);
  const std::vector<float> v = logits.to_vector();
  double want = 0.0;
  for (int64_t r = 0; r < 6; ++r) {
    double z = 0.0;
    for (int64_t j = 0; j < 4; ++j) z += std::exp(static_cast<double>(v[r * 4 + j]));
    want += std::log(z) - v[r * 4 + targets[r]];
  }
  CHECK(loss.item() == Approx(want / 6).epsilon(1e-6));
  loss.backward();
  CHECK(logits.grad().shape() == Shape{2, 3, 4});
}
