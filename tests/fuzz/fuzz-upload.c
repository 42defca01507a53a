/*
 * fuzz-upload.c: the blob upload engine (src/lib/upload.c) against a
 * registry whose every answer comes from the input.
 *
 * The first bytes choose the parameters (mode, blob size, chunk size, a
 * mount source, a saved session to resume); each later group of bytes is
 * the answer to the request the engine asked for: a status, whether the
 * body was cut, and the Location, Range, Docker-Content-Digest,
 * OCI-Chunk-Min-Length, Retry-After and error headers, each either absent,
 * picked from a list of plausible values (a Range that confirms exactly
 * what was sent, say) or raw bytes from the input. The script ends with
 * the input or when the engine stops.
 *
 * Invariants: every request is well formed (a known method, a URL, a body
 * inside the blob with a Content-Range that matches it, a reason for every
 * retry), the bytes handed out add up to bytes_sent(), a checkpoint offset
 * never passes the size, a failure has a code and a one-line message, and
 * and a done upload follows an answer that says the registry has the blob
 * (2xx to HEAD, 201 to a mount POST, 2xx to the closing PUT).
 * Answers are freed right after feed(), so ASan catches an engine that
 * keeps a pointer into them.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz-input.h"
#include "lib/upload.h"
#include "util/mem.h"
#include "util/banned.h"

#define DIGEST                                                                 \
	"sha256:"                                                              \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_STEPS 400

static const int statuses[] = {0,   200, 201, 202, 204, 206, 307,
			       400, 401, 403, 404, 405, 413, 416,
			       429, 500, 502, 503, 504, 100, 599};

static const char *const locations[] = {
	"/v2/test/app/blobs/uploads/u2?_state=a",
	"/v2/test/app/blobs/uploads/u3",
	"https://storage.example/up?sig=1&x=%20",
	"http://127.0.0.1:5000/v2/test/app/blobs/uploads/u4?_state=b#frag",
	"relative/path?q",
	"",
	"?only=query",
};

static const char *const codes[] = {
	"BLOB_UPLOAD_INVALID",
	"BLOB_UPLOAD_UNKNOWN",
	"DIGEST_INVALID",
	"NAME_UNKNOWN",
	"DENIED",
	"TOOMANYREQUESTS",
};

static const char *const retry_afters[] = {
	"0", "1", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "99999999999",
};

static const char *const min_lengths[] = {
	"0", "1", "1048576", "5242880", "1073741825", "18446744073709551616",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct hoist_upload_params p;
	struct hoist_upload *u = NULL;
	struct hoist_upload_req q;
	struct hoist_err err;
	uint64_t handed = 0;
	char last_method[8] = "";
	int last_status = -1;
	unsigned flags;
	char *resume = NULL;
	int trace = getenv("FUZZ_TRACE") != NULL; /* steps on stderr */

	memset(&p, 0, sizeof(p));
	flags = fuzz_take(&in);
	p.repo = "test/app";
	p.digest = DIGEST;
	p.mode = (enum hoist_upload_mode)(flags & 3);
	p.size = fuzz_take_u(&in, 3) << (fuzz_take(&in) & 15);
	p.chunk_size = fuzz_take_u(&in, 2) << (fuzz_take(&in) & 15);
	p.chunk_threshold = fuzz_take_u(&in, 2) << 8;
	p.mount_from = flags & 4 ? "other/app" : NULL;
	p.skip_head = !!(flags & 8);
	if (flags & 16) {
		resume = fuzz_take_raw(&in);
		p.resume_location = resume;
		p.resume_offset = fuzz_take_u(&in, 3);
	}
	p.max_retries = (int)(fuzz_take(&in) & 15);
	p.retry.max_attempts = (int)(fuzz_take(&in) & 7);

	if (hoist_upload_new(&u, &p, &err) != 0) {
		FUZZ_CHECK(err.code < 0 && err.msg[0]);
		free(resume);
		return 0;
	}
	for (int step = 0;; step++) {
		const char *loc = NULL;
		uint64_t off;

		hoist_err_clear(&err);
		hoist_upload_next(u, &q, &err);
		if (q.kind == HOIST_UPLOAD_FAILED) {
			FUZZ_CHECK(err.code < 0);
			FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
			break;
		}
		if (trace)
			fprintf(stderr, "= kind %d: %s\n", q.kind, err.msg);
		if (q.kind == HOIST_UPLOAD_DONE) {
			FUZZ_CHECK((!strcmp(last_method, "HEAD") &&
				    last_status / 100 == 2) ||
				   (!strcmp(last_method, "POST") &&
				    last_status == 201) ||
				   (!strcmp(last_method, "PUT") &&
				    last_status / 100 == 2));
			break;
		}
		FUZZ_CHECK(q.kind == HOIST_UPLOAD_SEND);
		if (trace)
			fprintf(stderr, "> %s %s [%llu,+%llu) cr=%s why=%s\n",
				q.method, q.url,
				(unsigned long long)q.body_offset,
				(unsigned long long)q.body_len,
				q.content_range ? q.content_range : "-",
				q.why ? q.why : "-");
		FUZZ_CHECK(q.method && q.url && q.url[0]);
		FUZZ_CHECK(!strcmp(q.method, "HEAD") ||
			   !strcmp(q.method, "POST") ||
			   !strcmp(q.method, "PATCH") ||
			   !strcmp(q.method, "PUT") ||
			   !strcmp(q.method, "GET"));
		FUZZ_CHECK(!strchr(q.url, '\n') && !strchr(q.url, '\r'));
		FUZZ_CHECK(q.delay_ms >= 0 && q.attempt >= 0);
		FUZZ_CHECK(!(q.attempt > 0 || q.delay_ms > 0) || q.why);
		if (q.has_body) {
			FUZZ_CHECK(q.body_offset <= p.size &&
				   q.body_len <= p.size - q.body_offset);
			FUZZ_CHECK(q.content_type != NULL);
			handed += q.body_len;
		} else {
			FUZZ_CHECK(q.body_len == 0);
		}
		if (q.content_range) {
			char want[48];

			FUZZ_CHECK(q.has_body && q.body_len > 0);
			snprintf(want, sizeof(want), "%llu-%llu",
				 (unsigned long long)q.body_offset,
				 (unsigned long long)(q.body_offset +
						      q.body_len - 1));
			FUZZ_CHECK(strcmp(q.content_range, want) == 0);
		}
		FUZZ_CHECK(hoist_upload_bytes_sent(u) == handed);
		if (hoist_upload_checkpoint(u, &loc, &off))
			FUZZ_CHECK(loc && off <= p.size);
		if (!in.n || step >= MAX_STEPS)
			break;

		/* the answer */
		char range_exact[48], range_bytes[56], range_short[48];
		const char *const ranges[] = {
			range_exact, range_bytes,
			range_short, "0-0",
			"0-",        "bytes=0-18446744073709551615"};
		uint64_t end = q.body_offset + q.body_len;
		snprintf(range_exact, sizeof(range_exact), "0-%llu",
			 (unsigned long long)(end ? end - 1 : 0));
		snprintf(range_bytes, sizeof(range_bytes), "bytes=0-%llu",
			 (unsigned long long)(end ? end - 1 : 0));
		snprintf(range_short, sizeof(range_short), "0-%llu",
			 (unsigned long long)(end > 1 ? end - 2 : 0));
		const char *const digests[] = {DIGEST, "sha256:00", ""};
		unsigned st = fuzz_take(&in), rflags = fuzz_take(&in);
		struct hoist_upload_resp r;
		memset(&r, 0, sizeof(r));
		r.status =
			statuses[st % (sizeof(statuses) / sizeof(statuses[0]))];
		if (st >= 252)
			r.status = (int)fuzz_take_u(&in, 2) % 1000;
		r.body_started = rflags & 1;
		char *h_loc = fuzz_take_header(&in, locations,
					       sizeof(locations) /
						       sizeof(locations[0]));
		char *h_range = fuzz_take_header(
			&in, ranges, sizeof(ranges) / sizeof(ranges[0]));
		char *h_dcd =
			rflags & 2 ? fuzz_take_header(&in, digests, 3) : NULL;
		char *h_min = rflags & 4 ? fuzz_take_header(&in, min_lengths, 6)
					 : NULL;
		char *h_ra = rflags & 8 ? fuzz_take_header(&in, retry_afters, 6)
					: NULL;
		char *h_code =
			rflags & 16 ? fuzz_take_header(&in, codes, 6) : NULL;
		char *h_msg = rflags & 32 ? fuzz_take_raw(&in) : NULL;
		r.location = h_loc;
		r.range = h_range;
		r.docker_content_digest = h_dcd;
		r.chunk_min_length = h_min;
		r.retry_after = h_ra;
		r.error_code = h_code;
		r.error_message = h_msg;
		r.now = (int64_t)fuzz_take_u(&in, 4);
		r.rnd = (uint32_t)fuzz_take_u(&in, 2);
		r.elapsed_ms = (long)fuzz_take_u(&in, 3);
		snprintf(last_method, sizeof(last_method), "%s", q.method);
		last_status = r.status;
		if (trace)
			fprintf(stderr,
				"< %d cut=%d loc=%s range=%s dcd=%s min=%s "
				"ra=%s code=%s\n",
				r.status, r.body_started, h_loc ? h_loc : "-",
				h_range ? h_range : "-", h_dcd ? h_dcd : "-",
				h_min ? h_min : "-", h_ra ? h_ra : "-",
				h_code ? h_code : "-");
		hoist_upload_feed(u, &r);
		free(h_loc);
		free(h_range);
		free(h_dcd);
		free(h_min);
		free(h_ra);
		free(h_code);
		free(h_msg);
	}
	hoist_upload_free(u);
	free(resume);
	return 0;
}
