/*
 * dockerignore.h: .dockerignore (and Dockerfile.dockerignore) patterns,
 * matched as Docker's moby/patternmatcher matches them when BuildKit
 * (fsutil) walks a build context. COPY --exclude uses the same matcher.
 *
 * Reading a file (ignorefile.ReadAll): a UTF-8 byte order mark is dropped,
 * lines starting with "#" are comments, lines are trimmed, empty lines
 * skipped; a leading "!" makes an exception; each pattern is cleaned as
 * Go's filepath.Clean does ("./a//b/" is "a/b", "a/../b" is "b") and one
 * leading "/" is removed, so patterns are relative to the context root.
 *
 * Patterns are filepath.Match syntax ("*" and "?" stop at "/", "[a-z]",
 * "\" escapes) plus "**", which matches any number of directories, even
 * none ("**" + "/go" matches "go" and "a/b/go"). A pattern matches a path
 * when it matches the path or any of its parent directories. The last
 * pattern that matches decides: excluded for a pattern, kept for an
 * exception. Docker's walk evaluates an exception only against paths whose
 * earlier patterns it re-checks (MatchesUsingParentResults); the functions
 * here reproduce that walk exactly, so "a/x" then "!a" still excludes
 * "a/x", as Docker does.
 *
 * Paths given to the match functions are relative to the context root,
 * slash-separated and clean ("a/b", never "./a" or "a/").
 *
 * Known differences from Docker, on patterns no one writes: inside a
 * bracket expression "*" and "?" are literal (Docker's regexp translation
 * turns them into nonsense), and "\d", "\w", "\s" there are the letters.
 */
#ifndef HOIST_LIB_DOCKERIGNORE_H
#define HOIST_LIB_DOCKERIGNORE_H

#include <stddef.h>

#include "util/err.h"

/* A .dockerignore larger than this is refused (HOIST_ELIMIT). */
#define HOIST_DOCKERIGNORE_MAX (4u * 1024 * 1024)

struct hoist_dockerignore;

/*
 * Read a .dockerignore file's text (len bytes). name is used in messages
 * ("'.dockerignore' line 3: syntax error in pattern 'a['"). *out is a heap
 * object owned by the caller (never NULL on success, possibly with no
 * patterns). Errors: HOIST_EINVAL (a bad pattern, a lone "!"),
 * HOIST_ELIMIT.
 */
int hoist_dockerignore_parse(struct hoist_dockerignore **out, const char *name,
			     const char *data, size_t len,
			     struct hoist_err *err);

/*
 * Build a matcher from n patterns as given (patternmatcher.New: trimmed,
 * cleaned, empty ones skipped, "!" for exceptions), e.g. COPY --exclude
 * values. Errors as hoist_dockerignore_parse.
 */
int hoist_dockerignore_new(struct hoist_dockerignore **out,
			   const char *const *patterns, size_t n,
			   struct hoist_err *err);

/* Free a matcher; NULL is a no-op. */
void hoist_dockerignore_free(struct hoist_dockerignore *di);

/* The number of patterns kept, exceptions included. */
size_t hoist_dockerignore_count(const struct hoist_dockerignore *di);

/* The cleaned text of pattern i ("!" removed) and whether it is an
 * exception. */
const char *hoist_dockerignore_pattern(const struct hoist_dockerignore *di,
				       size_t i, int *exception);

/*
 * One step of a walk (MatchesUsingParentResults). parent is the info
 * filled for the parent directory, or NULL for an entry at the context
 * root (or when the parent's info is unknown: its ancestors are then
 * checked directly). info receives this path's info for its children;
 * both are arrays of hoist_dockerignore_count(di) bytes (info may be NULL
 * when not needed). Returns 1 if path is excluded, 0 if kept.
 */
int hoist_dockerignore_match(const struct hoist_dockerignore *di,
			     const char *path, const unsigned char *parent,
			     unsigned char *info);

/*
 * Whether path is excluded, as a walk from the root reaching it would
 * decide (each parent directory matched first). 1 excluded, 0 kept.
 */
int hoist_dockerignore_excluded(const struct hoist_dockerignore *di,
				const char *path);

/*
 * For an excluded directory: 1 if the walk may skip it entirely, 0 if it
 * must still descend because an exception could keep something inside
 * (fsutil's rule: any exception with a wildcard, or an exception naming a
 * path under dir).
 */
int hoist_dockerignore_may_skip_dir(const struct hoist_dockerignore *di,
				    const char *dir);

/*
 * Go's filepath.Clean for slash-separated paths. Returns a heap string
 * owned by the caller.
 */
char *hoist_dockerignore_clean(const char *path);

#endif
