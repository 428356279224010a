// The csv task: the shipped datasets, the split, delimiters and quotes, the class mapping and
// the kind, standardisation by the training split only, and every bad-data message word for
// word (the file, line and column; exit 2 through the command line).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "actlab/actlab.hpp"
#include "actlab/train/csv_task.hpp"
#include "cli_runner.hpp"
#include "task_error.hpp"

using namespace actlab;
using namespace actlab::data;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(ACTLAB_CONFIG_DIR) + "/../data";

// A scratch directory for CSV files, gone before and after each test.
struct Files {
  cli_runner::TempDir dir;
  Files() { fs::create_directories(dir.path); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path path = dir.path / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
};

json spec_of(const std::string& path, json extra = json::object()) {
  json spec{{"name", "csv"}, {"path", path}, {"target", "y"}};
  spec.update(extra);
  return spec;
}


}  // namespace

TEST_CASE("csv: iris loads with its species as classes, split 70/30 by the seed", "[csv]") {
  const json spec{{"name", "csv"}, {"path", kData + "/iris.csv"}, {"target", "species"},
                  {"test_fraction", 0.3}, {"seed", 1}};
  const Dataset d = make_task(spec);
  CHECK(d.kind == TaskKind::multiclass);
  CHECK(d.num_classes == 3);
  CHECK(d.output_dim == 3);
  CHECK(d.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(d.feature_names ==
        std::vector<std::string>{"sepal_length", "sepal_width", "petal_length", "petal_width"});
  CHECK(d.x_train.shape() == std::vector<int64_t>{105, 4});
  CHECK(d.x_test.shape() == std::vector<int64_t>{45, 4});
  CHECK(d.y_test.shape() == std::vector<int64_t>{45});
  CHECK(d.spec["kind"] == "multiclass");
  CHECK(d.spec["delimiter"] == ",");
  CHECK(d.spec["features"] == json(d.feature_names));
  CHECK(d.spec["classes"] == json(d.class_names));
  CHECK(d.spec["checksum"].get<std::string>().size() == 16);
  // The resolved spec resolves to itself, as a run's config.json is read back on --resume.
  CHECK(resolve_task(d.spec) == d.spec);
}

TEST_CASE("csv: the other shipped datasets", "[csv]") {
  const Dataset cancer =
      make_task({{"name", "csv"}, {"path", kData + "/breast_cancer.csv"}, {"target", "diagnosis"}});
  CHECK(cancer.kind == TaskKind::binary);
  CHECK(cancer.class_names == std::vector<std::string>{"benign", "malignant"});
  CHECK(cancer.input_dim == 30);
  CHECK(cancer.x_train.size(0) + cancer.x_test.size(0) == 569);
  CHECK(cancer.y_train.shape() == std::vector<int64_t>{cancer.x_train.size(0), 1});
  const Dataset digits =
      make_task({{"name", "csv"}, {"path", kData + "/digits.csv"}, {"target", "digit"}});
  CHECK(digits.kind == TaskKind::multiclass);
  CHECK(digits.input_dim == 64);
  CHECK(digits.x_train.size(0) + digits.x_test.size(0) == 1797);
  CHECK(digits.x_test.size(0) == 359);  // round(1797 * 0.2)
  CHECK(digits.class_names ==
        std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

TEST_CASE("csv: the split keeps every row once, in file order, and follows the seed", "[csv]") {
  Files files;
  std::string text = "x,y\n";
  for (int i = 0; i < 10; ++i) text += fmt::format("{},{}\n", i, i % 2 ? "odd" : "even");
  const std::string path = files.write("ten.csv", text);
  const json spec = spec_of(path, {{"standardize", false}, {"test_fraction", 0.3}});
  const Dataset a = make_task(spec);
  std::vector<float> train = a.x_train.to_vector(), test = a.x_test.to_vector();
  CHECK(test.size() == 3);
  CHECK(std::is_sorted(train.begin(), train.end()));
  CHECK(std::is_sorted(test.begin(), test.end()));
  std::set<float> all(train.begin(), train.end());
  all.insert(test.begin(), test.end());
  CHECK(all.size() == 10);
  CHECK(make_task(spec).x_test.to_vector() == test);
  // Labels follow their rows: "even" is class 0, "odd" class 1.
  const std::vector<float> y = a.y_train.to_vector();
  for (size_t i = 0; i < train.size(); ++i) CHECK(y[i] == static_cast<float>(int(train[i]) % 2));
  json reseeded = spec;
  reseeded["seed"] = 2;
  CHECK(make_task(reseeded).x_test.to_vector() != test);
}

TEST_CASE("csv: standardisation uses the training split's statistics only", "[csv]") {
  Files files;
  // Training column a: 1, 2, 3, 6 (mean 3, population std sqrt(3.5)); b is constant (scale 1).
  const std::string train = files.write("train.csv", "a,b,y\n1,5,p\n2,5,q\n3,5,p\n6,5,q\n");
  const std::string test = files.write("test.csv", "b,a,y\n5,100,p\n7,-100,q\n");
  const Dataset d = make_task(spec_of(train, {{"test_path", test}}));
  CHECK(d.spec["test_fraction"].is_null());
  REQUIRE(d.input_mean.size() == 2);
  CHECK(d.input_mean[0] == 3.f);
  CHECK(d.input_scale[0] == static_cast<float>(std::sqrt(3.5)));
  CHECK(d.input_mean[1] == 5.f);
  CHECK(d.input_scale[1] == 1.f);
  const float s = static_cast<float>(std::sqrt(3.5));
  CHECK(d.x_train.to_vector() == std::vector<float>{(1 - 3.f) / s, 0, (2 - 3.f) / s, 0,
                                                    (3 - 3.f) / s, 0, (6 - 3.f) / s, 0});
  // The test file's columns are found by name; its extreme values move no statistic.
  CHECK(d.x_test.to_vector() == std::vector<float>{(100 - 3.f) / s, 0, (-100 - 3.f) / s, 2});
  CHECK(read_csv_task(d.spec).x_test.to_vector() == std::vector<float>{100, 5, -100, 7});
  CHECK(make_task(spec_of(train, {{"test_path", test}, {"standardize", false}}))
            .x_train.to_vector() == std::vector<float>{1, 5, 2, 5, 3, 5, 6, 5});
}

TEST_CASE("csv: delimiters are detected and quoted fields kept whole", "[csv]") {
  Files files;
  const std::string semicolons = files.write("semi.csv", "a;b;y\n1,5;2;x\n3;4;z\n5;6;x\n7;8;z\n");
  CHECK(task_error(spec_of(semicolons)) ==
        "task.path: " + semicolons +
            " line 2, column 1 (\"a\"): expected a number, found \"1,5\"");
  const std::string tabs = files.write("tabs.csv", "a\tb\ty\r\n1\t2\t\"x, one\"\r\n3\t4\tz\r\n"
                                                    "5\t6\t\"x, one\"\r\n\r\n7\t8\tz\r\n");
  const Dataset d = make_task(spec_of(tabs));
  CHECK(d.spec["delimiter"] == "\t");
  CHECK(d.class_names == std::vector<std::string>{"x, one", "z"});
  const std::string quoted = files.write("quoted.csv", "\"a\",\"say \"\"hi\"\"\",y\n1,2,u\n3,4,v\n5,6,u\n7,8,v\n9,0,u\n");
  CHECK(make_task(spec_of(quoted)).feature_names == std::vector<std::string>{"a", "say \"hi\""});
}

TEST_CASE("csv: classes sort numerically or as text, and a given order is kept", "[csv]") {
  Files files;
  const std::string numbers = files.write("n.csv", "a,y\n1,10\n2,9\n3,10\n4,9\n5,2\n6,2\n");
  const Dataset d = make_task(spec_of(numbers, {{"standardize", false}}));
  CHECK(d.kind == TaskKind::multiclass);
  CHECK(d.class_names == std::vector<std::string>{"2", "9", "10"});
  const Dataset given = make_task(spec_of(numbers, {{"classes", {"10", "9", "2"}}}));
  CHECK(given.class_names == std::vector<std::string>{"10", "9", "2"});
  CHECK(given.spec["classes"] == json{"10", "9", "2"});
  CHECK(task_error(spec_of(numbers, {{"classes", {"10", "9"}}})) ==
        "task.classes: " + numbers + " line 6, column 2 (\"y\"): the label \"2\" is not one of "
                                     "the classes [10, 9]");
  // Kind: fractional numbers are a regression; a file of two labels a binary task.
  const std::string real = files.write("r.csv", "a,y\n1,0.5\n2,1\n3,1.5\n4,2\n");
  const Dataset r = make_task(spec_of(real));
  CHECK(r.kind == TaskKind::regression);
  CHECK(r.spec["classes"].is_null());
  CHECK(r.y_train.shape() == std::vector<int64_t>{3, 1});
  CHECK(make_task(spec_of(numbers, {{"kind", "regression"}})).kind == TaskKind::regression);
  const std::string two = files.write("two.csv", "a,y\n1,no\n2,yes\n3,no\n4,yes\n5,no\n");
  CHECK(make_task(spec_of(two)).kind == TaskKind::binary);
  CHECK(make_task(spec_of(two, {{"kind", "multiclass"}})).output_dim == 2);
  CHECK(task_error(spec_of(numbers, {{"kind", "binary"}})) ==
        "task.kind: binary needs 2 classes; the column \"y\" holds 3");
  CHECK(task_error(spec_of(two, {{"kind", "regression"}})) ==
        "task.target: " + two + " line 2, column 2 (\"y\"): expected a number (task.kind is "
                                "regression), found \"no\"");
}

TEST_CASE("csv: each kind of bad data names the file, line and column", "[csv]") {
  Files files;
  const auto bad = [&](const std::string& text) { return files.write("bad.csv", text); };
  std::string p = bad("a,b,y\n1,2,x\n3,4\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 3: the row has 2 fields where the header has 3");
  p = bad("a,b,y\n1,2,x\n3,4,z,9\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 4: the row has 4 fields where the header has 3");
  p = bad("a,b,y\n1,2,x\n3,four,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 2 (\"b\"): expected a number, found \"four\"");
  p = bad("a,b,y\n1,,x\n3,4,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 2, column 2 (\"b\"): expected a number, found \"\"");
  p = bad("a,b,y\n1,2,x\n3,nan,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 2 (\"b\"): expected a finite number, found \"nan\"");
  p = bad("a,b,y\n1,2,x\n-inf,4,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 1 (\"a\"): expected a finite number, found \"-inf\"");
  p = bad("a,b,y\n1,2,x\n1e39,4,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 3, column 1 (\"a\"): expected a finite number, found \"1e39\"");
  p = bad("a,b,labels\n1,2,x\n3,4,z\n");
  CHECK(task_error(spec_of(p, {{"target", "label"}})) ==
        "task.target: " + p +
            " has no column \"label\" (line 1); known: a, b, labels; did you mean \"labels\"?");
  p = bad("");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " is empty; expected a header row, then one example a row");
  p = bad("a,b,y\n");
  CHECK(task_error(spec_of(p)) == "task.path: " + p + " holds a header row but no examples");
  p = bad("a,b,y\n1,2,x\n3,4,x\n");
  CHECK(task_error(spec_of(p)) == "task.target: " + p +
                                    ": the column \"y\" holds a single class (\"x\"); a "
                                    "classifier needs at least 2");
  p = bad("a,b,y\n1,2,x\n3,4,\n");
  CHECK(task_error(spec_of(p)) ==
        "task.target: " + p + " line 3, column 3 (\"y\"): the target is empty");
  p = bad("a,a,y\n1,2,x\n3,4,z\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 1, column 2: the name \"a\" is already column 1's");
  p = bad("a,b,y\n1,\"2,x\n");
  CHECK(task_error(spec_of(p)) ==
        "task.path: " + p + " line 2, column 2: a quote opened at character 3 is never closed");
  CHECK(task_error(spec_of(files.write("ok.csv", "a,y\n1,x\n2,z\n"), {{"features", {"a", "y"}}})) ==
        "task.features.1: \"y\" is the target column; it cannot be a feature too");
  CHECK(task_error(spec_of(files.write("ok.csv", "a,y\n1,x\n2,z\n"), {{"features", {"colour"}}})) ==
        "task.features.0: " + (files.dir.path / "ok.csv").string() +
            " has no column \"colour\" (line 1); known: a, y");
  const std::string missing = (files.dir.path / "missing.csv").string();
  CHECK(task_error(spec_of(missing)) ==
        "task.path: cannot read " + missing + ": No such file or directory");
  CHECK(task_error(spec_of(files.dir.path.string())) ==
        "task.path: cannot read " + files.dir.path.string() + ": it is a directory");
  CHECK(task_error({{"name", "csv"}, {"target", "y"}}) ==
        "task.path: expected the path of a CSV file, found nothing");
  CHECK(task_error(spec_of(missing, {{"test_path", missing}, {"test_fraction", 0.5}})) ==
        "task.test_fraction: give test_fraction or test_path, not both");
}

TEST_CASE("csv: the file's size is checked before it is read", "[csv]") {
  Files files;
  const std::string path = files.write("huge.csv", "a,y\n");
  fs::resize_file(path, static_cast<uintmax_t>(kMaxCsvBytes) + 1);  // sparse: nothing written
  CHECK(task_error(spec_of(path)) == "task.path: " + path + " holds 268435457 bytes, over the 256 "
                                                          "MiB a csv task reads");
}

TEST_CASE("csv: a changed file is refused by the checksum its resolved spec holds", "[csv]") {
  Files files;
  const std::string path = files.write("d.csv", "a,y\n1,x\n2,z\n3,x\n4,z\n");
  const json resolved = resolve_task(spec_of(path));
  files.write("d.csv", "a,y\n1,x\n2,z\n3,x\n5,z\n");
  CHECK(task_error(resolved) ==
        fmt::format("task.checksum: the data has changed since this config was resolved: {} is "
                    "expected, the data now gives {}",
                    resolved["checksum"].get<std::string>(),
                    resolve_task(spec_of(path))["checksum"].get<std::string>()));
}

TEST_CASE("csv: bad data through the command line is one line and exit 2", "[csv][cli]") {
  Files files;
  const std::string data = files.write("bad.csv", "a,b,y\n1,2,x\n3,four,z\n");
  const json config{{"task", spec_of(data)}, {"train", {{"epochs", 1}}}};
  const std::string config_path = files.write("cfg.json", config.dump());
  const cli_runner::Result r =
      cli_runner::actlab("train " + config_path + " --out " + (files.dir.path / "run").string());
  CHECK(r.status == 2);
  CHECK(r.err == "config error at /task/path: " + data +
                     " line 3, column 2 (\"b\"): expected a number, found \"four\"\n");
  CHECK_FALSE(fs::exists(files.dir.path / "run"));
}

TEST_CASE("csv: the class mapping is kept in config.json and used on --resume and by diagnose",
          "[csv][cli]") {
  Files files;
  std::string text = "a,b,y\n";
  for (int i = 0; i < 40; ++i)
    text += fmt::format("{},{},{}\n", i % 7, i % 5, i % 3 == 0 ? "cat" : i % 3 == 1 ? "ant" : "bee");
  const std::string data = files.write("d.csv", text);
  const json config{{"task", spec_of(data, {{"classes", {"cat", "bee", "ant"}}})},
                    {"model", {{"hidden", {8}}}},
                    {"train", {{"epochs", 4}, {"batch_size", 8}, {"eval_every", 4}}}};
  const std::string config_path = files.write("cfg.json", config.dump());
  const std::string stopped = (files.dir.path / "stopped").string();
  const std::string whole = (files.dir.path / "whole").string();
  REQUIRE(cli_runner::actlab("train " + config_path + " --out " + whole).status == 0);
  REQUIRE(cli_runner::actlab("train " + config_path + " --out " + stopped + " --stop-after 8")
              .status == 0);
  const json saved = json::parse(cli_runner::slurp(fs::path(stopped) / "config.json"));
  CHECK(saved["task"]["classes"] == json{"cat", "bee", "ant"});
  const cli_runner::Result resumed = cli_runner::actlab("train --resume " + stopped);
  REQUIRE(resumed.status == 0);
  CHECK(cli_runner::slurp(fs::path(stopped) / "metrics.jsonl").size() > 0);
  const auto untimed = [](const std::string& dir) {
    std::vector<json> rows;
    std::istringstream in(cli_runner::slurp(fs::path(dir) / "metrics.jsonl"));
    for (std::string line; std::getline(in, line);) {
      json row = json::parse(line);
      row.erase("steps_per_second");
      rows.push_back(row);
    }
    return rows;
  };
  CHECK(untimed(stopped) == untimed(whole));
  CHECK(cli_runner::actlab("diagnose " + stopped).status == 0);
  // A file changed since (here one more row) is refused, finished run or not.
  files.write("d.csv", text + "1,1,cat\n");
  const cli_runner::Result changed = cli_runner::actlab("train --resume " + whole);
  CHECK(changed.status == 2);
  CHECK_THAT(changed.err, Catch::Contains("/task/checksum: the data has changed"));
}
