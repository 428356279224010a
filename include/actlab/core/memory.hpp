// The buffer cache behind tensor storage, and counters that tests and the benchmark read.
// Freed buffers go back to a size-bucketed cache of the freeing thread, so a steady training
// loop takes nothing from the operating system after its first step. A request is served by
// the smallest cached buffer of at least its size and at most twice it, so that buffers of
// one size also serve the smaller ones of a step (an FFN's [d_ff, d_model] weight gradient
// from a freed [batch, d_ff] activation) instead of each size taking its own from the OS.
#pragma once

#include <cstdint>

namespace actlab::memory {

struct Stats {
  int64_t live_buffers;     // storage buffers currently held by tensors (all threads)
  int64_t os_allocations;   // buffers ever taken from the operating system (all threads)
  int64_t cached_buffers;   // freed buffers kept for reuse by this thread
  int64_t cached_bytes;     // their total size
};

Stats stats();
// Gives this thread's cached buffers back to the operating system.
void clear_cache();
// The most bytes one thread's cache keeps (default 1 GiB); beyond it freed buffers go to the OS.
void set_cache_limit(int64_t bytes);

// A raw 64-byte-aligned float buffer, as used by tensor storage: room for at least the floats
// asked for, and `bytes` its true size, which release needs back (it may be up to twice the
// size asked for).
struct Buffer {
  float* data = nullptr;
  int64_t bytes = 0;
};
Buffer allocate(int64_t numel);
void release(Buffer buffer);

}  // namespace actlab::memory
