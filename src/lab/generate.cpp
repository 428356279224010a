// Sampling text from a decoder: the next-token distribution at a temperature and top-k, one
// seeded draw from it, and the loop that feeds each new token back through a sliding window.
#include "actlab/lab/generate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>

#include "actlab/core/autograd.hpp"
#include "actlab/lab/catalog.hpp"

namespace actlab {
namespace {

void check_options(const GenerateOptions& o) {
  if (o.tokens < 0) throw Error(fmt::format("generate: tokens must be >= 0, got {}", o.tokens));
  if (!(o.temperature >= 0.f) || !std::isfinite(o.temperature))
    throw Error(fmt::format("generate: temperature must be a finite number >= 0, got {}",
                            o.temperature));
  if (o.top_k < 0) throw Error(fmt::format("generate: top_k must be >= 0, got {}", o.top_k));
}

void check_prompt(const std::vector<int64_t>& prompt, int64_t vocab) {
  if (prompt.empty()) throw Error("generate: the prompt holds no token (at least one is needed)");
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      throw Error(fmt::format("generate: prompt token {} (position {}) is outside the vocabulary "
                              "[0, {})",
                              prompt[i], i, vocab));
}

double share_of_distinct(const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  return static_cast<double>(std::set<int64_t>(ids.begin(), ids.end()).size()) /
         static_cast<double>(ids.size());
}

// The bytes of the UTF-8 character that starts at text[at] (1 for a stray byte).
size_t character_length(const std::string& text, size_t at) {
  size_t n = 1;
  while (at + n < text.size() && (static_cast<unsigned char>(text[at + n]) & 0xC0) == 0x80) ++n;
  return n;
}

}  // namespace

std::vector<int64_t> encode(const std::string& text, const std::vector<std::string>& vocab) {
  std::vector<int64_t> ids;
  size_t character = 0;
  for (size_t at = 0; at < text.size();) {
    ++character;
    size_t best = 0;
    int64_t best_id = -1;
    for (size_t id = 0; id < vocab.size(); ++id) {
      const std::string& token = vocab[id];
      if (token.size() > best && text.compare(at, token.size(), token) == 0)
        best = token.size(), best_id = static_cast<int64_t>(id);
    }
    if (best_id < 0)
      throw Error(fmt::format("character {}, \"{}\", is not in the vocabulary of {} tokens",
                              character, text.substr(at, character_length(text, at)),
                              vocab.size()));
    ids.push_back(best_id);
    // The characters the token covered beyond its first.
    for (size_t end = at + best, next = at + character_length(text, at); next < end;
         next += character_length(text, next))
      ++character;
    at += best;
  }
  return ids;
}

std::string decode(const std::vector<int64_t>& ids, const std::vector<std::string>& vocab) {
  std::string text;
  for (int64_t id : ids)
    text += id >= 0 && id < static_cast<int64_t>(vocab.size()) ? vocab[static_cast<size_t>(id)]
                                                              : "\uFFFD";
  return text;
}

std::string default_prompt(const std::vector<std::string>& vocab) {
  if (std::find(vocab.begin(), vocab.end(), "\n") != vocab.end()) return "\n";
  return vocab.empty() ? "" : vocab.front();
}

std::vector<double> next_token_distribution(std::span<const float> logits, float temperature,
                                            int64_t top_k) {
  if (logits.empty()) throw Error("next_token_distribution: no logits");
  if (!(temperature >= 0.f))
    throw Error(fmt::format("next_token_distribution: temperature must be >= 0, got {}",
                            temperature));
  if (top_k < 0)
    throw Error(fmt::format("next_token_distribution: top_k must be >= 0, got {}", top_k));
  const size_t n = logits.size();
  std::vector<double> p(n, 0.0);
  if (temperature == 0.f) {
    p[static_cast<size_t>(std::max_element(logits.begin(), logits.end()) - logits.begin())] = 1;
    return p;
  }
  // The kept ids: all, or the K largest logits (stable, so ties go to the lower id).
  std::vector<size_t> kept(n);
  std::iota(kept.begin(), kept.end(), size_t{0});
  if (top_k > 0 && static_cast<size_t>(top_k) < n) {
    std::stable_sort(kept.begin(), kept.end(),
                     [&](size_t a, size_t b) { return logits[a] > logits[b]; });
    kept.resize(static_cast<size_t>(top_k));
  }
  double largest = -INFINITY;
  for (size_t i : kept) largest = std::max(largest, static_cast<double>(logits[i]));
  double total = 0;
  for (size_t i : kept) total += p[i] = std::exp((logits[i] - largest) / temperature);
  for (size_t i : kept) p[i] /= total;
  return p;
}

int64_t sample_token(std::span<const double> p, Generator& gen) {
  const auto one = std::find(p.begin(), p.end(), 1.0);
  if (one != p.end()) return one - p.begin();
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  const double target = static_cast<double>(gen.uniform()) * total;
  double running = 0;
  int64_t last_possible = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    running += p[i];
    last_possible = static_cast<int64_t>(i);
    if (running > target) return last_possible;
  }
  return last_possible;  // round-off left the running sum just short of the target
}

Generation generate(nn::Decoder& model, const std::vector<int64_t>& prompt,
                    const GenerateOptions& options) {
  check_options(options);
  const nn::DecoderOptions& shape = model.options();
  check_prompt(prompt, shape.vocab);
  const auto start = std::chrono::steady_clock::now();
  nn::EvalModeGuard eval(model);
  NoGradGuard no_grad;
  Generator gen(options.seed);
  std::vector<int64_t> text = prompt;
  Generation out;
  for (int64_t step = 0; step < options.tokens; ++step) {
    const auto window = static_cast<int64_t>(text.size()) > shape.context
                            ? text.end() - shape.context
                            : text.begin();
    const std::vector<int64_t> seen(window, text.end());
    const Tensor logits = model.forward(seen, 1);  // [1, time, vocab]
    const std::span<const float> last(logits.data() + (logits.numel() - shape.vocab),
                                      static_cast<size_t>(shape.vocab));
    const std::vector<double> p = next_token_distribution(last, options.temperature, options.top_k);
    const int64_t next = sample_token(p, gen);
    out.entropies.push_back(entropy(p));
    out.ids.push_back(next);
    text.push_back(next);
  }
  if (!out.entropies.empty())
    out.mean_entropy = std::accumulate(out.entropies.begin(), out.entropies.end(), 0.0) /
                       static_cast<double>(out.entropies.size());
  out.distinct_share = share_of_distinct(out.ids);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace actlab
