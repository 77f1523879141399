/*
 * The C tests' one assertion: counts what passed, reports what failed and
 * goes on. A program includes it once and prints the two counts at the end.
 */
#ifndef APIRETRY_CHECK_H
#define APIRETRY_CHECK_H

#include <stdio.h>

static int passed = 0, failed = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      passed++;                                                                  \
    } else {                                                                     \
      failed++;                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

#endif
