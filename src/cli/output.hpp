// What several commands share in their output: aligned text tables for a terminal, and the
// report.html that `--out DIR` asks for.
#pragma once

#include <string>

#include "actlab/report/report.hpp"

namespace actlab::cli {

// A table as text in aligned columns under its header (its title is left out), aligned as a
// report page aligns it: the first column and the other text columns left, numbers right.
std::string text_table(const report::Table& table);

// DIR/report.html, DIR created first when missing.
std::string report_path(const std::string& dir);

}  // namespace actlab::cli
