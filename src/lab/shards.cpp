// Shards of a sweep: which cells a shard trains, its shard.json, and the merge that checks the
// shards belong together and cover the sweep once before summarising it as run_compare does.
#include "actlab/lab/shards.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <filesystem>
#include <map>

#include "actlab/detail/hash.hpp"
#include "actlab/io/run.hpp"
#include "actlab/io/serialize.hpp"

namespace actlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kShardFile = "shard.json";
constexpr int kShardVersion = 1;

std::string shard_text(const Shard& s) { return fmt::format("{}/{}", s.index, s.count); }

// A shard directory's file, read and checked for the fields the merge needs.
struct ShardFile {
  std::string dir;
  json doc;
  Shard shard;
};

ShardFile read_shard(const std::string& dir) {
  const std::string path = (fs::path(dir) / kShardFile).string();
  if (!fs::is_regular_file(path))
    throw InputError(fmt::format("{}: missing {} (not a shard written by actlab compare --shard)",
                                 dir, kShardFile));
  ShardFile f{dir, {}, {}};
  try {
    f.doc = read_json_file(path, "shard file");
    if (f.doc.at("version").get<int>() != kShardVersion)
      throw Error(fmt::format("version {} is not supported (this build reads version {})",
                              f.doc.at("version").get<int>(), kShardVersion));
    f.shard = {f.doc.at("shard").get<int64_t>(), f.doc.at("shards").get<int64_t>()};
    f.doc.at("sweep_hash").get<std::string>();
    f.doc.at("runs").get<std::vector<json>>();
  } catch (const FieldError& e) {
    throw InputError(e.what());
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: not a shard file: {}", path, e.what()));
  }
  return f;
}

// Refuses shards of different sweeps, split differently, given twice or missing.
void check_shards_fit(const std::vector<ShardFile>& shards) {
  const ShardFile& first = shards.front();
  std::map<int64_t, const ShardFile*> by_index;
  for (const ShardFile& s : shards) {
    if (s.doc["sweep_hash"] != first.doc["sweep_hash"])
      throw InputError(fmt::format("{} is a shard of another sweep (hash {}) than {} (hash {})",
                                   s.dir, s.doc["sweep_hash"].get<std::string>(), first.dir,
                                   first.doc["sweep_hash"].get<std::string>()));
    if (s.shard.count != first.shard.count)
      throw InputError(fmt::format("{} splits the sweep into {} shards, {} into {}", s.dir,
                                   s.shard.count, first.dir, first.shard.count));
    const auto [it, fresh] = by_index.emplace(s.shard.index, &s);
    if (!fresh)
      throw InputError(fmt::format("shard {} is given twice: {} and {}", shard_text(s.shard),
                                   it->second->dir, s.dir));
  }
  std::vector<std::string> missing, given;
  for (int64_t k = 0; k < first.shard.count; ++k)
    (by_index.count(k) ? given : missing).push_back(shard_text({k, first.shard.count}));
  if (!missing.empty())
    throw InputError(fmt::format("missing shard{} {} (given: {})", missing.size() > 1 ? "s" : "",
                                 fmt::join(missing, ", "), fmt::join(given, ", ")));
}

}  // namespace

json to_json(const Sweep& sweep) {
  json grid = json::object(), labels = json::object();
  for (const GridAxis& axis : sweep.grid) {
    grid[axis.path] = axis.values;
    labels[axis.path] = axis.labels;
  }
  return {{"base", sweep.base}, {"grid", grid}, {"labels", labels}};
}

std::string sweep_hash(const Sweep& sweep) {
  json resolved = json::array();
  for (const SweepCell& cell : expand(sweep))
    resolved.push_back({{"labels", cell.labels}, {"config", cell.config.resolved}});
  json axes = json::array();
  for (const GridAxis& axis : sweep.grid) axes.push_back(axis.path);
  return fmt::format("{:016x}", detail::fnv1a(json{{"axes", axes}, {"cells", resolved}}.dump()));
}

Shard parse_shard(const std::string& text) {
  Shard s;
  const size_t slash = text.find('/');
  const auto number = [](std::string_view part, int64_t& out) {
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    return !part.empty() && error == std::errc() && end == part.data() + part.size();
  };
  const bool ok = slash != std::string::npos &&
                  number(std::string_view(text).substr(0, slash), s.index) &&
                  number(std::string_view(text).substr(slash + 1), s.count) && s.index >= 0 &&
                  s.index < s.count && s.count <= kMaxSweepCells;
  if (!ok)
    throw InputError(fmt::format("--shard: expected K/N with 0 <= K < N <= {}, found \"{}\"",
                                 kMaxSweepCells, text));
  return s;
}

std::vector<size_t> shard_cells(size_t cells, const Shard& shard) {
  std::vector<size_t> which;
  for (size_t i = static_cast<size_t>(shard.index); i < cells; i += static_cast<size_t>(shard.count))
    which.push_back(i);
  return which;
}

void run_shard(const Sweep& sweep, const std::string& name, const Shard& shard, int jobs,
               const std::string& dir, const std::function<void(size_t, size_t)>& progress) {
  const std::vector<SweepCell> cells = expand(sweep);
  const std::vector<size_t> which = shard_cells(cells.size(), shard);
  const std::vector<TrainResult> results = train_cells(cells, which, jobs, progress);
  json runs = json::array();
  for (size_t i = 0; i < which.size(); ++i)
    runs.push_back({{"index", which[i]}, {"result", to_json(results[i])}});
  const json doc = {{"version", kShardVersion}, {"name", name},
                    {"sweep", to_json(sweep)},   {"sweep_hash", sweep_hash(sweep)},
                    {"shard", shard.index},      {"shards", shard.count},
                    {"cells", cells.size()},     {"runs", std::move(runs)}};
  fs::create_directories(dir);
  write_file_atomically((fs::path(dir) / kShardFile).string(), doc.dump() + "\n");
}

MergedSweep merge_shards(const std::vector<std::string>& dirs) {
  if (dirs.empty()) throw InputError("--merge: expected the shards' directories");
  std::vector<ShardFile> shards;
  for (const std::string& dir : dirs) shards.push_back(read_shard(dir));
  check_shards_fit(shards);
  const ShardFile& first = shards.front();
  Sweep sweep;
  try {
    sweep = parse_sweep(first.doc.at("sweep"));
  } catch (const FieldError& e) {
    throw InputError(fmt::format("{}: its sweep no longer loads: {}", first.dir,
                                 config_error_message(e)));
  }
  const std::string hash = sweep_hash(sweep);
  if (hash != first.doc["sweep_hash"])
    throw InputError(fmt::format("the sweep of {} resolves to hash {} now, not {} as when the "
                                 "shards ran: a data file has changed since",
                                 first.dir, hash, first.doc["sweep_hash"].get<std::string>()));
  std::vector<SweepCell> cells = expand(sweep);
  std::vector<TrainResult> runs(cells.size());
  for (const ShardFile& s : shards) {
    std::vector<size_t> indices;
    try {
      for (const json& run : s.doc["runs"]) {
        indices.push_back(run.at("index").get<size_t>());
        if (indices.back() < cells.size())
          runs[indices.back()] = train_result_from_json(run.at("result"));
      }
    } catch (const std::exception& e) {
      throw InputError(fmt::format("{}: a damaged run in {}: {}", s.dir, kShardFile, e.what()));
    }
    if (indices != shard_cells(cells.size(), s.shard))
      throw InputError(fmt::format("{}: {} does not hold the cells of shard {}", s.dir,
                                   kShardFile, shard_text(s.shard)));
  }
  return {first.doc.value("name", "merged"),
          summarise_sweep(sweep, std::move(cells), std::move(runs))};
}

}  // namespace actlab
