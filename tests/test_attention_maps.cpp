// A decoder's attention made visible (lab/attention_maps.hpp, report/attention_report.hpp):
// maps of a head whose scores are all 0 against the uniform rows they must be, the causal
// upper triangle, the row-sum check, head statistics of uniform and of collapsed heads, the
// collapse findings, and the heat map on a page.
#include <catch2/catch.hpp>

#include <cmath>

#include "actlab/actlab.hpp"
#include "actlab/lab/attention_maps.hpp"
#include "actlab/report/attention_report.hpp"
#include "html_check.hpp"

using namespace actlab;

namespace {

nn::DecoderOptions small_options() {
  nn::DecoderOptions o;
  o.vocab = 10;
  o.d_model = 16;
  o.n_layers = 2;
  o.n_heads = 2;
  o.d_ff = 32;
  o.context = 12;
  return o;
}

void scale(Tensor& w, float factor) {
  std::vector<float> v = w.to_vector();
  for (float& x : v) x *= factor;
  w.copy_(Tensor::from_vector(v, w.shape()));
}

// Queries of zeros: every score is 0, so every row i is uniform over its i + 1 keys.
void make_uniform(nn::Decoder& model) {
  for (nn::CausalSelfAttention* attn : model.attention_layers()) scale(attn->q.weight, 0.f);
}

}  // namespace

TEST_CASE("attention maps: rows of a head with zero scores are uniform over the keys they see",
          "[attention]") {
  nn::Decoder model(small_options());
  make_uniform(model);
  const std::vector<int64_t> ids{1, 2, 3, 4, 5, 6};
  const AttentionMaps maps = attention_maps(model, ids);
  REQUIRE(maps.layers == 2);
  REQUIRE(maps.heads == 2);
  REQUIRE(maps.time == 6);
  REQUIRE(maps.weights.size() == 2 * 2 * 6 * 6);
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 6; ++j) {
          INFO("layer " << l << " head " << h << " row " << i << " column " << j);
          const float w = maps.map(l, h)[i * 6 + j];
          if (j > i)
            CHECK(w == 0.f);  // masked: exactly 0
          else
            CHECK(w == Approx(1.0 / (i + 1)).epsilon(1e-6));
        }
  CHECK(max_row_sum_error(maps) < 1e-6);
  // The layers keep nothing afterwards and the model is back in its mode.
  for (nn::CausalSelfAttention* attn : model.attention_layers()) {
    CHECK_FALSE(attn->keep_attention);
    CHECK_FALSE(attn->attention.defined());
  }
  CHECK(model.is_training());
}

TEST_CASE("attention maps of a model with spread scores: causal, rows sum to 1", "[attention]") {
  Generator gen(3);
  nn::Decoder model(small_options(), gen);
  for (nn::CausalSelfAttention* attn : model.attention_layers()) scale(attn->q.weight, 8.f);
  const AttentionMaps maps = attention_maps(model, {0, 9, 4, 4, 7, 1, 2, 8, 3, 5, 6, 0});
  CHECK(max_row_sum_error(maps) < 1e-5);
  for (int64_t i = 0; i < maps.time; ++i)
    for (int64_t j = i + 1; j < maps.time; ++j) CHECK(maps.map(1, 1)[i * maps.time + j] == 0.f);
  CHECK_THROWS_WITH(attention_maps(model, std::vector<int64_t>(13, 1)),
                    "Decoder: a sequence of 13 tokens is longer than the context of 12");
}

TEST_CASE("max_row_sum_error is the worst row's |sum - 1|", "[attention]") {
  AttentionMaps maps{1, 1, 2, {1.f, 0.f, 0.5f, 0.48f}};
  CHECK(max_row_sum_error(maps) == Approx(0.02).epsilon(1e-5));
}

TEST_CASE("head statistics: uniform heads have the uniform entropy, sharpened heads collapse",
          "[attention]") {
  const int64_t n = 5, time = 8;
  Generator data_gen(1);
  std::vector<float> ids;
  for (int64_t i = 0; i < n * time; ++i) ids.push_back(static_cast<float>(data_gen.below(10)));
  const Tensor batch = Tensor::from_vector(ids, {n, time});

  nn::Decoder uniform(small_options());
  make_uniform(uniform);
  // Rows 1..7 see 2..8 keys: a uniform row's largest weight is 1/(i+1), its entropy log(i+1).
  double mean_log = 0, mean_max = 0;
  for (int64_t i = 1; i < time; ++i) mean_log += std::log(i + 1.0) / 7, mean_max += 1.0 / (i + 1) / 7;
  const std::vector<HeadStats> flat = attention_head_stats(uniform, batch, 256, 2);
  REQUIRE(flat.size() == 4);
  for (const HeadStats& s : flat) {
    CHECK(s.rows == n * (time - 1));
    CHECK(s.mean_entropy == Approx(mean_log).epsilon(1e-5));
    CHECK(s.uniform_entropy == Approx(mean_log).epsilon(1e-12));
    CHECK(s.mean_max_weight == Approx(mean_max).epsilon(1e-5));
    CHECK(s.collapsed_share == 0.0);
  }
  CHECK(flat[3].layer == 1);
  CHECK(flat[3].head == 1);
  CHECK(attention_head_stats(uniform, batch, 2, 16)[0].rows == 2 * (time - 1));

  // Queries scaled by 1000: scores differ by hundreds between keys, softmax is one-hot.
  Generator gen(4);
  nn::Decoder sharp(small_options(), gen);
  for (nn::CausalSelfAttention* attn : sharp.attention_layers()) scale(attn->q.weight, 1000.f);
  for (const HeadStats& s : attention_head_stats(sharp, batch)) {
    INFO("layer " << s.layer << " head " << s.head);
    CHECK(s.collapsed_share > 0.9);
    CHECK(s.mean_entropy < 0.1 * s.uniform_entropy);
  }
  CHECK_THROWS_WITH(attention_head_stats(uniform, Tensor::zeros({3, 1})),
                    "attention_head_stats: ids of shape [3, 1] hold no sequence of two or more "
                    "tokens");
}

TEST_CASE("collapse findings: an info for a few heads, a warning when most collapse",
          "[attention][diagnostics][findings]") {
  Diagnosis d;
  d.output_std = 3, d.output_scale = 2;  // outputs that vary: no finding of their own
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t h = 0; h < 2; ++h) d.attention.push_back({l, h, 100, 1.2, 1.9, 0.1, 0.4});
  CHECK(find_issues(d).empty());
  d.attention[3].collapsed_share = thresholds::kCollapsedHead;  // at the threshold: not yet
  CHECK(find_issues(d).empty());
  d.attention[3].collapsed_share = 0.97;
  d.attention[3].mean_entropy = 0.05;
  std::vector<Finding> one = find_issues(d);
  REQUIRE(one.size() == 1);
  CHECK(one[0].severity == "info");
  CHECK(one[0].layer == "block 2");
  CHECK(one[0].message ==
        "attention collapse (1 of the model's 4 heads put > 95% of their weight on one position "
        "in > 90% of rows): block 2 head 2 (97% of rows, mean entropy 0.05 nats vs 1.90 uniform)");
  d.attention[0].collapsed_share = d.attention[1].collapsed_share = 1.0;
  std::vector<Finding> most = find_issues(d);
  REQUIRE(most.size() == 2);
  CHECK(most[0].severity == "warning");
  CHECK(most[0].layer == "block 1");
  CHECK(most[0].message.find("3 of the model's 4 heads") != std::string::npos);
  CHECK(most[1].severity == "warning");
  CHECK(to_json(d)["attention"].size() == 4);
  CHECK(to_json(d)["attention"][3]["collapsed_share"] == 0.97);
}

TEST_CASE("attention heat maps on a page: one cell a visible entry, labelled, the mask empty",
          "[attention][report]") {
  nn::Decoder model(small_options());
  const std::vector<int64_t> ids{1, 2, 3, 4};
  const AttentionMaps maps = attention_maps(model, ids);
  report::Document doc("attention");
  add_attention_maps(doc, maps, {"a", " ", "\n", "<"});
  const std::string page = doc.html();
  const html_check::Parsed p = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  // 4 maps of 4 x 5 / 2 = 10 visible cells each.
  const std::vector<int> cells = p.find("g", "cells");
  REQUIRE(cells.size() == 4);
  for (int g : cells) CHECK(p.children(g, "rect").size() == 10);
  const std::vector<std::string> rows = p.texts("text");
  CHECK(std::count(rows.begin(), rows.end(), "\u2423") == 8);  // the space, as row and column
  CHECK(std::count(rows.begin(), rows.end(), "\u23ce") == 8);  // the newline
  CHECK(std::count(rows.begin(), rows.end(), "<") == 8);       // escaped, read back
  CHECK(html_check::contains(page, "Every row sums to 1: max |sum - 1| = "));
  CHECK(html_check::contains(page, "block 2 head 2"));
  CHECK_THROWS_WITH(add_attention_maps(doc, maps, {"a"}),
                    "add_attention_maps: 1 token labels for 4 positions");
}
