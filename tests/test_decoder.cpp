// nn::Decoder and its modules: the whole model against PyTorch with fixed weights (logits, the
// loss over [batch x time, vocab] and every parameter's gradient, saved by
// tests/reference/make_sequence_reference.py), causality at every length up to the context,
// parameter counts, attention maps, dropout, gradcheck of the modules, and bad options.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "actlab/actlab.hpp"
#include "reference_data.hpp"

using namespace actlab;
using Catch::Matchers::Contains;
using reference::numbers;

namespace {

// The reference's config in actlab's terms: "swiglu" is a gated block with silu on the gate.
nn::DecoderOptions options_from(const nlohmann::json& cfg) {
  nn::DecoderOptions o;
  o.vocab = cfg["vocab"];
  o.d_model = cfg["d_model"];
  o.n_layers = cfg["n_layers"];
  o.n_heads = cfg["n_heads"];
  o.d_ff = cfg["d_ff"];
  o.context = cfg["context"];
  o.norm = cfg["norm"];
  o.positions = cfg["positions"];
  o.tie_embeddings = cfg["tie_embeddings"];
  const bool gated = cfg["activation"] == "swiglu";
  o.block = gated ? "gated" : "standard";
  o.activation = gated ? "silu" : "gelu";
  return o;
}

std::vector<float> as_floats(const std::vector<int64_t>& ids) {
  return {ids.begin(), ids.end()};
}

double max_abs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// Tolerance for the whole model: float32 round-off through embedding, 2 blocks of norms,
// projections (sums of 16-32 terms), attention and the FFN, and the loss, both ways. The two
// sides sum in different orders (sgemm's kernel, which depends on the CPU and thread count,
// picks actlab's; we never ask for bits), so elements differ by many ulp of the tensor's
// scale. Measured worst over the four cases (1 and 2 OpenBLAS threads): 7e-7 of the tensor's
// largest magnitude, 3e-5 relative on elements above 1% of it. Allowed: 1e-5 of the largest
// magnitude (for elements near zero by cancellation) plus 1e-4 relative, 14 times the
// measured worst; a wrong or missing term is off by a good fraction of the scale.
void check_model_tensor(const std::vector<float>& got, const std::vector<float>& want,
                        const std::string& what) {
  reference::check_close(got, want, 1e-4, 1e-5 * max_abs(want), what);
}

}  // namespace

TEST_CASE("decoder matches PyTorch: logits, loss and every parameter gradient",
          "[decoder][reference]") {
  const nlohmann::json ref = reference::load("decoder.json");
  for (const auto& c : ref["cases"]) {
    INFO("config " << c["config"].dump() << ", time " << c["time"]);
    nn::Decoder model(options_from(c["config"]));
    std::vector<std::string> names, want_names;
    for (auto& [name, p] : model.named_parameters()) {
      names.push_back(name);
      REQUIRE(c["params"].contains(name));
      p.copy_(Tensor::from_vector(numbers(c["params"][name]),
                                  c["param_shapes"][name].get<std::vector<int64_t>>()));
    }
    for (auto& [name, v] : c["params"].items()) want_names.push_back(name);
    std::sort(names.begin(), names.end());
    std::sort(want_names.begin(), want_names.end());
    CHECK(names == want_names);

    const int64_t batch = c["batch"], time = c["time"], vocab = c["config"]["vocab"];
    Tensor ids = Tensor::from_vector(as_floats(c["ids"]), {batch, time});
    Tensor logits = model(ids);
    CHECK(logits.shape() == Shape{batch, time, vocab});
    check_model_tensor(logits.to_vector(), numbers(c["logits"]), "logits");
    Tensor loss = cross_entropy(reshape(logits, {-1, vocab}),
                                c["targets"].get<std::vector<int64_t>>());
    CHECK(loss.item() == Approx(c["loss"].get<double>()).epsilon(1e-5));
    loss.backward();
    for (auto& [name, p] : model.named_parameters()) {
      REQUIRE(p.grad().defined());
      check_model_tensor(p.grad().to_vector(), numbers(c["grads"][name]), "d" + name);
    }
  }
}

TEST_CASE("decoder: every prefix, of every length up to the context, sees no later token",
          "[decoder]") {
  for (const char* positions : {"rope", "learned"}) {
    INFO(positions);
    nn::DecoderOptions o;
    o.vocab = 7;
    o.d_model = 8;
    o.n_layers = 2;
    o.n_heads = 2;
    o.d_ff = 16;
    o.context = 6;
    o.positions = positions;
    Generator gen(4);
    nn::Decoder model(o, gen);
    const std::vector<int64_t> ids{3, 1, 6, 0, 2, 5};
    const std::vector<float> full = model.forward(ids, 1).to_vector();  // [1, 6, 7]
    for (int64_t t = 1; t <= o.context; ++t) {
      INFO("prefix of " << t);
      const std::vector<float> prefix =
          model.forward(std::vector<int64_t>(ids.begin(), ids.begin() + t), 1).to_vector();
      REQUIRE(prefix.size() == static_cast<size_t>(t * o.vocab));
      // The same float operations on the same rows; sgemm may block a shorter product
      // differently, so not bit for bit.
      reference::check_close(prefix, std::vector<float>(full.begin(), full.begin() + t * o.vocab),
                             1e-5, 1e-6, "prefix logits");
    }
  }
}

TEST_CASE("decoder parameter count: by formula, by hand and as built", "[decoder]") {
  nn::DecoderOptions o;
  o.vocab = 11;
  o.d_model = 16;
  o.n_layers = 2;
  o.n_heads = 2;
  o.d_ff = 32;
  o.context = 8;
  // embed 11*16 + 2 blocks of (norm 16 + attention 4*16*16 + norm 16 + FFN 2*16*32) + norm 16
  // + head 16*11.
  CHECK(nn::decoder_parameter_count(o) == 176 + 2 * (16 + 1024 + 16 + 1024) + 16 + 176);
  for (const char* norm : {"rms", "layer"})
    for (const char* positions : {"rope", "learned"})
      for (bool tie : {false, true})
        for (const char* block : {"standard", "gated"}) {
          o.norm = norm;
          o.positions = positions;
          o.tie_embeddings = tie;
          o.block = block;
          o.activation = std::string(block) == "gated" ? "swiglu" : "gelu";
          INFO(norm << " " << positions << " tie " << tie << " " << block);
          CHECK(nn::count_parameters(nn::Decoder(o)) == nn::decoder_parameter_count(o));
        }
  // Gated blocks at Shazeer's matched width hold about as many weights as standard ones.
  o.d_ff = 512;
  o.d_model = 128;
  o.block = "standard";
  o.activation = "gelu";
  const int64_t standard = nn::decoder_parameter_count(o);
  o.block = "gated";
  o.activation = "swiglu";
  o.d_ff = nn::matched_gated_d_ff(512);  // 341.3 -> 344
  CHECK(o.d_ff == 344);
  CHECK(static_cast<double>(nn::decoder_parameter_count(o)) / static_cast<double>(standard) ==
        Approx(1.0).margin(0.01));
}

TEST_CASE("decoder: a tied head is the embedding, and names follow the architecture", "[decoder]") {
  nn::DecoderOptions o;
  o.vocab = 5;
  o.d_model = 4;
  o.n_layers = 1;
  o.n_heads = 2;
  o.d_ff = 8;
  o.context = 3;
  o.norm = "layer";
  o.positions = "learned";
  o.tie_embeddings = true;
  nn::Decoder model(o);
  CHECK(model.head == nullptr);
  std::vector<std::string> names;
  for (auto& [name, p] : model.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{
                     "embed.weight", "positions.weight", "blocks.0.attn_norm.weight",
                     "blocks.0.attn_norm.bias", "blocks.0.attn.q.weight", "blocks.0.attn.k.weight",
                     "blocks.0.attn.v.weight", "blocks.0.attn.o.weight", "blocks.0.ffn_norm.weight",
                     "blocks.0.ffn_norm.bias", "blocks.0.ffn.up.weight", "blocks.0.ffn.down.weight",
                     "norm.weight", "norm.bias"});
}

TEST_CASE("decoder attention maps: kept on request, rows sum to 1, nothing ahead",
          "[decoder]") {
  nn::DecoderOptions o;
  o.vocab = 6;
  o.d_model = 8;
  o.n_layers = 2;
  o.n_heads = 2;
  o.d_ff = 8;
  o.context = 5;
  nn::Decoder model(o);
  for (nn::CausalSelfAttention* attn : model.attention_layers()) CHECK(!attn->attention.defined());
  model.forward({1, 2, 3, 4, 0, 5, 4, 3}, 2);
  for (nn::CausalSelfAttention* attn : model.attention_layers()) CHECK(!attn->attention.defined());
  for (nn::CausalSelfAttention* attn : model.attention_layers()) attn->keep_attention = true;
  model.forward({1, 2, 3, 4, 0, 5, 4, 3}, 2);
  for (nn::CausalSelfAttention* attn : model.attention_layers()) {
    REQUIRE(attn->attention.shape() == Shape{2, 2, 4, 4});
    const std::vector<float> p = attn->attention.to_vector();
    for (int64_t row = 0; row < 2 * 2 * 4; ++row) {
      const int64_t i = row % 4;
      double total = 0.0;
      for (int64_t j = 0; j < 4; ++j) {
        if (j > i) CHECK(p[row * 4 + j] == 0.f);
        total += p[row * 4 + j];
      }
      CHECK(total == Approx(1.0).epsilon(1e-6));
    }
  }
}

TEST_CASE("decoder dropout acts in training only", "[decoder]") {
  nn::DecoderOptions o;
  o.vocab = 6;
  o.d_model = 8;
  o.n_layers = 1;
  o.n_heads = 2;
  o.d_ff = 8;
  o.context = 4;
  Generator gen_a(11), gen_b(11);
  nn::Decoder plain(o, gen_a);
  o.dropout = 0.3f;
  nn::Decoder dropped(o, gen_b);  // the same weights: Dropout draws its seed either way
  const std::vector<int64_t> ids{1, 2, 3, 4};
  plain.eval();
  dropped.eval();
  CHECK(dropped.forward(ids, 1).to_vector() == plain.forward(ids, 1).to_vector());
  dropped.train();
  CHECK(dropped.forward(ids, 1).to_vector() != plain.forward(ids, 1).to_vector());
}

TEST_CASE("attention and norm modules pass gradcheck over input and weights",
          "[decoder][gradcheck]") {
  Generator gen(2);
  nn::CausalSelfAttention rope_attn(8, 2, true, gen);
  nn::CausalSelfAttention plain_attn(6, 3, false, gen);
  nn::LayerNorm layer(8);
  nn::RMSNorm rms(8);
  // Away from the neutral ones and zeros they start at, so that every term counts.
  for (Tensor* p : {&layer.weight, &layer.bias, &rms.weight})
    p->copy_(Tensor::uniform(p->shape(), 0.5f, 1.5f, gen));
  for (nn::Module* m : std::initializer_list<nn::Module*>{&rope_attn, &layer, &rms}) {
    INFO(m->describe());
    std::vector<Tensor> inputs{Tensor::randn({2, 3, 8}, gen).set_requires_grad(true)};
    for (Tensor& p : m->parameters()) inputs.push_back(p);
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return (*m)(in[0]); },
                                  inputs);
    INFO(r.message);
    CHECK(r.ok);
  }
  std::vector<Tensor> inputs{Tensor::randn({1, 4, 6}, gen).set_requires_grad(true)};
  for (Tensor& p : plain_attn.parameters()) inputs.push_back(p);
  GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return plain_attn(in[0]); }, inputs);
  INFO(r.message);
  CHECK(r.ok);
}

TEST_CASE("decoder refuses bad options and bad input with one clear line", "[decoder][errors]") {
  nn::DecoderOptions o;
  o.vocab = 11;
  o.d_model = 16;
  o.n_heads = 3;
  CHECK_THROWS_WITH(nn::Decoder(o), "Decoder: n_heads 3 does not divide d_model 16");
  o.n_heads = 2;
  o.norm = "batch";
  CHECK_THROWS_WITH(nn::Decoder(o), "Decoder: norm must be \"rms\" or \"layer\", got \"batch\"");
  o.norm = "rms";
  o.positions = "sinusoidal";
  CHECK_THROWS_WITH(nn::Decoder(o),
                    "Decoder: positions must be \"rope\" or \"learned\", got \"sinusoidal\"");
  o.positions = "rope";
  o.n_heads = 16;
  CHECK_THROWS_WITH(nn::Decoder(o),
                    "Decoder: positions \"rope\" needs an even head size, got d_model / n_heads "
                    "= 1");
  o.n_heads = 2;
  o.vocab = 0;
  CHECK_THROWS_WITH(nn::Decoder(o), "Decoder: vocab must be positive, got 0");
  o.vocab = 11;
  o.block = "gated";
  o.activation = "tanh";
  CHECK_THROWS_WITH(nn::Decoder(o), Contains("GatedFeedForward: unknown gate activation \"tanh\""));
  o.block = "standard";
  o.activation = "gelu";
  o.context = 4;
  nn::Decoder model(o);
  CHECK_THROWS_WITH(model.forward({1, 2, 3, 4, 5}, 1),
                    "Decoder: a sequence of 5 tokens is longer than the context of 4");
  CHECK_THROWS_WITH(model(Tensor::from_vector({1, 11}, {1, 2})),
                    "Decoder: token id 11 at position 1 is not a whole number in [0, 11)");
  CHECK_THROWS_WITH(model(Tensor::from_vector({1.5f}, {1, 1})),
                    "Decoder: token id 1.5 at position 0 is not a whole number in [0, 11)");
  CHECK_THROWS_WITH(model(Tensor::from_vector({1, 2}, {2})),
                    "Decoder: token ids of shape [2] must be [batch, time]");
}
