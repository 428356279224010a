// Attention on report pages: heat maps of each head over a prompt, grouped by layer, and a
// chart and a table of each head's statistics.
#include "actlab/report/attention_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "actlab/lab/generate.hpp"
#include "actlab/ops/ops.hpp"

namespace actlab {

std::string token_label(const std::string& text) {
  if (text == "\n") return "\u23ce";
  if (text == " ") return "\u2423";
  if (text == "\t") return "\u21e5";
  if (text.empty()) return "\u2205";
  return text;
}

std::string head_name(int64_t layer, int64_t head) {
  return fmt::format("block {} head {}", layer + 1, head + 1);
}

void add_attention_maps(report::Document& doc, const AttentionMaps& maps,
                        const std::vector<std::string>& tokens) {
  if (static_cast<int64_t>(tokens.size()) != maps.time)
    throw Error(fmt::format("add_attention_maps: {} token labels for {} positions", tokens.size(),
                            maps.time));
  doc.heading("Attention weights over the prompt");
  doc.paragraph(fmt::format(
      "Each map is one head: row i is query position i, column j key position j, the shade the "
      "weight softmax gives key j (white 0, dark blue 1). The causal mask leaves the grey upper "
      "triangle: a position never sees later ones. Every row sums to 1: max |sum - 1| = {:.2g} "
      "over {} rows.",
      max_row_sum_error(maps), maps.layers * maps.heads * maps.time));
  std::vector<std::string> labels;
  for (const std::string& t : tokens) labels.push_back(token_label(t));
  for (int64_t l = 0; l < maps.layers; ++l) {
    doc.begin_grid();
    for (int64_t h = 0; h < maps.heads; ++h) {
      report::HeatMap chart{head_name(l, h), "query", "key", labels, labels, {}};
      const float* w = maps.map(l, h);
      for (int64_t i = 0; i < maps.time; ++i)
        for (int64_t j = 0; j < maps.time; ++j)
          chart.values.push_back(j > i ? NAN : static_cast<double>(w[i * maps.time + j]));
      doc.add(chart);
    }
    doc.end_grid();
  }
}

void add_attention_head_stats(report::Document& doc, const std::vector<HeadStats>& stats) {
  if (stats.empty()) return;
  doc.heading("Attention per head (test split)");
  doc.paragraph(fmt::format(
      "The entropy of a head's attention rows in nats (first rows left out: they see one key), "
      "beside a uniform head's (the mean log of the keys a row sees), over {} rows a head. A "
      "row collapses when one key gets more than {:.0f}% of its weight.",
      stats.front().rows, 100 * kCollapsedRowWeight));
  report::LineChart entropy{"Attention entropy per head", "head (block by block)", "nats", false,
                            {{"mean entropy", {}, {}}, {"uniform", {}, {}}}};
  report::Table table{"",
                      {"head", "mean entropy (nats)", "uniform (nats)", "mean max weight",
                       "rows collapsed"},
                      {}};
  for (const HeadStats& s : stats) {
    entropy.series[0].y.push_back(s.mean_entropy);
    entropy.series[1].y.push_back(s.uniform_entropy);
    table.rows.push_back({head_name(s.layer, s.head), fmt::format("{:.3f}", s.mean_entropy),
                          fmt::format("{:.3f}", s.uniform_entropy),
                          fmt::format("{:.3f}", s.mean_max_weight),
                          fmt::format("{:.1f}%", 100 * s.collapsed_share)});
  }
  report::BarChart collapsed{"Rows collapsed onto one key (%)", "% of rows", false, {}, {}};
  for (const HeadStats& s : stats) {
    collapsed.labels.push_back(fmt::format("{}.{}", s.layer + 1, s.head + 1));
    collapsed.values.push_back(100 * s.collapsed_share);
  }
  doc.begin_grid();
  doc.add(entropy);
  doc.add(collapsed);
  doc.end_grid();
  doc.add(table);
}

void add_decoder_attention(report::Document& doc, nn::Decoder& model, const data::Dataset& data) {
  const Tensor& x = data.x_test;
  if (x.dim() != 2 || x.size(0) == 0) return;
  const int64_t time = std::min(x.size(1), kReportPromptTokens);
  const std::vector<int64_t> first =
      nn::token_ids(reshape(x, {-1}), model.options().vocab, "add_decoder_attention");
  const std::vector<int64_t> prompt(first.begin(), first.begin() + time);
  std::vector<std::string> tokens;
  for (int64_t id : prompt) tokens.push_back(decode({id}, data.class_names));
  add_attention_maps(doc, attention_maps(model, prompt), tokens);
  if (x.size(1) >= 2) add_attention_head_stats(doc, attention_head_stats(model, x));
}

void write_attention_report(const std::string& path, const std::string& prompt,
                            const std::string& generated, const AttentionMaps& maps,
                            const std::vector<std::string>& tokens) {
  report::Document doc("actlab generate: attention");
  doc.paragraph("Prompt: " + prompt);
  if (!generated.empty()) doc.paragraph("Generated: " + generated);
  add_attention_maps(doc, maps, tokens);
  doc.write(path);
}

}  // namespace actlab
