/*
 * fuzz-download.c: the blob download engine (src/lib/download.c) against
 * a registry whose every answer comes from the input.
 *
 * The first bytes choose the blob size, the registry URL (https or http)
 * and the retry policy; each later group of bytes answers the GET the
 * engine asked for: the transport outcome, a status, how many body bytes
 * arrived, and the Location, Content-Range and Retry-After headers (absent,
 * a plausible value, or raw bytes). A VERIFY step is answered with a
 * digest outcome from the input. The script ends with the input or when
 * the engine stops.
 *
 * The harness plays the caller as pull.c does: it applies each place
 * (KEEP, APPEND, REPLACE, DROP) to the bytes it holds and to the pending
 * body of a ranged attempt, and checks that
 *   - its count of held bytes always equals hoist_download_held(), and a
 *     Range is asked from exactly those bytes;
 *   - VERIFY comes only with all the blob's bytes held, DONE only after a
 *     verified() of 0;
 *   - credentials go only to the registry's origin, and an https
 *     registry is never left for http;
 *   - every retry or delay has a reason, every failure a code and a
 *     one-line message.
 * Answers are freed right after feed(), so ASan catches an engine that
 * keeps a pointer into them.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz-input.h"
#include "lib/download.h"
#include "util/url.h"
#include "util/banned.h"

#define MAX_STEPS 400

static const int statuses[] = {0,   200, 206, 204, 301, 302, 303, 307, 308,
			       400, 401, 403, 404, 416, 429, 500, 502, 503};

static const char *const locations[] = {
	"https://127.0.0.1:5000/v2/a/blobs/sha256:00",
	"https://storage.example/blob?sig=1",
	"http://storage.example/blob",
	"http://127.0.0.1:5000/v2/a/blobs/sha256:00",
	"https://127.0.0.1:5001/other",
	"https://user:pw@127.0.0.1:5000/v2/x",
	"relative/path",
	"",
};

static const char *const retry_afters[] = {
	"0", "1", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "99999999999",
};

static const char *const urls[] = {
	"https://127.0.0.1:5000/v2/a/blobs/sha256:00",
	"http://127.0.0.1:5000/v2/a/blobs/sha256:00",
	"https://[::1]/v2/a/blobs/sha256:00",
	"ftp://x/y",
};

/* A Content-Range for an answer to "Range: bytes=from-". */
static char *content_range(struct fuzz_input *in, uint64_t from, uint64_t got,
			   uint64_t size)
{
	char exact[80], unknown[80], other[80], total[80];
	uint64_t last = from + (got ? got : 1) - 1;

	snprintf(exact, sizeof(exact), "bytes %llu-%llu/%llu",
		 (unsigned long long)from, (unsigned long long)last,
		 (unsigned long long)size);
	snprintf(unknown, sizeof(unknown), "bytes %llu-%llu/*",
		 (unsigned long long)from, (unsigned long long)last);
	snprintf(other, sizeof(other), "bytes 0-%llu/%llu",
		 (unsigned long long)last, (unsigned long long)size);
	snprintf(total, sizeof(total), "bytes %llu-%llu/%llu",
		 (unsigned long long)from, (unsigned long long)last,
		 (unsigned long long)size + 1);
	const char *const choices[] = {exact, unknown,     other,
				       total, "bytes */0", "bytes 0-0/1"};
	return fuzz_take_header(in, choices, FUZZ_COUNT(choices));
}

/* How many body bytes a 2xx brought: the rest, some, none or too many. */
static uint64_t received(struct fuzz_input *in, uint64_t rest)
{
	switch (fuzz_take(in) & 3) {
	case 0:
		return rest;
	case 1:
		return rest ? fuzz_take_u(in, 3) % rest : 0;
	case 2:
		return 0;
	default:
		return rest + 1 + (fuzz_take(in) & 7);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct hoist_download_params p;
	struct hoist_download *d = NULL;
	struct hoist_download_req q;
	struct hoist_err err, verr;
	struct hoist_url_origin reg;
	uint64_t held = 0, pending = 0;
	int verified_ok = 0, https;
	int trace = getenv("FUZZ_TRACE") != NULL; /* steps on stderr */

	memset(&p, 0, sizeof(p));
	p.url = urls[fuzz_take(&in) % FUZZ_COUNT(urls)];
	p.size = fuzz_take_u(&in, 3) << (fuzz_take(&in) & 15);
	p.retry.max_attempts = (int)(fuzz_take(&in) & 7);
	p.now_ms = (int64_t)fuzz_take_u(&in, 3);
	if (hoist_download_new(&d, &p, &err) != 0) {
		FUZZ_CHECK(err.code < 0 && err.msg[0]);
		return 0;
	}
	FUZZ_CHECK(hoist_url_origin(&reg, p.url, NULL) == 0);
	https = strcmp(reg.scheme, "https") == 0;
	for (int step = 0;; step++) {
		hoist_err_clear(&err);
		hoist_download_next(d, &q, &err);
		/* the caller places what it holds first, whatever the kind */
		switch (q.place) {
		case HOIST_DOWNLOAD_KEEP:
			break;
		case HOIST_DOWNLOAD_APPEND:
			held += pending;
			break;
		case HOIST_DOWNLOAD_REPLACE:
			held = pending;
			break;
		case HOIST_DOWNLOAD_DROP:
			held = 0;
			break;
		default:
			FUZZ_CHECK(!"unknown place");
		}
		pending = 0;
		if (trace)
			fprintf(stderr, "= kind %d place %d held %llu: %s\n",
				q.kind, q.place, (unsigned long long)held,
				err.msg);
		if (q.kind == HOIST_DOWNLOAD_FAILED) {
			FUZZ_CHECK(err.code < 0);
			FUZZ_CHECK(err.msg[0] && !strchr(err.msg, '\n'));
			break;
		}
		FUZZ_CHECK(held == hoist_download_held(d));
		if (q.kind == HOIST_DOWNLOAD_DONE) {
			FUZZ_CHECK(verified_ok && held == p.size);
			break;
		}
		if (q.kind == HOIST_DOWNLOAD_VERIFY) {
			FUZZ_CHECK(held == p.size);
			if (!in.n || step >= MAX_STEPS)
				break;
			unsigned v = fuzz_take(&in) % 3;
			int rc = v == 0   ? 0
				 : v == 1 ? HOIST_EDIGEST
					  : HOIST_EIO;
			hoist_err_clear(&verr);
			if (rc)
				hoist_err_set(&verr, rc, "verify failed");
			verified_ok = rc == 0;
			hoist_download_verified(d, rc, &verr);
			continue;
		}
		FUZZ_CHECK(q.kind == HOIST_DOWNLOAD_SEND);
		FUZZ_CHECK(q.url && q.url[0]);
		if (trace)
			fprintf(stderr, "> GET %s range %llu- reg %d why=%s\n",
				q.url, (unsigned long long)q.range_from,
				q.registry_origin, q.why ? q.why : "-");
		/* a resume asks from exactly the bytes held (an empty blob is
		 * fetched once with nothing held) */
		FUZZ_CHECK(q.range_from == held &&
			   (held < p.size || held == 0));
		FUZZ_CHECK(q.delay_ms >= 0 && q.attempt >= 0);
		FUZZ_CHECK(!(q.attempt > 0 || q.delay_ms > 0) || q.why);
		FUZZ_CHECK(!q.why || (q.why[0] && !strchr(q.why, '\n')));
		FUZZ_CHECK(!q.note || !strchr(q.note, '\n'));
		/* credentials only for the registry's own origin */
		if (q.registry_origin)
			FUZZ_CHECK(hoist_url_same_origin(q.url, p.url));
		/* https is never left for http */
		if (https) {
			struct hoist_url_origin o;
			FUZZ_CHECK(hoist_url_origin(&o, q.url, NULL) == 0 &&
				   strcmp(o.scheme, "https") == 0);
		}
		if (!in.n || step >= MAX_STEPS)
			break;

		/* the answer */
		struct hoist_download_resp r;
		struct hoist_err terr;
		unsigned st = fuzz_take(&in), tflags = fuzz_take(&in);
		char *h_loc = NULL, *h_cr = NULL, *h_ra = NULL;

		memset(&r, 0, sizeof(r));
		hoist_err_clear(&terr);
		r.status = statuses[st % FUZZ_COUNT(statuses)];
		if (st >= 250)
			r.status = (int)fuzz_take_u(&in, 2) % 1000;
		if (tflags & 1) {
			/* the connection broke, or a local error */
			r.transport = tflags & 2 ? HOIST_ENET : HOIST_EIO;
			hoist_err_set(&terr, r.transport, "transport error");
			r.error = &terr;
			if (tflags & 4)
				r.status = 0;
		} else if (r.status >= 400 && (tflags & 2)) {
			hoist_err_set(&terr, HOIST_EHTTP, "registry error");
			r.error = &terr;
		}
		if (r.status >= 200 && r.status < 300)
			r.received = received(&in, p.size - held);
		h_loc = fuzz_take_header(&in, locations, FUZZ_COUNT(locations));
		if (tflags & 8)
			h_cr = content_range(&in, q.range_from, r.received,
					     p.size);
		if (tflags & 16)
			h_ra = fuzz_take_header(&in, retry_afters,
						FUZZ_COUNT(retry_afters));
		r.location = h_loc;
		r.content_range = h_cr;
		r.retry_after = h_ra;
		r.now = (int64_t)fuzz_take_u(&in, 4);
		r.now_ms = p.now_ms + (int64_t)fuzz_take_u(&in, 3) * (step + 1);
		r.rnd = (uint32_t)fuzz_take_u(&in, 2);
		/* the caller keeps a ranged body aside, appends any other */
		if (r.status >= 200 && r.status < 300) {
			if (q.range_from > 0)
				pending = r.received;
			else
				held += r.received;
		}
		if (trace)
			fprintf(stderr,
				"< %d transport %d got %llu loc=%s "
				"cr=%s ra=%s\n",
				r.status, r.transport,
				(unsigned long long)r.received,
				h_loc ? h_loc : "-", h_cr ? h_cr : "-",
				h_ra ? h_ra : "-");
		verified_ok = 0;
		hoist_download_feed(d, &r);
		free(h_loc);
		free(h_cr);
		free(h_ra);
	}
	hoist_download_free(d);
	return 0;
}
