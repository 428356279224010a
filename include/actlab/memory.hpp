// The buffer cache behind tensor storage, and counters that tests and the benchmark read.
// Freed buffers go back to a size-bucketed cache of the freeing thread, so a steady training
// loop takes nothing from the operating system after its first step.
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

// Raw 64-byte-aligned float buffers, as used by tensor storage.
float* allocate(int64_t numel);
void release(float* data, int64_t numel);

}  // namespace actlab::memory
