// W1-W7: the models, losses and optimisers of WORKLOADS.md built with actlab's public API, the
// matrix products each step makes (read off its Linear layers), and the shared timing of a
// step against its bound.
#include "workloads.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "actlab/actlab.hpp"

namespace bench {
namespace {

using actlab::Tensor;
namespace nn = actlab::nn;
namespace optim = actlab::optim;

using Loss = std::function<Tensor(const Tensor& output)>;
using MakeOptimizer = std::function<std::shared_ptr<optim::Optimizer>(std::vector<Tensor>)>;

// A Linear layer of the model (its weight's [out, in]), and whether its input needs a gradient
// (not so for the data).
struct LayerUse {
  int64_t in, out;
  bool input_grad;
};
LayerUse use(const nn::Linear& l, bool input_grad) {
  return {l.in_features(), l.out_features(), input_grad};
}

// The products of a step through `layers` (in forward order) on `rows` rows: forward
// Y = X W^T for each, then backward in reverse order dX = dY W (when wanted) and dW = dY^T X.
std::vector<Gemm> gemms_of(const std::vector<LayerUse>& layers, int64_t rows) {
  std::vector<Gemm> out;
  for (const LayerUse& u : layers) out.push_back({false, true, rows, u.out, u.in});
  for (auto u = layers.rbegin(); u != layers.rend(); ++u) {
    if (u->input_grad) out.push_back({false, false, rows, u->in, u->out});
    out.push_back({true, false, u->out, u->in, rows});
  }
  return out;
}

// One training step of `model` on a fixed batch x: zero_grad, forward, loss, backward, update.
Instance training(std::shared_ptr<nn::Module> model, Tensor x, Loss loss,
                  const MakeOptimizer& make_optimizer, std::vector<Gemm> gemms) {
  std::shared_ptr<optim::Optimizer> opt = make_optimizer(model->parameters());
  return {[model, x, loss, opt] {
            opt->zero_grad();
            loss((*model)(x)).backward();
            opt->step();
          },
          std::move(gemms)};
}

MakeOptimizer sgd(float lr) {
  return [lr](std::vector<Tensor> p) { return std::make_shared<optim::SGD>(std::move(p), lr); };
}
MakeOptimizer adam(float lr) {
  return [lr](std::vector<Tensor> p) { return std::make_shared<optim::Adam>(std::move(p), lr); };
}
MakeOptimizer adamw(float lr, float weight_decay) {
  return [lr, weight_decay](std::vector<Tensor> p) {
    return std::make_shared<optim::AdamW>(std::move(p), lr, 0.9f, 0.999f, 1e-8f, weight_decay);
  };
}

// An MLP classifier on a fixed random batch and random classes, with cross-entropy.
Instance mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t out, const char* activation,
             int64_t batch, const MakeOptimizer& make_optimizer) {
  actlab::Generator gen(1);
  auto model = std::make_shared<nn::MLP>(in, hidden, out, activation, nn::init::Scheme{}, 0.f, gen);
  std::vector<int64_t> classes(static_cast<size_t>(batch));
  for (int64_t& c : classes) c = static_cast<int64_t>(gen.below(static_cast<uint64_t>(out)));
  std::vector<LayerUse> layers;
  for (const nn::Linear* l : model->linears()) layers.push_back(use(*l, !layers.empty()));
  return training(model, Tensor::randn({batch, in}, gen),
                  [classes](const Tensor& y) { return actlab::cross_entropy(y, classes); },
                  make_optimizer, gemms_of(layers, batch));
}

// A feed-forward block on x [1024, 512], MSE against a fixed random target, AdamW.
constexpr int64_t kTokens = 1024, kModel = 512;

template <class Block, class Layers>
Instance ffn(std::shared_ptr<Block> block, Layers layers_of, actlab::Generator& gen) {
  const Tensor target = Tensor::randn({kTokens, kModel}, gen);
  return training(block, Tensor::randn({kTokens, kModel}, gen),
                  [target](const Tensor& y) { return actlab::mse_loss(y, target); },
                  adamw(1e-3f, 0.01f), gemms_of(layers_of(*block), kTokens));
}

Instance ffn_gelu() {
  actlab::Generator gen(4);
  return ffn(std::make_shared<nn::FeedForward>(kModel, 2048, "gelu", true, gen),
             [](const nn::FeedForward& b) {
               return std::vector<LayerUse>{use(b.up, false), use(b.down, true)};
             },
             gen);
}

Instance ffn_swiglu() {
  actlab::Generator gen(5);
  return ffn(std::make_shared<nn::GatedFeedForward>(kModel, 1408, "silu", false, gen),
             [](const nn::GatedFeedForward& b) {
               return std::vector<LayerUse>{use(b.gate, false), use(b.up, false),
                                            use(b.down, true)};
             },
             gen);
}

// sum(product(x, w)) over 2^24 floats, forward and backward; no optimiser: W6 and W6f, which
// differ only in how the product is written.
Instance gelu_alone_as(std::function<Tensor(const Tensor& x, const Tensor& w)> product) {
  constexpr int64_t n = int64_t{1} << 24;
  actlab::Generator gen(6);
  Tensor x = randn_leaf({n}, gen, true);
  const Tensor w = Tensor::randn({n}, gen);
  return {[x, w, product]() mutable {
            x.zero_grad();
            actlab::sum(product(x, w)).backward();
            keep(x.grad().data());
          },
          {},
          n};
}

// W6: gelu(x) * w op by op.
Instance gelu_alone() {
  return gelu_alone_as(
      [](const Tensor& x, const Tensor& w) { return actlab::mul(actlab::gelu(x), w); });
}

// W6f: the same through one fused expression.
Instance gelu_alone_fused() {
  return gelu_alone_as(
      [](const Tensor& x, const Tensor& w) { return actlab::fused("gelu(x) * w", {x, w}); });
}

// ---- W7: the tiny Llama-style decoder ----------------------------------------------------

constexpr int64_t kDecoderBatch = 16;  // sequences per training step
constexpr int kGeneratedTokens = 16;   // tokens per generation step (W7g)

// WORKLOADS.md's W7 model: SwiGLU blocks at the parameter-matched width (512 -> 344), RMSNorm,
// RoPE, the head tied to the embedding.
nn::DecoderOptions w7_options() {
  nn::DecoderOptions o;
  o.vocab = 96;
  o.d_model = 128;
  o.n_layers = 4;
  o.n_heads = 4;
  o.d_ff = nn::matched_gated_d_ff(512);
  o.context = 128;
  o.block = "gated";
  o.activation = "silu";
  o.norm = "rms";
  o.positions = "rope";
  o.tie_embeddings = true;
  return o;
}

// The products of a decoder's forward pass over `batch` sequences of `time` tokens, and of its
// backward when `backward`: every Linear (q, k, v, o, gate, up, down of each block, then the
// head, tied or not a d_model -> vocab product) as gemms_of has them, and per block, batch and
// head, attention's S = Q K^T and O = P V, backward dP = dO V^T, dQ = dS K, dK = dS^T Q and
// dV = P^T dO (src/ops/attention.cpp).
std::vector<Gemm> decoder_gemms(const nn::DecoderOptions& o, int64_t batch, int64_t time,
                                bool backward) {
  const int64_t d = o.d_model, f = o.d_ff, t = time, hd = o.d_model / o.n_heads;
  const std::vector<LayerUse> block = {{d, d, true}, {d, d, true}, {d, d, true}, {d, d, true},
                                       {d, f, true}, {d, f, true}, {f, d, true}};
  std::vector<LayerUse> layers;
  for (int64_t l = 0; l < o.n_layers; ++l) layers.insert(layers.end(), block.begin(), block.end());
  layers.push_back({d, o.vocab, true});
  std::vector<Gemm> out = gemms_of(layers, batch * t);
  if (!backward) out.resize(layers.size());
  const std::vector<Gemm> per_head =
      backward ? std::vector<Gemm>{{false, true, t, t, hd}, {false, false, t, hd, t},
                                   {false, true, t, t, hd}, {false, false, t, hd, t},
                                   {true, false, t, hd, t}, {true, false, t, hd, t}}
               : std::vector<Gemm>{{false, true, t, t, hd}, {false, false, t, hd, t}};
  for (int64_t i = 0; i < o.n_layers * batch * o.n_heads; ++i)
    out.insert(out.end(), per_head.begin(), per_head.end());
  return out;
}

// `n` token ids drawn uniformly from the vocabulary.
std::vector<int64_t> random_tokens(int64_t n, int64_t vocab, actlab::Generator& gen) {
  std::vector<int64_t> ids(static_cast<size_t>(n));
  for (int64_t& id : ids) id = static_cast<int64_t>(gen.below(static_cast<uint64_t>(vocab)));
  return ids;
}

// W7: one training step on a fixed batch of 16 random sequences of 128 tokens, next tokens
// random too: cross-entropy over [16 * 128, 96], AdamW lr 3e-4.
Instance decoder_training() {
  actlab::Generator gen(7);
  const nn::DecoderOptions o = w7_options();
  auto model = std::make_shared<nn::Decoder>(o, gen);
  const std::vector<int64_t> ids = random_tokens(kDecoderBatch * o.context, o.vocab, gen);
  const std::vector<int64_t> targets = random_tokens(kDecoderBatch * o.context, o.vocab, gen);
  std::vector<float> id_values(ids.begin(), ids.end());
  return training(model, Tensor::from_vector(std::move(id_values), {kDecoderBatch, o.context}),
                  [targets, vocab = o.vocab](const Tensor& logits) {
                    return actlab::cross_entropy(actlab::reshape(logits, {-1, vocab}), targets);
                  },
                  adamw(3e-4f, 0.01f), decoder_gemms(o, kDecoderBatch, o.context, true));
}

// A token drawn from softmax(logits) (temperature 1) of one row of `vocab` logits.
int64_t sample(const float* logits, int64_t vocab, actlab::Generator& gen) {
  const float top = *std::max_element(logits, logits + vocab);
  std::vector<double> cumulative(static_cast<size_t>(vocab));
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) cumulative[i] = total += std::exp(logits[i] - top);
  const double u = gen.uniform() * total;
  return std::upper_bound(cumulative.begin(), cumulative.end() - 1, u) - cumulative.begin();
}

// W7g: the W7 model generating 16 tokens at temperature 1 after a full context of 128 random
// tokens, each token recomputing the forward pass over the last 128 (no cache).
Instance decoder_generation() {
  actlab::Generator gen(8);
  const nn::DecoderOptions o = w7_options();
  auto model = std::make_shared<nn::Decoder>(o, gen);
  auto window = std::make_shared<std::vector<int64_t>>(random_tokens(o.context, o.vocab, gen));
  auto sampler = std::make_shared<actlab::Generator>(9);
  std::vector<Gemm> gemms;
  for (int i = 0; i < kGeneratedTokens; ++i) {
    const std::vector<Gemm> pass = decoder_gemms(o, 1, o.context, false);
    gemms.insert(gemms.end(), pass.begin(), pass.end());
  }
  return {[model, window, sampler, o] {
            actlab::NoGradGuard no_grad;
            for (int i = 0; i < kGeneratedTokens; ++i) {
              const Tensor logits = model->forward(*window, 1);  // [1, context, vocab]
              const float* last = logits.data() + (o.context - 1) * o.vocab;
              window->erase(window->begin());
              window->push_back(sample(last, o.vocab, *sampler));
            }
          },
          std::move(gemms), 0, kGeneratedTokens};
}

// The raw sgemm calls of `gemms` in a row, on operands as large as the largest of each.
std::function<void()> gemm_bound(const std::vector<Gemm>& gemms, actlab::Generator& gen) {
  int64_t a = 0, b = 0, c = 0;
  for (const Gemm& g : gemms) {
    a = std::max(a, g.m * g.k);
    b = std::max(b, g.k * g.n);
    c = std::max(c, g.m * g.n);
  }
  auto A = std::make_shared<Floats>(a, gen), B = std::make_shared<Floats>(b, gen);
  auto C = std::make_shared<Floats>(c, gen);
  return [gemms, A, B, C] {
    for (const Gemm& g : gemms) sgemm(g.ta, g.tb, g.m, g.n, g.k, A->data(), B->data(), C->data());
  };
}

// memcpy of n floats, split in equal parts over the run's thread count (OpenBLAS's, which
// --threads sets): at 2 threads the hardware copies faster than one core can.
std::function<void()> copy_bound(int64_t n, actlab::Generator& gen) {
  auto src = std::make_shared<Floats>(n, gen), dst = std::make_shared<Floats>(n, gen);
  const int parts = std::max(1, openblas_get_num_threads());
  return [src, dst, n, parts] {
    const auto copy_part = [&](int i) {
      const int64_t begin = n * i / parts, end = n * (i + 1) / parts;
      std::memcpy(dst->data() + begin, src->data() + begin,
                  sizeof(float) * static_cast<size_t>(end - begin));
    };
    std::vector<std::thread> helpers;
    for (int i = 1; i < parts; ++i) helpers.emplace_back(copy_part, i);
    copy_part(0);
    for (std::thread& t : helpers) t.join();
    keep(dst->data());
  };
}

}  // namespace

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = {
      {"W1", "MLP 2-64-64-2 ReLU, batch 128, cross-entropy, SGD", 500,
       [] { return mlp(2, {64, 64}, 2, "relu", 128, sgd(0.1f)); }},
      {"W2", "MLP 32-(16 x 64)-10 sigmoid, batch 64, cross-entropy, SGD", 200,
       [] { return mlp(32, std::vector<int64_t>(16, 64), 10, "sigmoid", 64, sgd(0.1f)); }},
      {"W3", "MLP 784-512-512-10 GELU, batch 256, cross-entropy, Adam", 100,
       [] { return mlp(784, {512, 512}, 10, "gelu", 256, adam(1e-3f)); }},
      {"W4", "FFN 512-2048-512 GELU + biases, x [1024,512], MSE, AdamW", 50, ffn_gelu},
      {"W5", "SwiGLU FFN 512-1408-512, no biases, x [1024,512], MSE, AdamW", 50, ffn_swiglu},
      {"W6", "sum(gelu(x) * w), x of 2^24 floats, forward + backward", 50, gelu_alone},
      {"W6f", "sum(fused(\"gelu(x) * w\", {x, w})), x of 2^24 floats, forward + backward", 50,
       gelu_alone_fused},
      {"W7", "decoder 4 x 128, SwiGLU, RMSNorm, RoPE, 16 x 128 tokens, cross-entropy, AdamW", 30,
       decoder_training},
      {"W7g", "W7's decoder generating 16 tokens at T = 1, full recompute over 128", 30,
       decoder_generation},
  };
  return all;
}

WorkloadResult run_workload(const Workload& w, int steps, bool with_bound) {
  const Instance inst = w.make();
  WorkloadResult r;
  r.steps = steps > 0 ? steps : w.default_steps;
  r.bound_key = inst.gemms.empty() ? "copy_bound_ms" : "gemm_bound_ms";
  std::vector<Bench> benches = {{"step", w.id, 1, inst.step}};
  if (with_bound) {
    actlab::Generator gen(99);
    benches.push_back({"bound", w.id, 1,
                       inst.gemms.empty() ? copy_bound(inst.copy_floats, gen)
                                          : gemm_bound(inst.gemms, gen)});
  }
  const std::vector<Stats> stats = run_benches(benches, r.steps, std::max(5, r.steps / 10));
  r.step = stats[0];
  if (with_bound) r.bound = stats[1];
  r.peak_rss_mib = peak_rss_mib();
  r.tokens_per_step = inst.tokens_per_step;
  return r;
}

}  // namespace bench
