// One thread pool for the whole process: OpenMP's (oneDNN, if added later, shares it).
// Kernels parallelise with `#pragma omp parallel for`; this header only sizes the pool.
#pragma once

namespace loom {

// Sets the pool size; n <= 0 keeps OpenMP's default (OMP_NUM_THREADS or all cores).
void SetNumThreads(int n);
int NumThreads();

}  // namespace loom
