/*
 * fuzz-estargz.c: fuzz target for the eStargz writer's tar reader
 * (lib/estargz.c), which reads base layers when force-compression turns
 * them into eStargz, so its input is untrusted.
 *
 * The input is a tar stream. It is converted twice with a 512-byte chunk
 * size: once in one write, once in pieces whose sizes come from the input.
 * Checks: the return is 0 or a HOIST_E* code and both runs agree; an error
 * is one line starting with "estargz"; on success both outputs are the
 * same bytes, gunzip (as one stream of members) to uncompressed_size bytes
 * whose sha256 is diff_id, and end with the footer naming toc_offset.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/compress.h"
#include "lib/estargz.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/banned.h"

static int buf_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	return hoist_buf_add(ctx, data, len, err);
}

struct gunzipped {
	struct hoist_sha256 sha;
	uint64_t n;
};

static int sha_write(void *ctx, const void *data, size_t len,
		     struct hoist_err *err)
{
	struct gunzipped *g = ctx;

	(void)err;
	hoist_sha256_update(&g->sha, data, len);
	g->n += len;
	return 0;
}

static int run(const uint8_t *data, size_t size, int split,
	       struct hoist_buf *out, struct hoist_estargz_result *res,
	       struct hoist_err *err)
{
	struct hoist_sink sink = {buf_write, out};
	struct hoist_estargz *e = NULL;
	size_t off = 0, k = 0;
	int rc;

	FUZZ_CHECK(hoist_estargz_new(&e, 1, 512, &sink, err) == 0);
	while (off < size) {
		size_t n = size - off;
		if (split) {
			n = (size_t)data[k++ % size] * 7 + 1;
			if (n > size - off)
				n = size - off;
		}
		rc = hoist_estargz_write(e, data + off, n, err);
		if (rc)
			goto out;
		off += n;
	}
	rc = hoist_estargz_finish(e, res, err);
out:
	hoist_estargz_free(e);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_buf a = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_buf b = HOIST_BUF_INIT(HOIST_BUF_UNLIMITED);
	struct hoist_estargz_result ra, rb;
	struct hoist_err err;
	struct hoist_decompressor *d = NULL;
	struct gunzipped g;
	struct hoist_sink gs = {sha_write, &g};
	unsigned char footer[HOIST_ESTARGZ_FOOTER_SIZE];
	char hex[HOIST_SHA256_HEXLEN + 1];
	int rc1, rc2;

	hoist_err_clear(&err);
	rc1 = run(data, size, 0, &a, &ra, &err);
	FUZZ_CHECK(rc1 <= 0 && rc1 >= HOIST_ETIMEDOUT);
	if (rc1) {
		FUZZ_CHECK(strncmp(err.msg, "estargz", 7) == 0);
		FUZZ_CHECK(strchr(err.msg, '\n') == NULL);
	}
	hoist_err_clear(&err);
	rc2 = run(data, size, 1, &b, &rb, &err);
	FUZZ_CHECK(rc1 == rc2);
	if (rc1)
		goto out;
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	FUZZ_CHECK(strcmp(ra.toc_digest.str, rb.toc_digest.str) == 0);
	FUZZ_CHECK(a.len > HOIST_ESTARGZ_FOOTER_SIZE &&
		   ra.toc_offset < a.len - HOIST_ESTARGZ_FOOTER_SIZE);
	hoist_estargz_footer(footer, ra.toc_offset);
	FUZZ_CHECK(memcmp(a.data + a.len - sizeof(footer), footer,
			  sizeof(footer)) == 0);
	memset(&g, 0, sizeof(g));
	hoist_sha256_init(&g.sha);
	FUZZ_CHECK(hoist_decompressor_new(&d, HOIST_COMP_GZIP, &gs, &err) == 0);
	FUZZ_CHECK(hoist_decompressor_write(d, a.data, a.len, &err) == 0);
	FUZZ_CHECK(hoist_decompressor_finish(d, &err) == 0);
	hoist_decompressor_free(d);
	hoist_sha256_final_hex(&g.sha, hex);
	FUZZ_CHECK(g.n == ra.uncompressed_size);
	FUZZ_CHECK(strcmp(hex, hoist_digest_hex(ra.diff_id.str)) == 0);
out:
	hoist_buf_release(&a);
	hoist_buf_release(&b);
	return 0;
}
