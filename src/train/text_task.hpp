// The text task's fields, its checks against the file, and its dataset (text_task.cpp), for
// the sequence task table (sequence_tasks.cpp).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/detail/fields.hpp"
#include "actlab/train/data.hpp"

namespace actlab::data::text_task {

std::vector<detail::Field> fields();  // after "name"
// The resolved fields checked against the file (read here); fills in the checksum.
nlohmann::json complete(nlohmann::json resolved);
Dataset make(const nlohmann::json& resolved);
// What make will take: the windows, and besides them the file's bytes, its characters and
// their ids, which live while the dataset is made. Reads the file for its vocabulary's size.
TaskShape shape(const nlohmann::json& resolved);

}  // namespace actlab::data::text_task
