/*
 * shellwords.h: Dockerfile variable substitution and word splitting, as
 * BuildKit's frontend/dockerfile/shell lexer does them.
 *
 * One word is processed left to right: single quotes keep everything
 * literally, double quotes keep everything but "$" and the escape
 * character (which there only escapes '"', '$' and itself), the escape
 * character outside quotes takes the next character literally, and "$"
 * starts a substitution:
 *
 *   $NAME ${NAME}          the value, "" when unset
 *   ${NAME:-word}          word when unset or empty, else the value
 *   ${NAME-word}           word when unset, else the value
 *   ${NAME:+word}          word when set and not empty, else ""
 *   ${NAME+word}           word when set, else ""
 *   ${NAME:?msg} ${NAME?msg}   an error "NAME: msg" when unset (or empty)
 *   ${NAME#pat} ${NAME##pat}   remove the shortest / longest prefix
 *   ${NAME%pat} ${NAME%%pat}   remove the shortest / longest suffix
 *   ${NAME/pat/repl} ${NAME//pat/repl}  replace the first / every match
 *
 * Patterns know "*" and "?" (neither matches a newline, as in Go's
 * regexp) and "\" escaping "*", "?" or "\"; bracket expressions are not
 * patterns in BuildKit either, "[" is literal. The word after a modifier is
 * itself processed (quotes, escapes, nested substitutions).
 *
 * Word splitting (hoist_shellwords_split) follows BuildKit too: text that
 * came from a substitution is split at white space, text that was quoted or
 * escaped is not, and an empty quoted string makes no word.
 *
 * Known differences from Go: names are ASCII letters, digits and "_" (Go
 * also takes non-ASCII letters), and bytes that are not UTF-8 are kept as
 * they are (Go's scanner would turn them into U+FFFD).
 */
#ifndef HOIST_LIB_SHELLWORDS_H
#define HOIST_LIB_SHELLWORDS_H

#include <stddef.h>

#include "util/err.h"

/* Keep quote characters in the result (they still group). */
#define HOIST_SHELLWORDS_RAW_QUOTES 0x1u
/* Keep escape characters in the result (they still escape). */
#define HOIST_SHELLWORDS_RAW_ESCAPES 0x2u
/* Leave a substitution of an unset name as it was written ("$X"). */
#define HOIST_SHELLWORDS_SKIP_UNSET 0x4u
/* Quotes are ordinary characters (used for heredoc bodies). */
#define HOIST_SHELLWORDS_NO_QUOTES 0x8u

/* A result longer than this fails with HOIST_ELIMIT. */
#define HOIST_SHELLWORDS_MAX (1024 * 1024)

/*
 * The variables a word is expanded against: n strings "NAME=value". When a
 * name appears twice the last one wins. Names are case-sensitive.
 */
struct hoist_shellwords_env {
	const char *const *vars;
	size_t n;
};

struct hoist_shellwords {
	char escape;    /* '\\' or '`' (the # escape= directive) */
	unsigned flags; /* HOIST_SHELLWORDS_* */
	const struct hoist_shellwords_env *env; /* may be NULL: nothing set */
};

/*
 * Look name (n bytes) up in env. Returns the value (owned by env, not
 * NUL-terminated at the name boundary: it is the text after "=") or NULL
 * when unset.
 */
const char *hoist_shellwords_lookup(const struct hoist_shellwords_env *env,
				    const char *name, size_t n);

/*
 * Process word as one word (BuildKit's ProcessWord): quotes removed,
 * escapes applied, substitutions made, no splitting. *out is a heap string
 * owned by the caller. Errors: HOIST_EINVAL with BuildKit's wording
 * ("failed to process '${A': syntax error: missing '}'"), HOIST_ELIMIT.
 * *out is NULL on error.
 */
int hoist_shellwords_word(char **out, const struct hoist_shellwords *lex,
			  const char *word, struct hoist_err *err);

/*
 * Process word and split it into words (BuildKit's ProcessWords). *out is
 * a heap array of *n heap strings, NULL-terminated, owned by the caller
 * (free with hoist_shellwords_free). Same errors as hoist_shellwords_word.
 */
int hoist_shellwords_split(char ***out, size_t *n,
			   const struct hoist_shellwords *lex, const char *word,
			   struct hoist_err *err);

/* Free an array from hoist_shellwords_split (NULL is a no-op). */
void hoist_shellwords_free(char **words);

/*
 * The length in bytes of the white space character (Go's unicode.IsSpace:
 * ASCII space, \t \n \v \f \r, U+0085, U+00A0 and the Unicode spaces)
 * that starts s (n bytes), or 0 when s does not start with one.
 */
size_t hoist_shellwords_space(const char *s, size_t n);

/*
 * Go's strings.TrimSpace on the n bytes at s: returns the first byte kept
 * and sets *n to the length kept.
 */
const char *hoist_shellwords_trim(const char *s, size_t *n);

/* Encode code point cp (at most 0x10FFFF) as UTF-8 into out; returns the
 * length (1 to 4). */
size_t hoist_shellwords_encode(char out[4], unsigned cp);

/*
 * Decode the UTF-8 character starting s (n > 0 bytes). Returns its length
 * and sets *cp; a byte that starts no valid sequence is one character of
 * length 1 with *cp = 0xFFFD.
 */
size_t hoist_shellwords_rune(const char *s, size_t n, unsigned *cp);

#endif
