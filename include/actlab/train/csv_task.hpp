// The csv task: a CSV file of one's own (a header row, numeric feature columns, a target
// column of class labels or numbers), split into a training and a test split by a seeded
// shuffle (or given a test file), with inputs standardised by the training split's statistics.
// data::resolve_task and make_task hand {"name": "csv", ...} specs here.
//
// Resolving a spec reads the file: what a config says it holds is checked before anything
// trains, and the resolved spec records what was found (the delimiter, the features, the kind,
// the classes in label order, a checksum of the bytes), so that config.json in a run directory
// gives the same labels and refuses a changed file on --resume.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/train/data.hpp"

namespace actlab::data {

// Files are refused above this size, before they are read.
constexpr int64_t kMaxCsvBytes = int64_t{256} << 20;

// The spec checked against its file(s) and completed: throws FieldError at task.<field> with
// the file, line and column of bad data ("task.path: d.csv line 7, column 2 (\"width\"):
// expected a number, found \"abc\"").
nlohmann::json resolve_csv_task(const nlohmann::json& spec);

// The dataset of a resolved spec: standardised when the spec says so (x = (raw - mean) / scale
// with the training split's mean and population std, scale 1 for a constant column), the class
// names in label order. Throws FieldError as resolve_csv_task does (e.g. a file changed since).
Dataset make_csv_task(const nlohmann::json& resolved_spec);
// The same split with the inputs as the file holds them (input_mean and input_scale empty).
Dataset read_csv_task(const nlohmann::json& resolved_spec);

// The shape of a resolved csv spec's data (data::task_shape), from its files' sizes.
TaskShape csv_task_shape(const nlohmann::json& resolved_spec);

std::string csv_task_description();
std::vector<std::string> csv_task_fields();  // "name", then the rest
nlohmann::json csv_task_schema();

}  // namespace actlab::data
