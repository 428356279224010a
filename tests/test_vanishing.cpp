// vanishing_gradients: sigmoid's gradient vanishes across depth while ReLU with He init keeps it
// level; the seed summary; init names; He against gain-1 Xavier on a 30-layer ReLU net
// trained; bad options; JSON and report.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "actlab/lab/vanishing.hpp"
#include "html_check.hpp"

using namespace actlab;

namespace {

const VanishingNet& net_of(const VanishingResult& r, const std::string& activation) {
  const auto it = std::find_if(r.nets.begin(), r.nets.end(), [&](const VanishingNet& net) {
    return net.activation == activation;
  });
  REQUIRE(it != r.nets.end());
  return *it;
}

// Largest over smallest layer norm: how far apart the layers' gradients are.
double layer_spread(const VanishingNet& net) {
  const auto [lo, hi] =
      std::minmax_element(net.layer_norms.begin(), net.layer_norms.end(),
                          [](const Spread& a, const Spread& b) { return a.geomean < b.geomean; });
  return hi->geomean / lo->geomean;
}

}  // namespace

TEST_CASE("at depth 20 sigmoid's gradient vanishes while ReLU with He init flows", "[vanishing]") {
  const VanishingResult r = vanishing_gradients();  // depth 20, width 64, 5 seeds
  REQUIRE(r.nets.size() == 4);
  const VanishingNet& sigmoid = net_of(r, "sigmoid");
  CHECK(sigmoid.init == "xavier_normal");
  // Each sigmoid layer passes back about a quarter of the gradient (sigmoid' <= 0.25), so 19
  // layers leave ~1e-12; every seed, not only the mean, is far below 1e-6.
  CHECK(sigmoid.ratio.max < 1e-6);
  CHECK(sigmoid.verdict == "vanishes");
  // The gradient shrinks at every step towards the input.
  for (size_t l = 1; l < sigmoid.layer_norms.size(); ++l)
    CHECK(sigmoid.layer_norms[l - 1].geomean < sigmoid.layer_norms[l].geomean);

  const VanishingNet& relu = net_of(r, "relu");
  CHECK(relu.init == "kaiming_normal");
  CHECK(relu.ratio.geomean > 0.05);
  CHECK(relu.ratio.geomean < 20);
  CHECK(relu.verdict == "flows");
}

TEST_CASE("tanh with Xavier and GELU with He init keep the layers within two decades",
          "[vanishing]") {
  VanishingOptions options;
  options.activations = {"tanh", "gelu"};
  const VanishingResult r = vanishing_gradients(options);
  for (const VanishingNet& net : r.nets) {
    INFO(net.activation);
    CHECK(net.ratio.geomean > 0.1);
    CHECK(net.ratio.geomean < 10);
    CHECK(layer_spread(net) < 100);
    CHECK(net.verdict == "flows");
  }
}

TEST_CASE("norms are summarised over seeds by the geometric mean with min and max", "[vanishing]") {
  const Spread s = summarise({1, 100, 10});
  CHECK(s.geomean == Approx(10));
  CHECK(s.min == 1);
  CHECK(s.max == 100);
  CHECK(summarise({0, 5}).geomean == 0);  // one dead net pulls the summary to 0, visibly

  VanishingOptions options;
  options.depth = 6;
  options.width = 16;
  options.activations = {"relu"};
  const VanishingResult r = vanishing_gradients(options);
  const VanishingNet& net = r.nets.at(0);
  REQUIRE(net.layer_norms.size() == 6);
  for (const Spread& layer : net.layer_norms) {
    CHECK(layer.min <= layer.geomean);
    CHECK(layer.geomean <= layer.max);
    CHECK(layer.min < layer.max);  // the seeds differ
  }
  // The geometric mean of the per-seed ratios is the ratio of the geometric means.
  CHECK(net.ratio.geomean ==
        Approx(net.layer_norms.front().geomean / net.layer_norms.back().geomean).epsilon(1e-9));

  options.seeds = 1;
  const Spread one = vanishing_gradients(options).nets.at(0).layer_norms.at(0);
  CHECK(one.geomean == Approx(one.min));
  CHECK(one.min == one.max);
  // Seed 0 is the first of the five above, so the one-seed value lies within their spread.
  CHECK(one.geomean >= net.layer_norms.at(0).min);
  CHECK(one.geomean <= net.layer_norms.at(0).max);
}

TEST_CASE("init names: the papers' xavier and he, and every config scheme", "[vanishing]") {
  const nn::init::Scheme xavier = vanishing_init("xavier");
  CHECK(xavier.name == "xavier_normal");
  CHECK(xavier.nonlinearity == "linear");  // gain 1 whatever the activation
  const nn::init::Scheme he = vanishing_init("he");
  CHECK(he.name == "kaiming_normal");
  CHECK(he.nonlinearity == "relu");
  CHECK(vanishing_init("kaiming_uniform").name == "kaiming_uniform");
  CHECK(vanishing_init("kaiming_uniform").nonlinearity.empty());  // the activation's gain
  CHECK(vanishing_default_init("sigmoid") == "xavier_normal");
  CHECK(vanishing_default_init("tanh") == "xavier_normal");
  CHECK(vanishing_default_init("gelu") == "kaiming_normal");
  try {
    vanishing_init("xavior");
    FAIL("no error");
  } catch (const FieldError& e) {
    CHECK(e.dotted_path() == "init");
    CHECK(html_check::contains(e.reason(), "did you mean \"xavier\"?"));
  }
}

TEST_CASE("bad options name the option", "[vanishing][errors]") {
  const auto path_of = [](const VanishingOptions& options) {
    try {
      vanishing_gradients(options);
    } catch (const FieldError& e) {
      return e.dotted_path() + ": " + e.reason();
    }
    return std::string("no error");
  };
  VanishingOptions o;
  o.depth = 1;
  CHECK(path_of(o) == "depth: expected an integer in [2, 64], found 1");
  o = {};
  o.width = 0;
  CHECK(path_of(o) == "width: expected an integer in [2, 4096], found 0");
  o = {};
  o.activations = {"relu", "relu6"};
  CHECK(path_of(o).starts_with("activations: unknown activation \"relu6\"; known: identity"));
  CHECK(html_check::contains(path_of(o), "did you mean \"relu\"?"));
  o = {};
  o.activations = {};
  CHECK(path_of(o) == "activations: expected at least one activation");
  o = {};
  o.inits = {"he", "lecun"};
  CHECK(path_of(o).starts_with("init: unknown init scheme \"lecun\"; known: xavier, he,"));
}

TEST_CASE("a 30-layer ReLU net trains with He init and stalls with gain-1 Xavier",
          "[vanishing][train]") {
  // He et al. 2015, small: width 32, 400 full-batch SGD steps, one seed (about two seconds).
  // Until about step 300, He's loss still spikes, so where it stands at a given step there
  // depends on the build's float rounding; by 400 it has settled near 0.01 in every build.
  VanishingOptions options;
  options.depth = 30;
  options.width = 32;
  options.activations = {"relu"};
  options.inits = {"he", "xavier"};
  options.seeds = 1;
  options.train_steps = 400;
  const VanishingResult r = vanishing_gradients(options);
  REQUIRE(r.nets.size() == 2);
  const VanishingNet& he = r.nets[0];
  const VanishingNet& xavier = r.nets[1];
  REQUIRE(he.init == "he");
  REQUIRE(xavier.init == "xavier");

  // At initialisation the first/last ratio cannot tell them apart: gain-1 Xavier halves the
  // signal's variance at each ReLU layer on the way forward and on the way back, so every
  // layer's weight gradient shrinks alike, by about 2^-14 against He's.
  CHECK(he.verdict == "flows");
  CHECK(xavier.verdict == "flows");
  for (size_t l = 0; l < he.layer_norms.size(); ++l)
    CHECK(xavier.layer_norms[l].geomean < 1e-3 * he.layer_norms[l].geomean);

  // Trained, He's loss falls from a coin flip's ln 2; Xavier's stays there.
  REQUIRE(he.loss_curve.size() == 50);
  CHECK(he.loss_curve.back().step == 400);
  CHECK(he.loss_curve.back().train_loss < 0.5);
  for (const LossPoint& p : xavier.loss_curve) CHECK(std::abs(p.train_loss - std::log(2.0)) < 2e-3);
}

TEST_CASE("the vanishing JSON and report hold every net", "[vanishing][report]") {
  VanishingOptions options;
  options.depth = 4;
  options.width = 8;
  options.seeds = 2;
  options.activations = {"sigmoid", "relu"};
  const VanishingResult r = vanishing_gradients(options);
  const nlohmann::json j = to_json(r);
  CHECK(j["depth"] == 4);
  CHECK(j["nets"].size() == 2);
  CHECK(j["nets"][0]["activation"] == "sigmoid");
  CHECK(j["nets"][0]["layer_norms"].size() == 4);
  CHECK(j["nets"][1]["first_over_last"]["geomean"] == r.nets[1].ratio.geomean);
  CHECK_FALSE(j["nets"][0].contains("loss_curve"));  // not trained

  const std::string page = vanishing_report(r).html();
  const html_check::Parsed p = html_check::parse_ok(page);
  html_check::require_self_contained(page);
  CHECK(p.find("path", "series").size() == 2);  // one norm curve per net
  CHECK(p.find("tr").size() == 1 + 2);          // the ratio table
  CHECK(p.find("h2").empty());                  // no training section

  options.train_steps = 4;
  const VanishingResult trained = vanishing_gradients(options);
  CHECK(to_json(trained)["nets"][1]["loss_curve"].size() == 4);
  const html_check::Parsed with_training = html_check::parse_ok(vanishing_report(trained).html());
  CHECK(with_training.find("path", "series").size() == 2 + 2);  // and one loss curve per net
  CHECK(with_training.texts("h2") == std::vector<std::string>{"Training"});
}
