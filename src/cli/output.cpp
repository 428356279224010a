// Aligned text tables and the claimed report directory, for the commands that print tables
// and write pages.
#include "cli/output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "actlab/io/run.hpp"
#include "cli/commands.hpp"

namespace actlab::cli {

std::string text_table(const report::Table& table) {
  std::vector<std::vector<std::string>> rows = {table.header};
  rows.insert(rows.end(), table.rows.begin(), table.rows.end());
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      line += c == 0 || c < table.text_columns ? fmt::format("{:<{}}", row[c], widths[c])
                       : fmt::format("{:>{}}", row[c], widths[c]);
    }
    line.erase(line.find_last_not_of(' ') + 1);  // no trailing blanks after a padded last cell
    out += line + '\n';
  }
  return out;
}

void ReportOut::add(CLI::App& command, const std::string& what) {
  command.add_option("--out", dir_, "write DIR/" + page_ + what + " (DIR empty or new)")
      ->type_name("DIR");
  command.add_flag("--force", force_,
                   "with --out at a directory that is not empty: replace actlab's files in it "
                   "(never a training run's)");
}

std::string ReportOut::claim() {
  if (dir_.empty()) return "";
  lock_ = for_flag("--out", [&] { return claim_output_dir(dir_, force_); });
  return (std::filesystem::path(dir_) / page_).string();
}

}  // namespace actlab::cli
