// The sequence tasks, for decoders: modadd and reverse (synthetic, with known answers) and text
// (a character-level language model over a UTF-8 file). Each gives a Dataset with sequence set
// (data.hpp): x [N, T] token ids, y [N, T] the next token at each position, kIgnoreLabel where
// the next token is not determined by what came before (the operands of modadd, the digits to
// be reversed), so that only the answer is scored. data::resolve_task and make_task hand
// their specs here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/train/data.hpp"

namespace actlab::data {

// A text file is refused above this size, before it is read.
constexpr int64_t kMaxTextBytes = int64_t{64} << 20;

std::vector<std::string> sequence_task_names();  // modadd, reverse, text
std::string sequence_task_description(const std::string& name);
std::vector<std::string> sequence_task_fields(const std::string& name);  // "name", then the rest
nlohmann::json sequence_task_schema(const std::string& name);

// The spec (an object whose name is a sequence task) checked and completed; a text task reads
// its file here, so that a missing, binary or too short file is refused before anything runs
// (FieldError at task.path or task.context, naming the file and the byte offset).
nlohmann::json resolve_sequence_task(const nlohmann::json& spec);
// The dataset of a resolved spec.
Dataset make_sequence_task(const nlohmann::json& resolved_spec);
// A sequence task's Dataset from its splits (x and y [N, T] token ids, as draw or windows make
// them), its tokens' texts (token k is tokens[k]) and its resolved spec.
Dataset sequence_dataset(Batch train, Batch test, std::vector<std::string> tokens,
                         const nlohmann::json& resolved_spec);
// What its data will take (data::task_shape, for the memory estimate).
TaskShape sequence_task_shape(const nlohmann::json& resolved_spec);

// ---- text ----------------------------------------------------------------------------------
// What the text task makes of a file's bytes, exposed for tests and `generate`: the characters
// (Unicode code points) of valid UTF-8 without NUL bytes; throws FieldError at task.path naming
// `path` and the byte offset of the first bad byte.
std::vector<char32_t> decode_text(const std::string& bytes, const std::string& path);
// A code point as UTF-8.
std::string utf8(char32_t code_point);

}  // namespace actlab::data
