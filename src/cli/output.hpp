// What several commands share in their output: aligned text tables for a terminal, and the
// report.html that `--out DIR` asks for, in a directory claimed for it.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "actlab/io/lock.hpp"
#include "actlab/report/report.hpp"

namespace actlab::cli {

// A table as text in aligned columns under its header (its title is left out), aligned as a
// report page aligns it: the first column and the other text columns left, numbers right.
std::string text_table(const report::Table& table);

// --out DIR and --force of a command that writes one report page, DIR/report.html (or another
// name). DIR is made and locked from claim() until this goes (claim_output_dir): refused when
// it holds a training run, whose report.html this would replace, or, without --force, anything
// else; exit 2.
class ReportOut {
 public:
  explicit ReportOut(std::string page = "report.html") : page_(std::move(page)) {}
  // `what` ends the --out help: "write DIR/report.html{what}".
  void add(CLI::App& command, const std::string& what = "");
  // DIR/report.html, with DIR claimed; "" when --out was not given.
  std::string claim();

 private:
  std::string page_;
  std::string dir_;
  bool force_ = false;
  std::optional<DirLock> lock_;
};

}  // namespace actlab::cli
