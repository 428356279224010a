// The message make_task gives a bad task spec, for the data tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "actlab/detail/fields.hpp"
#include "actlab/train/data.hpp"

// The FieldError's text for `spec`, or "no error" when the task is made.
inline std::string task_error(const nlohmann::json& spec) {
  try {
    actlab::data::make_task(spec);
  } catch (const actlab::FieldError& e) {
    return e.what();
  }
  return "no error";
}
