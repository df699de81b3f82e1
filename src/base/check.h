// NYDUS_CHECK(cond): aborts with file:line when an internal invariant is broken.
// For programmer errors only; bad input must return a Status instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define NYDUS_CHECK(cond)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
