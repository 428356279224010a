// The findings of a diagnosis: each rule reads a few numbers, compares them with a threshold of
// diagnostics.hpp, and says what is wrong in the words of the seed's "Debugging activation
// issues" section, with its advice.
#include "actlab/lab/diagnostics.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "actlab/nn/activation.hpp"
#include "actlab/report/attention_report.hpp"  // head_name

namespace actlab {
namespace {

namespace th = thresholds;

std::string percent(double fraction) { return fmt::format("{:.0f}%", 100 * fraction); }

const std::string kHeInit =
    "He init for ReLU-like layers (init \"kaiming_normal\", He et al. 2015)";
const std::string kXavierInit = "Xavier init for tanh/sigmoid (init \"xavier_normal\")";
const std::string kReduceLr = "reduce the learning rate (optimizer.lr)";
const std::string kClip = "clip the gradients (train.clip_grad_norm, e.g. 1.0)";
const std::string kReluInHidden =
    "use ReLU/GELU in the hidden layers: sigmoid' <= 0.25 and tanh' <= 1 shrink the gradient at "
    "every layer";

void training_findings(const Diagnosis& d, std::vector<Finding>& out) {
  if (d.failure.empty()) return;
  out.push_back(
      {"warning",
       "training",
       fmt::format("{}; the diagnosis is of the last good state (step {})", d.failure, d.steps),
       {kReduceLr + ": the steps overshoot", kClip,
        "a decaying schedule (train.schedule \"cosine\")"}});
}

void layer_findings(const LayerStats& s, std::vector<Finding>& out) {
  if (s.dead_fraction >= th::kDeadInfo)
    out.push_back({s.dead_fraction >= th::kDeadWarning ? "warning" : "info",
                   s.name,
                   fmt::format("{}: {} dead {} units (0 for every test input, so no gradient "
                               "reaches their weights)",
                               s.name, percent(s.dead_fraction), s.activation),
                   {"try leaky_relu (model.activation \"leaky_relu\"): its negative slope keeps a "
                    "gradient flowing",
                    "a lower learning rate: one large step can push a unit's pre-activation below "
                    "zero for every input",
                    kHeInit + " with zero biases (init.bias: null)"}});
  if (s.saturated_fraction >= th::kSaturatedInfo)
    out.push_back({s.saturated_fraction >= th::kSaturatedWarning ? "warning" : "info",
                   s.name,
                   fmt::format("{}: {} of the {} outputs are saturated (within 0.01 of an "
                               "asymptote, where the derivative nearly vanishes)",
                               s.name, percent(s.saturated_fraction), s.activation),
                   {kReluInHidden, kXavierInit, "normalise the inputs to mean 0 and std 1"}});
  if (s.std > th::kExplodingStd)
    out.push_back({"warning",
                   s.name,
                   fmt::format("{}: exploding activations (std {:.3g})", s.name, s.std),
                   {kReduceLr, kClip, "check the init scale: " + kHeInit + "; " + kXavierInit}});
}

// Collapsed heads, one finding per block that has any (see thresholds::kCollapsedHead).
void attention_findings(const std::vector<HeadStats>& heads, std::vector<Finding>& out) {
  std::vector<std::vector<const HeadStats*>> by_block;
  size_t collapsed = 0;
  for (const HeadStats& h : heads) {
    if (h.collapsed_share <= th::kCollapsedHead) continue;
    by_block.resize(std::max(by_block.size(), static_cast<size_t>(h.layer + 1)));
    by_block[static_cast<size_t>(h.layer)].push_back(&h);
    ++collapsed;
  }
  const bool most = static_cast<double>(collapsed) >
                    th::kCollapsedHeadsWarning * static_cast<double>(heads.size());
  for (size_t block = 0; block < by_block.size(); ++block) {
    if (by_block[block].empty()) continue;
    std::vector<std::string> names;
    for (const HeadStats* h : by_block[block])
      names.push_back(fmt::format("{} ({} of rows, mean entropy {:.2f} nats vs {:.2f} uniform)",
                                  head_name(h->layer, h->head), percent(h->collapsed_share),
                                  h->mean_entropy, h->uniform_entropy));
    std::vector<std::string> advice = {
        "look at the heads' heat maps (actlab generate RUN_DIR --out DIR): one reading the "
        "previous or the first token is a positional head, not a fault"};
    if (most)
      advice.insert(advice.end(),
                    {kReduceLr + ", with a warm-up", kClip,
                     "attention entropy collapse precedes unstable training (Zhai et al. 2023)"});
    out.push_back({most ? "warning" : "info",
                   fmt::format("block {}", block + 1),
                   fmt::format("attention collapse ({} of the model's {} heads put > {:.0f}% of "
                               "their weight on one position in > {} of rows): {}",
                               collapsed, heads.size(), 100 * kCollapsedRowWeight,
                               percent(th::kCollapsedHead), fmt::join(names, "; ")),
                   advice});
  }
}

bool has_squashing_layer(const Diagnosis& d) {
  for (const LayerDiagnosis& l : d.layers)
    if (nn::is_activation(l.stats.activation) && nn::activation_info(l.stats.activation).saturated)
      return true;
  return false;
}

void gradient_findings(const Diagnosis& d, std::vector<Finding>& out) {
  if (!d.grad_ratio) return;
  const std::string layer = d.layers.empty() ? "gradients" : d.layers.front().stats.name;
  const std::string ratio =
      fmt::format("||dL/dW|| of the first weight ({}) is {:.2g} times the last's ({})",
                  d.grad_norms.front().name, *d.grad_ratio, d.grad_norms.back().name);
  if (*d.grad_ratio < th::kVanishingRatio) {
    std::vector<std::string> advice;
    if (has_squashing_layer(d)) advice = {kReluInHidden, kXavierInit};
    advice.push_back(kHeInit);
    advice.push_back("fewer layers, or residual blocks (model.kind \"ffn\")");
    out.push_back({"warning", layer, "vanishing gradients: " + ratio, advice});
  } else if (*d.grad_ratio > th::kExplodingRatio)
    out.push_back({"warning",
                   layer,
                   "exploding gradients: " + ratio,
                   {kReduceLr, kClip, "check the init scale: " + kHeInit}});
}

bool outputs_all_same(const Diagnosis& d) {
  return d.output_std < th::kSameOutputs * std::max(1.0, d.output_scale);
}

// The seed's "model outputs all same value" checklist.
void output_findings(const Diagnosis& d, std::vector<Finding>& out) {
  if (!outputs_all_same(d)) return;
  out.push_back({"warning",
                 "output",
                 fmt::format("outputs all the same value: their std across test inputs is {:.2g} "
                             "(mean |output| {:.3g}); causes: dead ReLUs, a bad initialisation, "
                             "or saturated sigmoid/tanh layers",
                             d.output_std, d.output_scale),
                 {"check the activation statistics per layer (mean, std, % zeros)",
                  "try Leaky ReLU instead of ReLU", "check the weight initialisation (Xavier/He)",
                  "reduce the learning rate if activations are exploding"}});
}

// The seed's "model very confident but wrong" checklist, with temperature scaling measured. A
// model whose outputs are all the same is left out: its confidence is that of one bias, and the
// cure lies upstream.
void calibration_findings(const Diagnosis& d, std::vector<Finding>& out) {
  if (!d.calibration || outputs_all_same(d)) return;
  const ConfidenceStats& before = d.calibration->before;
  const ConfidenceStats& after = d.calibration->after;
  if (before.ece < th::kEceWarning) return;
  const std::string fixed =
      fmt::format("temperature T = {:.2f} brings ECE to {:.3f} and NLL from {:.3f} to {:.3f}",
                  after.temperature, after.ece, before.nll, after.nll);
  if (after.temperature >= th::kOverconfidentT && before.mean_confidence > before.accuracy)
    out.push_back(
        {before.confident_wrong_rate >= th::kConfidentWrongWarning ? "warning" : "info",
         "output",
         fmt::format("overconfident: test ECE {:.3f} (mean confidence {} vs accuracy "
                     "{}), {} of test predictions confident (> 90%) but wrong; {}",
                     before.ece, percent(before.mean_confidence), percent(before.accuracy),
                     percent(before.confident_wrong_rate), fixed),
         {"label smoothing (loss.label_smoothing, e.g. 0.1)",
          "dropout before the last layer (model.dropout)",
          fmt::format("temperature scaling at inference: softmax(logits / {:.2f}) "
                      "(Guo et al. 2017)",
                      after.temperature),
          "regularise against overfitting (optimizer.weight_decay, more data, fewer "
          "steps), and check for data leakage"}});
  else if (after.temperature <= th::kUnderconfidentT)
    out.push_back({"info",
                   "output",
                   fmt::format("underconfident: test ECE {:.3f}; {}", before.ece, fixed),
                   {"train longer, or sharpen at inference with the temperature above"}});
}

}  // namespace

std::vector<Finding> find_issues(const Diagnosis& d) {
  std::vector<Finding> out;
  training_findings(d, out);
  for (const LayerDiagnosis& layer : d.layers) layer_findings(layer.stats, out);
  attention_findings(d.attention, out);
  gradient_findings(d, out);
  output_findings(d, out);
  calibration_findings(d, out);
  return out;
}

}  // namespace actlab
