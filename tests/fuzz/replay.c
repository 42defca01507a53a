/*
 * replay.c: run a fuzz target over its seed corpus, for `make check`.
 *
 * Linked with one target (fuzz-<name>.c) and compiled with
 * -DFUZZ_TARGET='"<name>"'. Every regular file of the corpus directory (the
 * first argument, or $HOIST_SRCDIR/tests/fuzz/corpus/<name>) is fed to
 * LLVMFuzzerTestOneInput in name order, and each prints one TAP line. A
 * target that finds a broken invariant aborts, which the TAP driver reports
 * as a failure after the last "ok" line. Arguments that are files rather
 * than one directory are run as single inputs, which is handy to replay a
 * crash file found by libFuzzer under gdb.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET='\"name\"'"
#endif

/* libFuzzer's default -max_len is 4096; seeds stay far below this. */
#define INPUT_MAX (1024 * 1024)

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int run_file(int n, const char *path, const char *label)
{
	struct hoist_err err;
	char *data;
	size_t len;

	if (hoist_fs_read_file(&data, &len, path, INPUT_MAX, &err)) {
		printf("not ok %d - %s # %s\n", n, label, hoist_err_msg(&err));
		return 1;
	}
	fflush(stdout);
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	printf("ok %d - %s\n", n, label);
	return 0;
}

int main(int argc, char **argv)
{
	struct dirent **names = NULL;
	char *dir = NULL;
	const char *srcdir;
	int count, failed = 0;

	if (argc > 2 || (argc == 2 && !hoist_fs_is_dir(argv[1]))) {
		printf("1..%d\n", argc - 1);
		for (int i = 1; i < argc; i++)
			failed |= run_file(i, argv[i], argv[i]);
		return failed;
	}
	if (argc == 2) {
		dir = hoist_xstrdup(argv[1]);
	} else {
		srcdir = getenv("HOIST_SRCDIR");
		dir = hoist_xasprintf("%s/tests/fuzz/corpus/%s",
				      srcdir ? srcdir : ".", FUZZ_TARGET);
	}
	count = scandir(dir, &names, only_files, alphasort);
	if (count < 0) {
		printf("Bail out! cannot read corpus '%s': %s\n", dir,
		       strerror(errno));
		free(dir);
		return 1;
	}
	if (count == 0) {
		printf("Bail out! corpus '%s' is empty\n", dir);
		free(names);
		free(dir);
		return 1;
	}
	printf("1..%d\n", count);
	for (int i = 0; i < count; i++) {
		char *path = hoist_xasprintf("%s/%s", dir, names[i]->d_name);
		char *label =
			hoist_xasprintf(FUZZ_TARGET "/%s", names[i]->d_name);
		failed |= run_file(i + 1, path, label);
		free(label);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	return failed;
}
