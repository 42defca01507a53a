/*
 * dfgo.h: Go's formatting where the Dockerfile frontend must reproduce
 * texts BuildKit writes with fmt (history entries): strconv.Quote and
 * QuoteRune, %q and %v of a []string, time.Duration's String and
 * ParseDuration.
 */
#ifndef HOIST_LIB_DFGO_H
#define HOIST_LIB_DFGO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* strconv.Quote (delim '"') or the body of QuoteRune (delim '\''), appended
 * to b. */
void hoist_dfgo_quote(struct hoist_buf *b, const char *s, char delim);

/* strconv.QuoteRune(r) appended to b ('\x03', 'a'). */
void hoist_dfgo_quote_rune(struct hoist_buf *b, long r);

/* fmt's %q of a []string: ["a" "b"] */
void hoist_dfgo_quote_list(struct hoist_buf *b, char *const *v, size_t n);

/* fmt's %v of a []string: [a b] */
void hoist_dfgo_list(struct hoist_buf *b, char *const *v, size_t n);

/* time.Duration(ns).String() ("1m30s", "1.5ms", "0s"); buf holds 40 bytes.
 * Returns buf. */
const char *hoist_dfgo_duration(int64_t ns, char buf[40]);

/* time.ParseDuration: 0 with *ns set, or -1 for text Go refuses. */
int hoist_dfgo_parse_duration(int64_t *ns, const char *s);

#endif
