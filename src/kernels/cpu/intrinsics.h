// <immintrin.h> for the ISA translation units. GCC 12 reports its own AVX-512 intrinsics'
// deliberately undefined pass-through operands as uninitialized (GCC PR 105593, fixed in 13); the
// pragmas cover only the lines of that header.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
