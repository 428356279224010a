// Sampling from a decoder (lab/generate.hpp): the next-token distribution against hand-computed
// numbers, the draw's frequencies, T = 0 and top-k = 1 against the model's own argmax step by
// step, reproducibility for a seed, the sliding window, and entropy rising with temperature.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "actlab/actlab.hpp"
#include "actlab/lab/generate.hpp"

using namespace actlab;
using Catch::Matchers::Contains;

namespace {

// A small decoder whose context (8) is shorter than prompt + generated text in the tests, so
// that the window slides.
nn::DecoderOptions small_options() {
  nn::DecoderOptions o;
  o.vocab = 12;
  o.d_model = 16;
  o.n_layers = 2;
  o.n_heads = 2;
  o.d_ff = 32;
  o.context = 8;
  return o;
}

// Logits spread wide: the head's weights scaled up, so that temperature changes the
// distribution a lot (at PyTorch's init the logits are nearly equal, every T nearly uniform).
void sharpen_head(nn::Decoder& model, float factor) {
  Tensor w = model.head->weight;
  std::vector<float> v = w.to_vector();
  for (float& x : v) x *= factor;
  w.copy_(Tensor::from_vector(v, w.shape()));
}

int64_t argmax_of_last(const Tensor& logits, int64_t vocab) {
  const float* last = logits.data() + (logits.numel() - vocab);
  return std::max_element(last, last + vocab) - last;
}

}  // namespace

TEST_CASE("next_token_distribution: softmax(logits / T) over the top k, by hand",
          "[generate]") {
  const std::vector<float> logits{2.f, 1.f, 0.1f};
  // p = exp(l / T) / sum: at T = 0.5, e^4, e^2, e^0.2 over their sum 63.2086.
  const std::vector<double> sharp = next_token_distribution(logits, 0.5f, 0);
  CHECK(sharp[0] == Approx(0.8637771182).epsilon(1e-7));
  CHECK(sharp[1] == Approx(0.1168995209).epsilon(1e-7));
  CHECK(sharp[2] == Approx(0.0193233608).epsilon(1e-7));
  CHECK(entropy(sharp) == Approx(0.4536683216).epsilon(1e-7));
  // top-k = 2 renormalises over e^4 and e^2; the third gets exactly 0.
  const std::vector<double> top2 = next_token_distribution(logits, 0.5f, 2);
  CHECK(top2[0] == Approx(0.8807970780).epsilon(1e-7));
  CHECK(top2[2] == 0.0);
  CHECK(entropy(top2) == Approx(0.3653338551).epsilon(1e-7));
  CHECK(entropy(next_token_distribution(logits, 2.f, 0)) == Approx(1.0262439286).epsilon(1e-7));
  // T = 0 and top-k = 1 are one-hot on the first largest logit; ties at the K-th place go to
  // the lower id.
  const std::vector<float> tied{1.f, 3.f, 3.f, 0.f};
  CHECK(next_token_distribution(tied, 0.f, 0) == std::vector<double>{0, 1, 0, 0});
  CHECK(next_token_distribution(tied, 1.f, 1) == std::vector<double>{0, 1, 0, 0});
  CHECK(entropy(next_token_distribution(tied, 0.f, 0)) == 0.0);
  // K at or above the vocabulary keeps everything.
  CHECK(next_token_distribution(logits, 0.5f, 3) == sharp);
  CHECK(next_token_distribution(logits, 0.5f, 10) == sharp);
  CHECK_THROWS_WITH(next_token_distribution(logits, -1.f, 0),
                    "next_token_distribution: temperature must be >= 0, got -1");
  CHECK_THROWS_WITH(next_token_distribution(logits, 1.f, -2),
                    "next_token_distribution: top_k must be >= 0, got -2");
}

TEST_CASE("sample_token draws each id at its probability", "[generate]") {
  const std::vector<double> p{0.2, 0.0, 0.5, 0.3};
  Generator gen(7);
  std::vector<int> counts(p.size(), 0);
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<size_t>(sample_token(p, gen))];
  // The standard error of a frequency near 0.5 over 20000 draws is 0.0035: 0.015 is > 4 of them
  // (and the seed is fixed, so the outcome is too).
  for (size_t i = 0; i < p.size(); ++i) CHECK(counts[i] / double(kDraws) == Approx(p[i]).margin(0.015));
  CHECK(counts[1] == 0);
  // A one-hot distribution gives its id without drawing.
  Generator a(3), b(3);
  CHECK(sample_token(std::vector<double>{0, 0, 1}, a) == 2);
  CHECK(a.next_u32() == b.next_u32());
}

TEST_CASE("generate at T = 0 and at top-k = 1 is the model's argmax, step by step, through "
          "the sliding window",
          "[generate]") {
  Generator init(11);
  nn::Decoder model(small_options(), init);
  sharpen_head(model, 4.f);
  const std::vector<int64_t> prompt{3, 1, 4};
  const GenerateOptions greedy{20, 0.f, 0, 1};
  const Generation g = generate(model, prompt, greedy);
  REQUIRE(g.ids.size() == 20);
  // The reference: the model run on the last `context` tokens, the argmax of its last row.
  std::vector<int64_t> text = prompt;
  {
    NoGradGuard no_grad;
    model.eval();
    for (int64_t id : g.ids) {
      const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(text.size()) - 8);
      const std::vector<int64_t> window(text.begin() + from, text.end());
      CHECK(id == argmax_of_last(model.forward(window, 1), 12));
      text.push_back(id);
    }
    model.train();
  }
  CHECK(g.mean_entropy == 0.0);
  // T = 0 draws nothing: any seed gives the same text; so does top-k = 1 at any T.
  CHECK(generate(model, prompt, {20, 0.f, 0, 999}).ids == g.ids);
  CHECK(generate(model, prompt, {20, 1.f, 1, 5}).ids == g.ids);
  CHECK(generate(model, prompt, {20, 2.5f, 1, 6}).ids == g.ids);
  CHECK(model.is_training());  // the mode it had is restored
}

TEST_CASE("generate is reproducible for a seed and differs between seeds", "[generate]") {
  Generator init(5);
  nn::Decoder model(small_options(), init);
  // A head of zeros: every next-token distribution is uniform over the 12 tokens, so two seeds
  // agree on 40 tokens with probability 12^-40 and each entropy is log 12.
  model.head->weight.copy_(Tensor::zeros(model.head->weight.shape()));
  const std::vector<int64_t> prompt{0};
  const Generation a = generate(model, prompt, {40, 1.f, 0, 1});
  const Generation again = generate(model, prompt, {40, 1.f, 0, 1});
  const Generation other = generate(model, prompt, {40, 1.f, 0, 2});
  CHECK(a.ids == again.ids);
  CHECK(a.entropies == again.entropies);
  CHECK(a.ids != other.ids);
  for (double h : a.entropies) CHECK(h == Approx(std::log(12.0)).epsilon(1e-12));
  // 40 uniform draws over 12 tokens leave few unseen (P(a token unseen) = (11/12)^40 = 3%).
  CHECK(a.distinct_share * 40 >= 10);
  CHECK(a.distinct_share * 40 <= 12);
  // top-k = 3 on equal logits keeps ids 0, 1 and 2 (ties go to the lower id).
  const Generation top3 = generate(model, prompt, {40, 1.f, 3, 1});
  for (int64_t id : top3.ids) CHECK(id < 3);
  for (double h : top3.entropies) CHECK(h == Approx(std::log(3.0)).epsilon(1e-12));
}

TEST_CASE("mean entropy of the next-token distribution rises with temperature", "[generate]") {
  nn::DecoderOptions o = small_options();
  o.vocab = 32;
  o.context = 16;
  Generator init(2);
  nn::Decoder model(o, init);
  sharpen_head(model, 3.f);
  std::vector<double> mean;
  for (float t : {0.5f, 1.f, 2.f}) {
    const Generation g = generate(model, {1, 2, 3}, {200, t, 0, 42});
    mean.push_back(g.mean_entropy);
    INFO("T " << t << ": mean entropy " << g.mean_entropy << ", distinct " << g.distinct_share);
    CHECK(g.mean_entropy < std::log(32.0));
  }
  // Measured: 0.99, 2.21, 3.15 nats (seed 42): the margins below are a third of the steps.
  CHECK(mean[0] + 0.3 < mean[1]);
  CHECK(mean[1] + 0.3 < mean[2]);
}

TEST_CASE("generate refuses bad prompts and options", "[generate]") {
  nn::Decoder model(small_options());
  CHECK_THROWS_WITH(generate(model, {}, {}),
                    "generate: the prompt holds no token (at least one is needed)");
  CHECK_THROWS_WITH(generate(model, {1, 12}, {}),
                    "generate: prompt token 12 (position 1) is outside the vocabulary [0, 12)");
  CHECK_THROWS_WITH(generate(model, {1}, {-1, 1.f, 0, 0}),
                    "generate: tokens must be >= 0, got -1");
  CHECK_THROWS_WITH(generate(model, {1}, {1, -0.5f, 0, 0}),
                    Contains("temperature must be a finite number >= 0, got -0.5"));
  CHECK_THROWS_WITH(generate(model, {1}, {1, 1.f, -1, 0}), "generate: top_k must be >= 0, got -1");
  const Generation none = generate(model, {1}, {0, 1.f, 0, 0});
  CHECK(none.ids.empty());
  CHECK(none.mean_entropy == 0.0);
  CHECK(none.distinct_share == 0.0);
}

TEST_CASE("encode takes the longest token at each place and names a character it lacks",
          "[generate]") {
  const std::vector<std::string> vocab{"a", "b", "\n", "\u00e9", "ab"};
  CHECK(encode("aba\n\u00e9", vocab) == std::vector<int64_t>{4, 0, 2, 3});
  CHECK(encode("", vocab).empty());
  CHECK_THROWS_WITH(encode("abx", vocab),
                    "character 3, \"x\", is not in the vocabulary of 5 tokens");
  // Characters are counted, not bytes: "ab" covers two, "é" is two bytes but one character.
  CHECK_THROWS_WITH(encode("ab\u00e9\u20ac", vocab),
                    "character 4, \"\u20ac\", is not in the vocabulary of 5 tokens");
  CHECK(decode({4, 0, 2, 3}, vocab) == "aba\n\u00e9");
  CHECK(decode({1, 5, -1}, vocab) == "b\uFFFD\uFFFD");
  CHECK(default_prompt(vocab) == "\n");
  CHECK(default_prompt({"x", "y"}) == "x");
  CHECK(default_prompt({}).empty());
}
