// `actlab softmax`: softmax(logits / T) at a few temperatures, with entropy and the largest
// probability, as a table on the terminal, one JSON document (--json) or a report page
// (--out DIR). The defaults are the seed's example: logits [2, 1, 0.1] at T = 0.5, 1, 2.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "actlab/lab/catalog.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace actlab::cli {
namespace {

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(' ');
  return first == std::string::npos ? ""
                                    : text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// "2,1,0.1" (spaces allowed) as numbers; an item that is not a number is a usage error naming
// the flag. Which numbers are allowed is softmax_table's to say.
std::vector<float> parse_numbers(const std::string& flag, const std::string& text) {
  std::vector<float> values;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma - start));
    float v = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (error == std::errc::result_out_of_range)
      throw UsageError(fmt::format("{}: \"{}\" is out of float32's range", flag, item));
    if (item.empty() || error != std::errc() || end != item.data() + item.size())
      throw UsageError(
          fmt::format("{}: expected numbers separated by commas, found \"{}\"", flag, item));
    values.push_back(v);
    if (comma == std::string::npos) return values;
    start = comma + 1;
  }
}

// The table, or a usage error naming the flag whose numbers softmax_table refused (its
// FieldError's path is "logits" or "temperatures", as the flags are named).
std::vector<SoftmaxRow> table_for_flags(const std::vector<float>& logits,
                                        const std::vector<float>& temperatures) {
  try {
    return softmax_table(logits, temperatures);
  } catch (const FieldError& e) {
    throw UsageError(fmt::format("--{}: {}", fmt::join(e.path(), "."), e.reason()));
  }
}

// What temperature does in general, then what it did here, from the lowest T to the highest.
void print_explanation(const std::vector<SoftmaxRow>& table) {
  fmt::print("T < 1 sharpens the distribution (more confident), T > 1 softens it towards "
             "uniform; T = 1 is the standard softmax.\n");
  if (table.size() < 2) return;
  const auto [low, high] = std::minmax_element(
      table.begin(), table.end(),
      [](const SoftmaxRow& a, const SoftmaxRow& b) { return a.temperature < b.temperature; });
  const auto n = static_cast<double>(table.front().probabilities.size());
  fmt::print("Here the largest probability goes from {:.4f} at T = {} to {:.4f} at T = {}, and "
             "the entropy from {:.4f} to {:.4f} nats (uniform: {:.4f} and {:.4f}).\n",
             low->max_probability, low->temperature, high->max_probability, high->temperature,
             low->entropy, high->entropy, 1 / n, std::log(n));
}

class Softmax final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* sub = app.add_subcommand(
        "softmax", "softmax(logits / T) at a few temperatures: sharper below 1, softer above");
    sub->add_option("--logits", logits_, "comma-separated logits")
        ->type_name("LIST")
        ->capture_default_str();
    sub->add_option("--temperatures", temperatures_, "comma-separated temperatures T > 0")
        ->type_name("LIST")
        ->capture_default_str();
    sub->add_flag("--json", json_, "print one JSON document");
    out_.add(*sub);
    return sub;
  }

  int run() override {
    const std::vector<float> logits = parse_numbers("--logits", logits_);
    const std::vector<SoftmaxRow> table =
        table_for_flags(logits, parse_numbers("--temperatures", temperatures_));
    const std::string page = out_.claim();
    if (!page.empty()) write_softmax_report(page, logits, table);
    if (json_) {
      fmt::print("{}\n", softmax_json(logits, table).dump(2));
      return kDone;
    }
    fmt::print("softmax(logits / T) for logits [{}]\n\n", fmt::join(logits, ", "));
    fmt::print("{}\n", text_table(temperature_table(table)));
    print_explanation(table);
    if (!page.empty()) fmt::print("\nreport: {}\n", page);
    return kDone;
  }

 private:
  std::string logits_ = "2,1,0.1";
  std::string temperatures_ = "0.5,1,2";
  bool json_ = false;
  ReportOut out_;
};

const CommandRegistration softmax_registration([] { return std::make_unique<Softmax>(); });

}  // namespace
}  // namespace actlab::cli
