// `actlab activations`: every registered activation with its formula, range, derivative and
// where to use it, as a table on the terminal, one JSON document (--json, the curves included)
// or a report page with a chart of f and f' per activation (--out DIR). With --formula EXPR,
// the same for one formula, with its symbolic derivative printed as text.
#include <fmt/format.h>

#include <algorithm>

#include "actlab/lab/catalog.hpp"
#include "actlab/ops/formula.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace actlab::cli {
namespace {

// The formula and the advice are sentences too long for table cells: one line each, under
// the name.
void print_formulas(const std::vector<ActivationCurve>& catalog) {
  size_t width = 0;
  for (const ActivationCurve& c : catalog) width = std::max(width, display_name(c).size());
  fmt::print("{:<{}}  formula\n{:<{}}  where to use it\n", "activation", width, "", width);
  for (const ActivationCurve& c : catalog)
    fmt::print("{:<{}}  {}\n{:<{}}  {}\n", display_name(c), width,
               c.info.formula.empty() ? "-" : c.info.formula, "", width,
               c.info.use.empty() ? "-" : c.info.use);
}

class Activations final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "activations", "formula, range, derivative and where to use each registered activation");
    out_.add(*sub, " with a chart of f and f' for each");
    sub->add_flag("--json", json_, "print one JSON document (the curves included)");
    sub->add_option("--formula", formula_,
                    "only this formula in x, e.g. \"x * sigmoid(1.702 * x)\": its derivative as "
                    "text, range, f(0), f'(0) and the charts")
        ->type_name("EXPR");
    return sub;
  }

  int run() override {
    if (!formula_.empty()) return run_formula();
    const std::vector<ActivationCurve> catalog = activation_catalog();
    const std::string page = out_.claim();
    if (!page.empty()) write_activations_report(page, catalog);
    if (json_) {
      fmt::print("{}\n", catalog_json(catalog).dump(2));
      return kDone;
    }
    fmt::print("{} activations on [{}, {}]; f' by autograd, kinks as in PyTorch (relu'(0) = 0)\n\n",
               catalog.size(), catalog.front().x.front(), catalog.front().x.back());
    fmt::print("{}", text_table(activation_facts_table(catalog)));
    fmt::print("\n");
    print_formulas(catalog);
    if (!page.empty()) fmt::print("\nreport: {}\n", page);
    return kDone;
  }

 private:
  // One formula, checked as configs check it; a bad one is bad usage.
  int run_formula() {
    nn::ActivationInfo info;
    std::string derivative;
    try {
      const Formula f(formula_);
      f.check();
      derivative = f.derivative_text();
      info = {"a formula", formula_, f.range_text(), "-"};
    } catch (const Error& e) {
      throw UsageError(fmt::format("--formula: {}", e.what()));
    }
    const ActivationCurve curve = activation_curve("formula", info, {{"formula", formula_}});
    const std::string page = out_.claim();
    if (!page.empty()) write_activations_report(page, {curve});
    if (json_) {
      nlohmann::json doc = catalog_json({curve});
      doc["derivative"] = derivative;
      fmt::print("{}\n", doc.dump(2));
      return kDone;
    }
    fmt::print("f(x)  = {}\nf'(x) = {}\nrange: {}\nf(0) = {:g}, f'(0) = {:g}\n\n", formula_,
               derivative, info.range, curve.f0, curve.df0);
    fmt::print("{}", text_table(activation_facts_table({curve})));
    if (!page.empty()) fmt::print("\nreport: {}\n", page);
    return kDone;
  }

  ReportOut out_;
  std::string formula_;
  bool json_ = false;
};

const CommandRegistration activations_registration([] { return std::make_unique<Activations>(); });

}  // namespace
}  // namespace actlab::cli
