#include "core/threads.h"

#include <omp.h>

namespace loom {

void SetNumThreads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int NumThreads() { return omp_get_max_threads(); }

}  // namespace loom
