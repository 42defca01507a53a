/*
 * fuzz-import.c: fuzz target for the archive importers (lib/import.c).
 *
 * The input is written to a file and imported both as an oci-archive and
 * as a docker-archive, each into a fresh store in a temporary directory
 * (removed again, so no state is kept between calls). Checks: the return
 * is 0 or a HOIST_E* code; a failure gives no root and one line that
 * starts with "import '"; success gives a root descriptor whose blob is in
 * the store; the ingest directory is empty either way.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "lib/image.h"
#include "lib/import.h"
#include "lib/store.h"
#include "util/fs.h"
#include "util/mem.h"
#include "util/banned.h"

typedef int (*import_fn)(json_t **, struct hoist_store *, const char *,
			 const char *, struct hoist_err *);

static int ingest_empty(const char *root)
{
	char *path = hoist_xasprintf("%s/ingest", root);
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	FUZZ_CHECK(d != NULL);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	free(path);
	return empty;
}

static void one(import_fn fn, const char *dir, const char *file,
		const char *ref)
{
	char *root = hoist_xasprintf("%s/store", dir);
	struct hoist_store *s = NULL;
	struct hoist_err err;
	json_t *desc = NULL;
	int rc;

	FUZZ_CHECK(hoist_store_open(&s, root, &err) == 0);
	hoist_err_clear(&err);
	rc = fn(&desc, s, file, ref, &err);
	FUZZ_CHECK(rc <= 0 && rc >= HOIST_ETLS);
	if (rc) {
		FUZZ_CHECK(desc == NULL);
		FUZZ_CHECK(strncmp(err.msg, "import '", 8) == 0);
		FUZZ_CHECK(strchr(err.msg, '\n') == NULL);
	} else {
		const char *digest;
		FUZZ_CHECK(hoist_image_desc_get(desc, NULL, &digest, NULL,
						&err) == 0);
		FUZZ_CHECK(hoist_store_has(s, digest));
	}
	FUZZ_CHECK(ingest_empty(root));
	json_decref(desc);
	hoist_store_close(s);
	FUZZ_CHECK(hoist_fs_rm_rf(root, &err) == 0);
	free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/hoist-fuzz-import-XXXXXX";
	struct hoist_err err;
	char *file;
	int fd;

	FUZZ_CHECK(mkdtemp(dir) != NULL);
	file = hoist_xasprintf("%s/in.tar", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(hoist_fs_write_all(fd, data, size, file, &err) == 0);
	close(fd);
	one(hoist_import_oci_archive, dir, file, NULL);
	one(hoist_import_oci_archive, dir, file, "v1");
	one(hoist_import_docker_archive, dir, file, NULL);
	FUZZ_CHECK(hoist_fs_rm_rf(dir, &err) == 0);
	free(file);
	return 0;
}
