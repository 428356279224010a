// A sweep spread over machines: its cells listed with their index, a fixed share of them (shard
// K of N) trained into a directory of its own, and the shards merged into the summary.csv,
// summary.json and report.html one machine would have written (timings aside). Schedulers run
// the shards: GNU parallel, a Slurm job array (README, "Sweeps across machines").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actlab/lab/compare.hpp"

namespace actlab {

// 16 hex digits of FNV-1a over the resolved sweep: its axes, and each cell's labels and resolved
// config (a csv task's holds its data's checksum). Shards of one sweep agree on it.
std::string sweep_hash(const Sweep& sweep);

// The sweep as a document parse_sweep reads back to the same sweep (labels written out).
nlohmann::json to_json(const Sweep& sweep);

struct Shard {
  int64_t index = 0;  // K, from 0
  int64_t count = 1;  // N
};

// "K/N" with 0 <= K < N; throws InputError ("--shard: expected K/N with 0 <= K < N, found
// \"3/3\""). N may exceed the cells: the shards past them train nothing.
Shard parse_shard(const std::string& text);

// The cells of a shard: every index i with i % N == K. Fixed by K and N alone, their sizes
// differ by one at most, and neighbouring cells (often the seeds of one group, or one task's
// activations) land on different machines, which balances their cost.
std::vector<size_t> shard_cells(size_t cells, const Shard& shard);

// Trains a shard's cells (`jobs` at a time) and writes DIR/shard.json: the sweep, its hash, K
// and N, and each cell's index and result. `name` is the sweep's (its file's stem), for the
// merged directory's default name.
void run_shard(const Sweep& sweep, const std::string& name, const Shard& shard, int jobs,
               const std::string& dir,
               const std::function<void(size_t done, size_t total)>& progress = {});

struct MergedSweep {
  std::string name;
  CompareResult result;
};

// Reads the shard.json of every directory and summarises the whole sweep. Throws InputError,
// naming the directories, for a missing or damaged shard.json, shards of different sweeps (or
// of one whose data has changed since), missing shards and shards given twice.
MergedSweep merge_shards(const std::vector<std::string>& dirs);

}  // namespace actlab
