// Comparing activations in a few lines: a sweep built in code (one base config, a grid over the
// activation and the seed), trained with actlab::run_compare, summarised per activation.
// Exits non-zero if ReLU does not beat sigmoid on spirals, the seed's claim in miniature.
#include <actlab/actlab.hpp>
#include <fmt/format.h>

using namespace actlab;

int main() {
  const nlohmann::json sweep = {
      {"base",
       {{"task", {{"name", "spirals"}, {"arms", 3}, {"n_train", 600}, {"n_test", 300}, {"noise", 0.05}}},
        {"model", {{"hidden", {32, 32}}, {"init", "kaiming_normal"}}},
        {"optimizer", {{"name", "adam"}, {"lr", 0.01}}},
        {"train", {{"epochs", 40}, {"eval_every", 100}}}}},
      {"grid", {{"model.activation", {"relu", "leaky_relu", "gelu", "sigmoid", "tanh"}},
                {"train.seed", {1, 2}}}}};
  const CompareResult result = run_compare(parse_sweep(sweep), /*jobs=*/2);

  fmt::print("{:<12} {:>18} {:>8}\n", "activation", "test accuracy", "% dead");
  double relu = 0, sigmoid = 0;
  for (const GroupSummary& g : result.groups) {
    fmt::print("{:<12} {:>9.3f} +- {:.3f} {:>8.1f}\n", g.group, g.final_metric.mean,
               g.final_metric.std, g.dead_percent.mean);
    if (g.group == "relu") relu = g.final_metric.mean;
    if (g.group == "sigmoid") sigmoid = g.final_metric.mean;
  }
  return relu > sigmoid ? 0 : 1;
}
