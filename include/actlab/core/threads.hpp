// The thread count. Matrix products run on OpenBLAS's OpenMP build and large elementwise loops
// (activations, arithmetic, bias sums, losses, optimiser updates) on the same OpenMP threads,
// one pool, so the two never fight for the cores; loops below a size threshold stay serial
// (actlab/detail/parallel.hpp). Results are deterministic for a given thread count, and the
// elementwise ones the same for any.
#pragma once

namespace actlab {

// Sets the number of threads the calling thread's matrix products and parallel loops use (at
// least 1). OpenMP keeps this per thread: a thread you start yourself begins at OpenMP's
// default (OMP_NUM_THREADS, else the core count) until it calls set_num_threads.
void set_num_threads(int n);
// The calling thread's thread count.
int num_threads();
// Applies ACTLAB_NUM_THREADS when it is set to a positive integer; returns whether it was.
bool apply_num_threads_from_env();

}  // namespace actlab
