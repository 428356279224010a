// The activation modules (nn/activation.hpp) and the registry behind configs: each module is
// its functional op, PReLU learns its weight, make_activation builds every name with its
// parameters, bad specs give exact errors, and a user registers an activation in one call.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "actlab/actlab.hpp"

using namespace actlab;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kBuiltinNames = {
    "identity",  "relu", "leaky_relu", "prelu", "elu",      "selu",    "celu", "gelu",
    "gelu_tanh", "silu", "swish",      "mish",  "softplus", "sigmoid", "tanh", "hardswish"};

Tensor sample() {
  Generator gen(11);
  return Tensor::uniform({4, 3}, -3.f, 3.f, gen);
}

void check_same(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  CHECK(got.to_vector() == want.to_vector());
}

// The message of the Error that `fn` throws ("" when it throws none).
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("activation modules apply their functional op and describe themselves",
          "[nn][activation]") {
  const Tensor x = sample();
  const std::vector<std::tuple<std::unique_ptr<nn::Module>, Tensor, std::string>> cases = [&] {
    std::vector<std::tuple<std::unique_ptr<nn::Module>, Tensor, std::string>> v;
    v.emplace_back(std::make_unique<nn::Identity>(), x, "Identity()");
    v.emplace_back(std::make_unique<nn::ReLU>(), relu(x), "ReLU()");
    v.emplace_back(std::make_unique<nn::LeakyReLU>(), leaky_relu(x),
                   "LeakyReLU(negative_slope=0.01)");
    v.emplace_back(std::make_unique<nn::LeakyReLU>(0.2f), leaky_relu(x, 0.2f),
                   "LeakyReLU(negative_slope=0.2)");
    v.emplace_back(std::make_unique<nn::ELU>(), elu(x), "ELU(alpha=1)");
    v.emplace_back(std::make_unique<nn::ELU>(0.5f), elu(x, 0.5f), "ELU(alpha=0.5)");
    v.emplace_back(std::make_unique<nn::SELU>(), selu(x), "SELU()");
    v.emplace_back(std::make_unique<nn::CELU>(2.f), celu(x, 2.f), "CELU(alpha=2)");
    v.emplace_back(std::make_unique<nn::GELU>(), gelu(x), "GELU(approximate=none)");
    v.emplace_back(std::make_unique<nn::GELU>("tanh"), gelu_tanh(x), "GELU(approximate=tanh)");
    v.emplace_back(std::make_unique<nn::SiLU>(), silu(x), "SiLU()");
    v.emplace_back(std::make_unique<nn::Mish>(), mish(x), "Mish()");
    v.emplace_back(std::make_unique<nn::Softplus>(), softplus(x), "Softplus(beta=1, threshold=20)");
    v.emplace_back(std::make_unique<nn::Softplus>(2.f, 5.f), softplus(x, 2.f, 5.f),
                   "Softplus(beta=2, threshold=5)");
    v.emplace_back(std::make_unique<nn::Sigmoid>(), sigmoid(x), "Sigmoid()");
    v.emplace_back(std::make_unique<nn::Tanh>(), tanh(x), "Tanh()");
    v.emplace_back(std::make_unique<nn::Hardswish>(), hardswish(x), "Hardswish()");
    v.emplace_back(std::make_unique<nn::Softmax>(), softmax(x), "Softmax(dim=-1, temperature=1)");
    v.emplace_back(std::make_unique<nn::Softmax>(0, 0.5f), softmax(x, 0, 0.5f),
                   "Softmax(dim=0, temperature=0.5)");
    v.emplace_back(std::make_unique<nn::PReLU>(), prelu(x, Tensor::full({1}, 0.25f)),
                   "PReLU(num_parameters=1)");
    return v;
  }();
  for (const auto& [module, want, description] : cases) {
    INFO(description);
    check_same((*module)(x), want);
    CHECK(module->describe() == description);
  }
}

TEST_CASE("PReLU registers its weight and learns it", "[nn][activation]") {
  nn::PReLU per_channel(3, 0.1f);
  const auto params = per_channel.named_parameters();
  REQUIRE(params.size() == 1);
  CHECK(params[0].first == "weight");
  CHECK(params[0].second.shape() == Shape{3});
  CHECK(params[0].second.to_vector() == std::vector<float>{0.1f, 0.1f, 0.1f});
  CHECK(params[0].second.requires_grad());
  const Tensor x = Tensor::from_vector({-1.f, 2.f, -3.f, -4.f, 5.f, -6.f}, {2, 3});
  sum(per_channel(x)).backward();
  // d/dw_c = sum over channel c of (x > 0 ? 0 : x).
  CHECK(per_channel.weight.grad().to_vector() == std::vector<float>{-5.f, 0.f, -9.f});
  CHECK(nn::count_parameters(nn::PReLU()) == 1);
  CHECK(error_of([] { nn::PReLU(0); }) == "PReLU: num_parameters must be >= 1, got 0");
}

TEST_CASE("activation modules reject bad options when built", "[nn][activation][errors]") {
  CHECK(error_of([] { nn::GELU("fast"); }) ==
        "GELU: approximate must be \"none\" or \"tanh\", got \"fast\"");
  CHECK(error_of([] { nn::Softmax(-1, 0.f); }) == "Softmax: temperature must be > 0, got 0");
  CHECK(error_of([] { nn::CELU(0.f); }) == "CELU: alpha must not be 0 (CELU divides by it)");
  CHECK(error_of([] { nn::Softplus(0.f); }) ==
        "Softplus: beta must not be 0 (softplus divides by it)");
}

TEST_CASE("make_activation builds every registered name", "[nn][activation][registry]") {
  const std::vector<std::string> names = nn::activation_names();
  REQUIRE(names.size() >= kBuiltinNames.size());
  CHECK(std::vector<std::string>(names.begin(), names.begin() + 16) == kBuiltinNames);
  const Tensor x = sample();
  for (const std::string& name : kBuiltinNames) {
    INFO(name);
    const std::unique_ptr<nn::Module> module = nn::make_activation(name);
    REQUIRE(module);
    CHECK(module->operator()(x).shape() == x.shape());
    const nn::ActivationInfo info = nn::activation_info(name);
    CHECK_FALSE(info.description.empty());
    CHECK_FALSE(info.formula.empty());
    CHECK_FALSE(info.range.empty());
    CHECK_FALSE(info.use.empty());
    CHECK(nn::activation_schema(name)["properties"]["name"]["const"] == name);
  }
}

TEST_CASE("make_activation: names map to modules, parameters ride along as fields",
          "[nn][activation][registry]") {
  const auto described = [](const json& spec) { return nn::make_activation(spec)->describe(); };
  CHECK(described("relu") == "ReLU()");
  CHECK(described("swish") == "SiLU()");
  CHECK(described("silu") == "SiLU()");
  CHECK(described("identity") == "Identity()");
  CHECK(described("gelu") == "GELU(approximate=none)");
  CHECK(described("gelu_tanh") == "GELU(approximate=tanh)");
  CHECK(described({{"name", "gelu"}, {"approximate", "tanh"}}) == "GELU(approximate=tanh)");
  CHECK(described({{"name", "leaky_relu"}, {"negative_slope", 0.2}}) ==
        "LeakyReLU(negative_slope=0.2)");
  CHECK(described({{"name", "elu"}, {"alpha", 0.5}}) == "ELU(alpha=0.5)");
  CHECK(described({{"name", "celu"}, {"alpha", 2}}) == "CELU(alpha=2)");
  CHECK(described({{"name", "softplus"}, {"beta", 2}, {"threshold", 5}}) ==
        "Softplus(beta=2, threshold=5)");
  CHECK(described({{"name", "prelu"}, {"num_parameters", 8}}) == "PReLU(num_parameters=8)");
  CHECK(described(json{{"name", "relu"}}) == "ReLU()");

  const auto prelu_module = nn::make_activation({{"name", "prelu"}, {"init", 0.1}});
  CHECK(prelu_module->parameters()[0].to_vector() == std::vector<float>{0.1f});

  const Tensor x = Tensor::from_vector({-2.f, 3.f}, {2});
  CHECK(nn::make_activation({{"name", "leaky_relu"}, {"negative_slope", 0.2}})
            ->forward(x)
            .to_vector() == std::vector<float>{-0.4f, 3.f});
}

TEST_CASE("resolve_activation fills in PyTorch's defaults", "[nn][activation][registry]") {
  CHECK(nn::resolve_activation("relu") == json{{"name", "relu"}});
  CHECK(nn::resolve_activation("leaky_relu") ==
        json{{"name", "leaky_relu"}, {"negative_slope", 0.01}});
  CHECK(nn::resolve_activation("prelu") ==
        json{{"name", "prelu"}, {"num_parameters", 1}, {"init", 0.25}});
  CHECK(nn::resolve_activation({{"name", "softplus"}, {"beta", 2}}) ==
        json{{"name", "softplus"}, {"beta", 2.0}, {"threshold", 20.0}});
  CHECK(nn::resolve_activation("gelu") == json{{"name", "gelu"}, {"approximate", "none"}});
  const json schema = nn::activation_schema("leaky_relu");
  CHECK(schema["properties"]["negative_slope"]["default"] == 0.01);
  CHECK(schema["additionalProperties"] == false);
}

TEST_CASE("make_activation: bad specs give one clear line", "[nn][activation][registry][errors]") {
  const auto error = [](const json& spec) { return error_of([&] { nn::make_activation(spec); }); };
  const std::string known =
      "known: identity, relu, leaky_relu, prelu, elu, selu, celu, gelu, gelu_tanh, silu, swish, "
      "mish, softplus, sigmoid, tanh, hardswish";
  const auto starts_with = [](const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
  };
  // Unknown names list the known ones and suggest the closest, when one is close.
  std::string e = error("gleu");
  CHECK(starts_with(e, "activation: unknown activation \"gleu\"; " + known));
  CHECK_THAT(e, Catch::Matchers::EndsWith("; did you mean \"gelu\"?"));
  e = error({{"name", "relu6"}});
  CHECK(starts_with(e, "activation.name: unknown activation \"relu6\"; " + known));
  CHECK_THAT(e, Catch::Matchers::EndsWith("; did you mean \"relu\"?"));
  CHECK_THAT(error("Swish"), Catch::Matchers::EndsWith("; did you mean \"swish\"?"));
  CHECK_THAT(error("quadratic"), !Catch::Matchers::Contains("did you mean"));
  // Unknown, mistyped and out-of-range fields name the field, the activation and what fits.
  CHECK(error({{"name", "leaky_relu"}, {"negative_slop", 0.2}}) ==
        "activation.negative_slop: unknown field \"negative_slop\" for activation "
        "\"leaky_relu\"; known: negative_slope; did you mean \"negative_slope\"?");
  CHECK(error({{"name", "leaky_relu"}, {"slope", 0.2}}) ==
        "activation.slope: unknown field \"slope\" for activation \"leaky_relu\"; known: "
        "negative_slope");
  CHECK(error({{"name", "relu"}, {"alpha", 1}}) ==
        "activation.alpha: unknown field \"alpha\": activation \"relu\" takes no parameters");
  CHECK(error({{"name", "leaky_relu"}, {"negative_slope", "0.2"}}) ==
        "activation.negative_slope: in activation \"leaky_relu\", expected a number, found "
        "\"0.2\"");
  CHECK(error({{"name", "prelu"}, {"num_parameters", 0}}) ==
        "activation.num_parameters: in activation \"prelu\", expected an integer >= 1, found 0");
  CHECK(error({{"name", "prelu"}, {"num_parameters", 2.5}}) ==
        "activation.num_parameters: in activation \"prelu\", expected an integer >= 1, found 2.5");
  CHECK(error({{"name", "softplus"}, {"beta", 0}}) ==
        "activation.beta: in activation \"softplus\", expected a number > 0, found 0");
  CHECK(error({{"name", "gelu"}, {"approximate", "tanhh"}}) ==
        "activation.approximate: in activation \"gelu\", expected one of none, tanh, found "
        "\"tanhh\"; did you mean \"tanh\"?");
  // Specs that are neither a name nor an object with one.
  CHECK(error(3) ==
        "activation: expected an activation name or an object with a \"name\", found 3");
  CHECK(error({{"negative_slope", 0.2}}) ==
        "activation.name: expected an activation name, found nothing; " + known);
}

TEST_CASE("make_activation's errors carry a path a config can re-root",
          "[nn][activation][registry][errors]") {
  try {
    nn::make_activation({{"name", "elu"}, {"alpha", "big"}});
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(e.path() == std::vector<std::string>{"activation", "alpha"});
    CHECK(e.within("model").pointer_path() == "/model/activation/alpha");
  }
}

namespace {

// A user's activation, written outside the library: squareplus(x) = (x + sqrt(x^2 + b)) / 2
// (Barron 2021), composed of differentiable ops.
class Squareplus final : public nn::Module {
 public:
  explicit Squareplus(float b) : b_(b) {}
  Tensor forward(const Tensor& x) override { return (x + sqrt(square(x) + b_)) * 0.5f; }
  std::string describe() const override { return fmt::format("Squareplus(b={})", b_); }

 private:
  float b_;
};

}  // namespace

TEST_CASE("a user registers an activation in one call", "[nn][activation][registry]") {
  nn::register_activation(
      "squareplus_test",
      [](const json& spec) { return std::make_unique<Squareplus>(spec.value("b", 4.f)); },
      "squareplus: (x + sqrt(x^2 + b)) / 2, a smooth ReLU without exponentials");
  const std::vector<std::string> names = nn::activation_names();
  CHECK(names.back() == "squareplus_test");
  CHECK(nn::activation_info("squareplus_test").description ==
        "squareplus: (x + sqrt(x^2 + b)) / 2, a smooth ReLU without exponentials");
  const auto module = nn::make_activation({{"name", "squareplus_test"}, {"b", 0.f}});
  CHECK(module->forward(Tensor::from_vector({-2.f, 3.f}, {2})).to_vector() ==
        std::vector<float>{0.f, 3.f});
  CHECK(nn::make_activation("squareplus_test")->describe() == "Squareplus(b=4)");
  // The name is taken now, and so are the built-in ones.
  CHECK(error_of([] { nn::register_activation("squareplus_test", nullptr, "again"); }) ==
        "register_activation: \"squareplus_test\" has no factory");
  CHECK(error_of([] {
          nn::register_activation(
              "relu", [](const json&) { return std::make_unique<nn::ReLU>(); }, "mine");
        }) == "register_activation: \"relu\" is already registered");
  // Unknown names now list it too.
  CHECK_THAT(error_of([] { nn::make_activation("squareplus_tset"); }),
             Catch::Matchers::EndsWith("squareplus_test; did you mean \"squareplus_test\"?"));
}

TEST_CASE("an alias names a registered activation that is not an alias itself",
          "[nn][activation][registry]") {
  CHECK(nn::activation_info("swish").alias_of == "silu");
  CHECK(nn::activation_info("silu").alias_of.empty());
  const auto relu = [](const json&) { return std::make_unique<nn::ReLU>(); };
  CHECK(error_of([&] {
          nn::register_activation("alias_of_nothing", relu,
                                  nn::ActivationInfo{"", "", "", "", {}, "relu7"});
        }) == "register_activation: \"alias_of_nothing\" is an alias of \"relu7\", which is "
              "not registered");
  CHECK(error_of([&] {
          nn::register_activation("alias_of_alias", relu,
                                  nn::ActivationInfo{"", "", "", "", {}, "swish"});
        }) == "register_activation: \"alias_of_alias\" is an alias of \"swish\", itself an "
              "alias of \"silu\"");
  const std::vector<std::string> names = nn::activation_names();
  CHECK(std::find(names.begin(), names.end(), "alias_of_nothing") == names.end());
}

TEST_CASE("a user activation with declared fields is checked like a built-in",
          "[nn][activation][registry]") {
  nn::ActivationInfo info{
      "squareplus with a checked b",
      "(x + sqrt(x^2 + b)) / 2",
      "(0, inf)",
      "hidden layers",
      {detail::NumberField{"b", false, 4.0, 0.0, std::numeric_limits<double>::infinity(), false,
                           false, "smoothness near 0"}}};
  nn::register_activation(
      "squareplus_checked",
      [](const json& spec) { return std::make_unique<Squareplus>(spec.at("b").get<float>()); },
      info);
  CHECK(nn::resolve_activation("squareplus_checked") ==
        json{{"name", "squareplus_checked"}, {"b", 4.0}});
  CHECK(error_of([] {
          nn::make_activation({{"name", "squareplus_checked"}, {"c", 1}});
        }) ==
        "activation.c: unknown field \"c\" for activation \"squareplus_checked\"; known: b; "
        "did you mean \"b\"?");
  CHECK(error_of([] {
          nn::make_activation({{"name", "squareplus_checked"}, {"b", -1}});
        }) ==
        "activation.b: in activation \"squareplus_checked\", expected a number >= 0, found -1");
}
