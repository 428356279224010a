// The activation catalog and the softmax table: autograd derivatives against closed forms,
// the facts read off each curve, a user's activation drawn like a built-in, the seed's
// temperature example with its true values, bad inputs, JSON and report pages.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numbers>

#include "actlab/core/autograd.hpp"
#include "actlab/lab/catalog.hpp"
#include "actlab/ops/ops.hpp"
#include "html_check.hpp"

using namespace actlab;

namespace {

// Every built-in activation but swish, which is listed under silu.
const std::vector<std::string> kBuiltins = {
    "identity", "relu", "leaky_relu", "prelu",     "elu",      "selu",    "celu",     "gelu",
    "gelu_tanh", "silu", "mish",       "softplus", "sigmoid", "tanh",    "hardswish"};

const std::vector<ActivationCurve>& catalog() {
  static const std::vector<ActivationCurve> c = activation_catalog();
  return c;
}

const ActivationCurve& find(const std::vector<ActivationCurve>& catalog, const std::string& name) {
  const auto it = std::find_if(catalog.begin(), catalog.end(),
                               [&](const ActivationCurve& c) { return c.name == name; });
  INFO(name);
  REQUIRE(it != catalog.end());
  return *it;
}

// The grid point at x (the default grid steps by 0.05 from -4).
size_t at(const ActivationCurve& c, double x) {
  const auto i = static_cast<size_t>(std::lround((x - c.x.front()) / (c.x[1] - c.x[0])));
  REQUIRE(c.x[i] == Approx(x).margin(1e-12));
  return i;
}

double sigmoid_of(double x) { return 1 / (1 + std::exp(-x)); }
double normal_pdf(double x) { return std::exp(-x * x / 2) / std::sqrt(2 * std::numbers::pi); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// f'(x) in closed form, one line an activation, at kinks and away from them (PyTorch's
// convention at a kink: relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = weight).
struct Derivative {
  const char* name;
  double x, expected;
};
const double kSeluScale = 1.0507009873554805, kSeluAlpha = 1.6732632423543772;
const std::vector<Derivative> kDerivatives = {
    {"identity", -3, 1},
    {"relu", 1, 1},
    {"relu", -1, 0},
    {"relu", 0, 0},
    {"leaky_relu", -1, 0.01},
    {"leaky_relu", 2, 1},
    {"prelu", -1, 0.25},
    {"elu", -1, std::exp(-1.0)},
    {"elu", 1, 1},
    {"selu", -1, kSeluScale * kSeluAlpha * std::exp(-1.0)},
    {"selu", 1, kSeluScale},
    {"celu", -1, std::exp(-1.0)},
    {"gelu", 0, 0.5},
    {"gelu", 1, normal_cdf(1) + normal_pdf(1)},
    {"gelu", -2, normal_cdf(-2) - 2 * normal_pdf(-2)},
    {"gelu_tanh", 0, 0.5},
    {"silu", 0, 0.5},
    {"silu", 1, sigmoid_of(1) * (1 + 1 * (1 - sigmoid_of(1)))},  // s (1 + x (1 - s))
    {"mish", 0, std::tanh(std::log(2.0))},
    {"softplus", 0, 0.5},
    {"softplus", 2, sigmoid_of(2)},
    {"sigmoid", 0, 0.25},
    {"sigmoid", 2, sigmoid_of(2) * (1 - sigmoid_of(2))},
    {"tanh", 0, 1},
    {"tanh", 1, 1 - std::tanh(1.0) * std::tanh(1.0)},
    {"hardswish", 0, 0.5},
    {"hardswish", 1, 5.0 / 6},
    {"hardswish", -3.5, 0},
    {"hardswish", 3.5, 1},
};

// The facts of each built-in, as its formula says they should be on [-4, 4].
struct Facts {
  const char* name;
  bool monotonic, smooth, zero_centred, saturates;
};
const std::vector<Facts> kFacts = {
    // name         monotonic smooth zero-centred saturates
    {"identity", true, true, true, false},
    {"relu", true, false, false, false},      // kink at 0; never negative
    {"leaky_relu", true, false, true, false},
    {"prelu", true, false, true, false},
    {"elu", true, true, true, false},         // alpha = 1: f' is continuous at 0
    {"selu", true, false, true, false},       // f' jumps from 1.76 to 1.05 at 0
    {"celu", true, true, true, false},
    {"gelu", false, true, true, false},       // dips to -0.17 near x = -0.75
    {"gelu_tanh", false, true, true, false},
    {"silu", false, true, true, false},
    {"mish", false, true, true, false},
    {"softplus", true, true, false, false},
    {"sigmoid", true, true, false, true},     // f'(+-4) = 0.018 against 0.25 at 0
    {"tanh", true, true, true, true},
    {"hardswish", false, false, true, false},  // f' jumps from 1.5 to 1 at x = 3
};

// A user's activation, as a reader would write one: x^2 from ops, no derivative written.
class Square final : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return mul(x, x); }
  std::string describe() const override { return "Square()"; }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct TempFile {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("actlab_catalog_" + std::to_string(::getpid()) + ".html");
  ~TempFile() { std::filesystem::remove(path); }
};

const std::vector<float> kSeedLogits = {2.0f, 1.0f, 0.1f};

}  // namespace

TEST_CASE("the catalog lists every built-in activation once, swish under silu", "[catalog]") {
  std::vector<std::string> names;
  for (const ActivationCurve& c : catalog()) names.push_back(c.name);
  CHECK(std::vector<std::string>(names.begin(), names.begin() + 15) == kBuiltins);
  CHECK(std::count(names.begin(), names.end(), "swish") == 0);
  CHECK(find(catalog(), "silu").aliases == std::vector<std::string>{"swish"});
  CHECK(display_name(find(catalog(), "silu")) == "silu (also swish)");
  for (const ActivationCurve& c : catalog()) {
    INFO(c.name);
    CHECK(c.x.size() == 161);
    CHECK(c.x.front() == -4);
    CHECK(c.x.back() == 4);
    CHECK(c.y.size() == c.x.size());
    CHECK(c.dy.size() == c.x.size());
  }
  CHECK(find(catalog(), "relu").info.use == nn::activation_info("relu").use);
}

TEST_CASE("catalog derivatives come from autograd and match the closed forms", "[catalog]") {
  for (const Derivative& d : kDerivatives) {
    INFO(d.name << "'(" << d.x << ")");
    const ActivationCurve& c = find(catalog(), d.name);
    CHECK(c.dy[at(c, d.x)] == Approx(d.expected).epsilon(1e-5).margin(1e-6));
  }
  // f(0) and f'(0) are read at 0 itself.
  CHECK(find(catalog(), "relu").df0 == 0);
  CHECK(find(catalog(), "sigmoid").df0 == Approx(0.25));
  CHECK(find(catalog(), "sigmoid").f0 == Approx(0.5));
  CHECK(find(catalog(), "tanh").df0 == Approx(1));
  CHECK(find(catalog(), "gelu").df0 == Approx(0.5));
  CHECK(find(catalog(), "silu").df0 == Approx(0.5));
  CHECK(find(catalog(), "softplus").f0 == Approx(std::log(2.0)));
}

TEST_CASE("catalog derivatives are the slopes of the drawn curves", "[catalog]") {
  // Central differences of float32 values h = 0.05 apart: truncation h^2 |f'''| / 6 < 1e-3
  // where f is twice differentiable, and h |jump of f''| / 4 = 0.0125 at 0 for elu and celu
  // (f'' jumps from 1 to 0); round-off about 1e-6. A wrong derivative (a lost factor, the
  // wrong branch) is off by far more. Kinked activations are left out (the difference
  // straddles the kink).
  for (const ActivationCurve& c : catalog()) {
    if (!c.smooth) continue;
    INFO(c.name);
    double worst = 0;
    for (size_t i = 1; i + 1 < c.x.size(); ++i)
      worst = std::max(worst, std::abs((c.y[i + 1] - c.y[i - 1]) / (c.x[i + 1] - c.x[i - 1]) -
                                       c.dy[i]));
    CHECK(worst < 0.015);
  }
}

TEST_CASE("catalog facts: monotonic, smooth, zero-centred, saturates", "[catalog]") {
  REQUIRE(kFacts.size() == kBuiltins.size());
  for (const Facts& f : kFacts) {
    INFO(f.name);
    const ActivationCurve& c = find(catalog(), f.name);
    CHECK(c.monotonic == f.monotonic);
    CHECK(c.smooth == f.smooth);
    CHECK(c.zero_centred == f.zero_centred);
    CHECK(c.saturates == f.saturates);
    CHECK(c.min_dy == *std::min_element(c.dy.begin(), c.dy.end()));
    CHECK(c.max_dy == *std::max_element(c.dy.begin(), c.dy.end()));
  }
  CHECK(find(catalog(), "sigmoid").max_dy == Approx(0.25));
  CHECK(find(catalog(), "gelu").min_dy < -0.1);
}

TEST_CASE("a user's activation is drawn with an autograd derivative, aliases under it",
          "[catalog]") {
  nn::register_activation(
      "square_catalog_test", [](const nlohmann::json&) { return std::make_unique<Square>(); },
      nn::ActivationInfo{"x squared", "x^2", "[0, inf)", "nowhere: a test", {}});
  nn::register_activation(
      "square_alias_test", [](const nlohmann::json&) { return std::make_unique<Square>(); },
      nn::ActivationInfo{"x squared again", "x^2", "[0, inf)", "nowhere", {},
                         "square_catalog_test"});
  const std::vector<ActivationCurve> mine = activation_catalog(-2, 2, 41);
  const ActivationCurve& c = mine.back();
  REQUIRE(c.name == "square_catalog_test");
  CHECK(c.aliases == std::vector<std::string>{"square_alias_test"});
  CHECK(c.info.formula == "x^2");
  REQUIRE(c.x.size() == 41);
  for (size_t i = 0; i < c.x.size(); ++i) {
    INFO(c.x[i]);
    CHECK(c.y[i] == Approx(c.x[i] * c.x[i]).margin(1e-6));
    CHECK(c.dy[i] == Approx(2 * c.x[i]).margin(1e-6));
  }
  CHECK(c.f0 == 0);
  CHECK(c.df0 == 0);
  CHECK_FALSE(c.monotonic);
  CHECK(c.smooth);
  CHECK_FALSE(c.zero_centred);  // never negative
  CHECK_FALSE(c.saturates);
}

TEST_CASE("the catalog refuses a bad grid and no autograd", "[catalog][errors]") {
  CHECK(error_of([] { activation_catalog(1, 1, 10); }) ==
        "activation_catalog: expected finite lo < hi and at least 3 points, found [1, 1] with "
        "10 points");
  CHECK(error_of([] { activation_catalog(-1, 1, 2); }) ==
        "activation_catalog: expected finite lo < hi and at least 3 points, found [-1, 1] with "
        "2 points");
  NoGradGuard guard;
  CHECK(error_of([] { activation_catalog(); }) ==
        "activation_catalog: derivatives need autograd, which a NoGradGuard turned off");
}

TEST_CASE("softmax_table gives the seed's example with its true values", "[catalog][softmax]") {
  const std::vector<SoftmaxRow> table = softmax_table(kSeedLogits, {0.5f, 1.f, 2.f});
  REQUIRE(table.size() == 3);
  // exp(l / T) / sum, in double: the seed rounds T = 0.5 to [0.88, 0.10, 0.02] and T = 2 to
  // [0.49, 0.31, 0.20], but the true values are these.
  const std::vector<std::vector<double>> expected = {{0.8637771182, 0.1168995209, 0.0193233608},
                                                     {0.6590011389, 0.2424329707, 0.0985658904},
                                                     {0.5016877571, 0.3042890063, 0.1940232366}};
  const std::vector<double> entropies = {0.4536683216, 0.8467381788, 1.0262439286};
  for (size_t r = 0; r < 3; ++r) {
    INFO("T = " << table[r].temperature);
    REQUIRE(table[r].probabilities.size() == 3);
    for (size_t i = 0; i < 3; ++i)
      CHECK(table[r].probabilities[i] == Approx(expected[r][i]).margin(1e-6));
    CHECK(table[r].entropy == Approx(entropies[r]).margin(1e-6));
    CHECK(table[r].max_probability == table[r].probabilities[0]);
  }
  CHECK(table[0].temperature == 0.5);
  CHECK(table[2].temperature == 2);
  // Hotter is softer: the entropy rises towards log 3 and the largest probability falls to 1/3.
  CHECK(table[0].entropy < table[1].entropy);
  CHECK(table[1].entropy < table[2].entropy);
  CHECK(table[2].entropy < std::log(3.0));
  CHECK(table[0].max_probability > table[1].max_probability);
  CHECK(table[1].max_probability > table[2].max_probability);
  CHECK(temperature_table(table).rows[0] ==
        std::vector<std::string>{"0.5", "0.8638", "0.1169", "0.0193", "0.4537", "0.8638"});
}

TEST_CASE("softmax_table: extreme temperatures and logits stay finite", "[catalog][softmax]") {
  const std::vector<SoftmaxRow> table = softmax_table({1000.f, -1000.f, 0.f}, {0.01f, 1e4f});
  CHECK(table[0].probabilities == std::vector<double>{1, 0, 0});
  CHECK(table[0].entropy == 0);  // 0 log 0 counts as 0
  CHECK(table[1].max_probability < 0.5);
  CHECK(std::isfinite(table[1].entropy));
  // The smallest normal temperature still gives a one-hot distribution, not NaN.
  CHECK(softmax_table({2.f, 1.f}, {std::numeric_limits<float>::min()})[0].probabilities ==
        std::vector<double>{1, 0});
}

TEST_CASE("softmax_table rejects empty lists, non-finite logits and T <= 0",
          "[catalog][softmax][errors]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(error_of([] { softmax_table({}, {1.f}); }) ==
        "logits: expected at least one number, found none");
  CHECK(error_of([] { softmax_table({1.f}, {}); }) ==
        "temperatures: expected at least one number, found none");
  CHECK(error_of([&] { softmax_table({1.f, nan}, {1.f}); }) ==
        "logits: expected finite numbers, found nan (value 2 of 2)");
  CHECK(error_of([&] { softmax_table({-inf}, {1.f}); }) ==
        "logits: expected finite numbers, found -inf");
  CHECK(error_of([] { softmax_table({1.f}, {0.f}); }) ==
        "temperatures: expected positive finite numbers, found 0");
  CHECK(error_of([] { softmax_table({1.f}, {1.f, -0.5f, 2.f}); }) ==
        "temperatures: expected positive finite numbers, found -0.5 (value 2 of 3)");
  CHECK(error_of([&] { softmax_table({1.f}, {inf}); }) ==
        "temperatures: expected positive finite numbers, found inf");
  CHECK(error_of([] { softmax_table({1.f}, {1.f, 2e-39f}); }) ==
        "temperatures: expected numbers >= 1.1754944e-38 (1 / T must not overflow float32), "
        "found 2e-39 (value 2 of 2)");
  try {
    softmax_table({1.f}, {0.f});
  } catch (const FieldError& e) {
    CHECK(e.path() == std::vector<std::string>{"temperatures"});
  }
}

TEST_CASE("catalog and softmax JSON carry every value", "[catalog][json]") {
  const nlohmann::json doc = catalog_json(catalog());
  REQUIRE(doc["activations"].size() == catalog().size());
  const nlohmann::json& relu = doc["activations"][1];
  CHECK(relu["name"] == "relu");
  CHECK(relu["formula"] == "max(0, x)");
  CHECK(relu["smooth"] == false);
  CHECK(relu["dy"].size() == 161);
  CHECK(relu["x"][0] == -4.0);
  CHECK(doc["activations"][9]["aliases"] == nlohmann::json::array({"swish"}));

  const nlohmann::json soft = softmax_json(kSeedLogits, softmax_table(kSeedLogits, {0.1f}));
  CHECK(soft["logits"] == nlohmann::json::array({2.0, 1.0, 0.1}));  // 0.1, not 0.10000000149
  CHECK(soft["rows"][0]["temperature"] == 0.1);
  CHECK(soft["rows"][0]["probabilities"].size() == 3);
}

TEST_CASE("the activations report has one chart per activation and the facts table",
          "[catalog][report]") {
  TempFile file;
  write_activations_report(file.path.string(), catalog());
  const std::string page = slurp(file.path);
  const html_check::Parsed parsed = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  const std::vector<std::string> captions = parsed.texts("figcaption");
  REQUIRE(captions.size() == catalog().size());
  CHECK(captions[1] == "relu: max(0, x)");
  CHECK(parsed.find("figure", "chart").size() == catalog().size());
  CHECK(parsed.find("path", "series").size() == 2 * catalog().size());  // f and f'
  CHECK(parsed.find("table").size() == 2);  // what each is, then the facts
  CHECK(parsed.find("tr").size() == 2 * (catalog().size() + 1));
  CHECK(html_check::contains(page, "hidden layers of MLPs and CNNs"));
  CHECK(error_of([&] { write_activations_report(file.path.string(), {}); }) ==
        "write_activations_report: nothing to report");
}

TEST_CASE("the softmax report draws the distribution at each temperature and a sweep over T",
          "[catalog][report]") {
  TempFile file;
  write_softmax_report(file.path.string(), kSeedLogits,
                       softmax_table(kSeedLogits, {0.5f, 1.f, 2.f}));
  const std::string page = slurp(file.path);
  const html_check::Parsed parsed = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  CHECK(parsed.texts("figcaption") ==
        std::vector<std::string>{"T = 0.5", "T = 1", "T = 2", "Each probability as T grows"});
  CHECK(parsed.find("rect", "bar").size() == 9);
  CHECK(parsed.find("path", "series").size() == 3);  // one line per logit in the sweep
  CHECK(parsed.texts("span") ==
        std::vector<std::string>{"p[0], logit 2", "p[1], logit 1", "p[2], logit 0.1"});
  CHECK(html_check::contains(page, "<td>0.8638</td>"));
  // The sweep stays within the temperatures softmax_table takes, at either extreme.
  for (const float t : {std::numeric_limits<float>::min(), std::numeric_limits<float>::max()})
    CHECK_NOTHROW(write_softmax_report(file.path.string(), kSeedLogits,
                                       softmax_table(kSeedLogits, {t})));
}

// Last in this file: the activation it registers stays registered in this process, and every
// later catalog would refuse it.
TEST_CASE("the catalog names an activation that is not elementwise", "[catalog][errors]") {
  class Total final : public nn::Module {
   public:
    Tensor forward(const Tensor& x) override { return sum(x); }
    std::string describe() const override { return "Total()"; }
  };
  nn::register_activation(
      "total_catalog_test", [](const nlohmann::json&) { return std::make_unique<Total>(); },
      "sums its input: not an activation");
  CHECK(error_of([] { activation_catalog(); }) ==
        "activation_catalog: activation \"total_catalog_test\": its output has shape [] for an "
        "input of shape [161]; expected an elementwise function");
}
