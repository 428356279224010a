// "Did you mean": finds the known name closest to a misspelt one, for error messages about
// unknown task names, fields, activations or commands.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace actlab::detail {

// Optimal string alignment distance: Levenshtein's insertions, deletions and substitutions,
// plus a swap of two adjacent characters as one edit ("sprials" is one edit from "spirals").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` ignoring case, or "" when none is close: within
// max(1, |word| / 3) edits. Ties go to the earlier candidate.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// The tail of an "unknown name" message: `known: a, b, c` and, when one of them is close to
// `word`, `; did you mean "b"?`.
std::string known_names_hint(const std::string& word, const std::vector<std::string>& known);

}  // namespace actlab::detail
