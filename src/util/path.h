/*
 * path.h: lexical path normalisation. Domain-free; nothing here touches
 * the file system.
 */
#ifndef HOIST_UTIL_PATH_H
#define HOIST_UTIL_PATH_H

/*
 * Normalise a path the way containerd does for tar entries
 * (filepath.Clean, then joined to "/"): a leading '/', "./" and empty
 * components are dropped, and ".." removes the component before it, with
 * the root as its floor, so "a/../b" is "b" and "../x" is "x". "" is the
 * root. Purely lexical: symlinks are for whoever resolves the result.
 * Returns a new string (caller frees).
 */
char *hoist_path_norm(const char *in);

#endif
