/*
 * fuzz-input.h: reading a fuzz input as a script of small decisions, for
 * the targets that play a registry against an engine (fuzz-upload,
 * fuzz-download). Each take* consumes bytes from the front and returns 0
 * (or an empty string) once the input is used up, so every input is a
 * complete script.
 */
#ifndef HOIST_TESTS_FUZZ_INPUT_H
#define HOIST_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "util/mem.h"

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* The next byte, or 0 at the end. */
static inline unsigned fuzz_take(struct fuzz_input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* The next bytes as a big-endian number. */
static inline uint64_t fuzz_take_u(struct fuzz_input *in, int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | fuzz_take(in);
	return v;
}

/* A NUL-terminated copy of the next 0..31 raw input bytes. Caller frees. */
static inline char *fuzz_take_raw(struct fuzz_input *in)
{
	size_t len = fuzz_take(in) & 31;

	if (len > in->n)
		len = in->n;
	char *s = hoist_xstrndup((const char *)in->p, len);
	in->p += len;
	in->n -= len;
	return s;
}

/*
 * A header value: absent (NULL), one of the choices, or raw bytes. Caller
 * frees.
 */
static inline char *fuzz_take_header(struct fuzz_input *in,
				     const char *const *choices,
				     size_t nchoices)
{
	unsigned c = fuzz_take(in);

	if (c < 96)
		return NULL;
	if (c < 224)
		return hoist_xstrdup(choices[c % nchoices]);
	return fuzz_take_raw(in);
}

#define FUZZ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
