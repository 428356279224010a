// Text from a decoder: autoregressive sampling from softmax(logits / T) over the K most likely
// tokens, with the entropy of every distribution it drew from, so that what temperature does
// to randomness can be read off in numbers. As llama2.c's sampler: T = 0 is argmax, anything
// else a seeded draw from our own Generator, so a seed gives the same text everywhere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "actlab/nn/decoder.hpp"

namespace actlab {

struct GenerateOptions {
  int64_t tokens = 200;     // new tokens to generate, >= 0
  float temperature = 1.f;  // >= 0; 0 is argmax
  int64_t top_k = 0;        // keep the K most likely tokens (0: all of them)
  uint64_t seed = 0;        // the sampling generator's seed
};

struct Generation {
  std::vector<int64_t> ids;            // the new tokens only, without the prompt
  std::vector<double> entropies;       // per new token: the entropy (nats) it was drawn from
  double mean_entropy = 0;             // their mean (0 when no token was generated)
  double distinct_share = 0;           // distinct tokens in `ids` / their number (0 when none)
  double seconds = 0;                  // wall time of the loop (for tokens per second)
};

// The distribution a token is drawn from, given one position's logits: softmax(logits / T)
// over the top_k largest logits (all when top_k is 0 or >= their number), the others 0. Ties at
// the K-th place go to the lower id. T = 0 is the limit: probability 1 on the argmax (the first
// of equal largest logits, as torch.argmax). Throws Error for T < 0, top_k < 0 or no logits.
std::vector<double> next_token_distribution(std::span<const float> logits, float temperature,
                                            int64_t top_k);

// A draw from `p` (non-negative, summing to about 1): the first id whose running sum exceeds
// u * sum(p) for one uniform u of gen. A distribution that is one-hot gives its id and draws
// nothing.
int64_t sample_token(std::span<const double> p, Generator& gen);

// Continues `prompt` (at least one id, each in [0, vocab)) by options.tokens tokens, running
// the model in eval mode without recording (its mode is restored after). When the prompt and
// the text so far exceed the model's context, the model sees the last `context` tokens (the
// window slides). Reproducible: the same model, prompt and options give the same ids. Throws
// Error for an empty prompt, an id out of range or options out of range.
Generation generate(nn::Decoder& model, const std::vector<int64_t>& prompt,
                    const GenerateOptions& options);

// Text <-> token ids for a vocabulary of token texts (a sequence task's class_names: one UTF-8
// character each for text, "7", "+", "=" for the synthetic tasks).
// The ids of `text`: at each place the longest token text that starts there. Throws Error
// naming the first character that starts none, counted from 1: `character 3, "é", is not in
// the vocabulary of 65 tokens`.
std::vector<int64_t> encode(const std::string& text, const std::vector<std::string>& vocab);
// The tokens' texts joined; an id with no text (a model vocabulary wider than its task's) as
// U+FFFD, the replacement character.
std::string decode(const std::vector<int64_t>& ids, const std::vector<std::string>& vocab);
// The prompt `actlab generate` starts from when given none: a newline when the vocabulary
// holds one (text starts a line), else the first token. Empty for an empty vocabulary.
std::string default_prompt(const std::vector<std::string>& vocab);

}  // namespace actlab
