// `actlab generate RUN_DIR`: text from a trained decoder's checkpoint at a temperature and
// top-k, with the mean entropy of the distributions it drew from and the share of distinct
// tokens (as JSON with --json), and with --out DIR the prompt's attention maps.
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "actlab/io/run.hpp"
#include "actlab/lab/attention_maps.hpp"
#include "actlab/lab/generate.hpp"
#include "actlab/report/attention_report.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"

namespace actlab::cli {
namespace {

// A flag's text that must be a finite number >= 0 (an integer when `integer`): CLI11's Range
// lets NaN through and reads "-3" into an unsigned seed as 2^64 - 3.
CLI::Validator non_negative(bool integer) {
  return CLI::Validator(
      [integer](std::string& text) -> std::string {
        const char* first = text.data();
        const char* last = first + text.size();
        bool ok = false;
        if (integer) {
          uint64_t v = 0;
          const auto [end, error] = std::from_chars(first, last, v);
          ok = error == std::errc() && end == last;
        } else {
          double v = 0;
          const auto [end, error] = std::from_chars(first, last, v);
          ok = error == std::errc() && end == last && std::isfinite(v) && v >= 0;
        }
        if (ok) return "";
        return fmt::format("expected {} >= 0, found {}", integer ? "an integer" : "a number", text);
      },
      integer ? "INTEGER >= 0" : "NUMBER >= 0");
}

nn::Decoder& decoder_of(SavedRun& run) {
  auto* decoder = dynamic_cast<nn::Decoder*>(&run.trainer->model());
  if (decoder == nullptr)
    throw RunDirError(fmt::format("{}: the run's model is \"{}\", not a decoder: generate needs "
                                  "a run of model.kind \"decoder\"",
                                  run.dir, run.trainer->config().model.kind));
  return *decoder;
}

// The last `context` of the prompt's ids: what the model sees of it.
std::vector<int64_t> last_window(const std::vector<int64_t>& ids, int64_t context) {
  const auto from = static_cast<int64_t>(ids.size()) > context ? ids.end() - context : ids.begin();
  return {from, ids.end()};
}

class Generate final : public Command {
 public:
  CLI::App* add(CLI::App& app) override {
    CLI::App* cmd = app.add_subcommand(
        "generate", "sample text from a decoder run at a temperature, with the entropy of each "
                    "draw; --out draws the prompt's attention maps");
    cmd->add_option("run_dir", run_dir_, "a run directory of a decoder written by actlab train")
        ->required()
        ->type_name("RUN_DIR");
    prompt_option_ = cmd->add_option("--prompt", prompt_,
                    "the text to continue (default: a newline when the vocabulary holds one, "
                    "else its first token)")
        ->type_name("TEXT");
    cmd->add_option("--tokens", options_.tokens, "new tokens to generate")
        ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
        ->capture_default_str();
    cmd->add_option("--temperature", options_.temperature,
                    "sample from softmax(logits / T); 0 is argmax")
        ->check(non_negative(false))
        ->capture_default_str();
    cmd->add_option("--top-k", options_.top_k, "sample from the K most likely tokens (0: all)")
        ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
        ->capture_default_str();
    cmd->add_option("--seed", options_.seed, "the sampling generator's seed")
        ->check(non_negative(true))
        ->capture_default_str();
    cmd->add_flag("--json", json_, "print one JSON document");
    out_.add(*cmd, ": each head's attention over the prompt (its last context tokens)");
    return cmd;
  }

  int run() override {
    SavedRun run = open_run(run_dir_);
    nn::Decoder& model = decoder_of(run);
    const std::vector<std::string>& vocab = run.trainer->dataset().class_names;
    const std::string prompt = prompt_option_->count() > 0 ? prompt_ : default_prompt(vocab);
    const std::vector<int64_t> prompt_ids = for_flag("--prompt", [&] {
      std::vector<int64_t> ids = encode(prompt, vocab);
      if (ids.empty()) throw Error("the prompt is empty: give at least one character");
      return ids;
    });
    const std::string page = out_.claim();
    const Generation g = generate(model, prompt_ids, options_);
    const std::string text = decode(g.ids, vocab);
    if (!page.empty()) {
      const std::vector<int64_t> seen = last_window(prompt_ids, model.options().context);
      std::vector<std::string> tokens;
      for (int64_t id : seen) tokens.push_back(decode({id}, vocab));
      write_attention_report(page, decode(seen, vocab), text, attention_maps(model, seen), tokens);
    }
    const double tokens_per_second =
        g.seconds > 0 ? static_cast<double>(g.ids.size()) / g.seconds : 0.0;
    if (json_) {
      nlohmann::json doc = {
          {"run", run_dir_},
          {"prompt", prompt},
          {"prompt_ids", prompt_ids},
          {"text", text},
          {"ids", g.ids},
          {"settings",
           {{"tokens", options_.tokens},
            {"temperature", options_.temperature},
            {"top_k", options_.top_k},
            {"seed", options_.seed}}},
          {"mean_entropy", g.mean_entropy},
          {"distinct_share", g.distinct_share},
          {"entropies", g.entropies},
          {"seconds", g.seconds},
          {"tokens_per_second", tokens_per_second},
          {"attention", page.empty() ? nlohmann::json(nullptr) : nlohmann::json(page)}};
      fmt::print("{}\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      return kDone;
    }
    fmt::print("{}{}\n\n", prompt, text);
    fmt::print("{} tokens at T = {}, top-k {}, seed {}: mean entropy {:.3f} nats, distinct tokens "
               "{:.1f}%, {:.0f} tokens/s\n",
               g.ids.size(), options_.temperature,
               options_.top_k == 0 ? std::string("all") : std::to_string(options_.top_k),
               options_.seed, g.mean_entropy, 100 * g.distinct_share, tokens_per_second);
    if (!page.empty()) fmt::print("attention: {}\n", page);
    return kDone;
  }

 private:
  std::string run_dir_;
  std::string prompt_;
  CLI::Option* prompt_option_ = nullptr;
  GenerateOptions options_;
  bool json_ = false;
  ReportOut out_{"attention.html"};
};

const CommandRegistration generate_registration([] { return std::make_unique<Generate>(); });

}  // namespace
}  // namespace actlab::cli
