// The attention parts of report pages: each head's weights over a prompt as heat maps (with
// the check that every row sums to 1), and each head's statistics over the evaluation data.
// The run report of a decoder and `actlab generate --out` share them.
#pragma once

#include <string>
#include <vector>

#include "actlab/lab/attention_maps.hpp"
#include "actlab/report/report.hpp"
#include "actlab/train/data.hpp"

namespace actlab {

// A token's text as a label on a map: a newline as "⏎", a space as "␣", a tab as "⇥", an
// empty text as "∅"; anything else as it is.
std::string token_label(const std::string& text);

// "block 1 head 2": how reports and findings name a head (both counted from 1, as the
// activation statistics count their layers).
std::string head_name(int64_t layer, int64_t head);

// Under a heading: the row-sum check ("every row sums to 1: max |sum - 1| = 6e-08 over 512
// rows"), then per layer a grid of its heads' maps, rows (queries) and columns (keys)
// labelled with `tokens` (token_label of each, one per position).
void add_attention_maps(report::Document& doc, const AttentionMaps& maps,
                        const std::vector<std::string>& tokens);

// Under a heading: each head's mean attention entropy beside a uniform head's, and the share
// of its rows that collapse onto one position, as a chart and a table.
void add_attention_head_stats(report::Document& doc, const std::vector<HeadStats>& stats);

// The attention section of a decoder run's report: the maps over the first
// kReportPromptTokens tokens of the first test sequence, and each head's statistics over (at
// most 256 sequences of) the test split. Token labels come from data.class_names.
inline constexpr int64_t kReportPromptTokens = 32;
void add_decoder_attention(report::Document& doc, nn::Decoder& model, const data::Dataset& data);

// The page `actlab generate --out DIR` writes: the prompt, the generated text, and the
// prompt's attention maps. Written atomically.
void write_attention_report(const std::string& path, const std::string& prompt,
                            const std::string& generated, const AttentionMaps& maps,
                            const std::vector<std::string>& tokens);

}  // namespace actlab
