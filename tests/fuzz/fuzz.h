/*
 * fuzz.h: what every fuzz target in tests/fuzz provides.
 *
 * A target is one C file defining LLVMFuzzerTestOneInput. It is linked
 * twice: with libFuzzer (--enable-fuzzing) to search for crashes, and with
 * replay.c to run its seed corpus in `make check`. A target must not keep
 * state between calls, must free what it allocates (LeakSanitizer runs in
 * ASan builds), and reports a broken invariant with FUZZ_CHECK, which
 * aborts so that both drivers notice.
 */
#ifndef HOIST_TESTS_FUZZ_H
#define HOIST_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
