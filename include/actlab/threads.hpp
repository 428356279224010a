// The thread count. Matrix products run on OpenBLAS's threads; elementwise kernels are serial
// (at the sizes actlab is for, a second pool would fight OpenBLAS for the cores). Results are
// deterministic for a given thread count (OpenBLAS's sums may change with it).
#pragma once

namespace actlab {

// Sets the number of threads matrix products use (at least 1).
void set_num_threads(int n);
int num_threads();
// Applies ACTLAB_NUM_THREADS when it is set to a positive integer; returns whether it was.
bool apply_num_threads_from_env();

}  // namespace actlab
