/*
 * compress-gzip.c: parallel gzip compression (libdeflate on worker
 * threads), one gzip member per fixed 1 MiB of input; see compress.c for
 * why the output is reproducible.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compress-int.h"
#include "lib/gzip-level.h"
#include "util/mem.h"
#include "util/banned.h"

/*
 * Parallel gzip. The caller's thread copies input into 1 MiB chunk slots of
 * a small ring and queues each full slot; worker threads take queued slots
 * in order and turn each into a complete gzip member; the caller writes the
 * finished members to the sink in order. Each slot moves through
 *
 *   state    who           how it leaves
 *   filling  caller        full (or finish): queued, seq < queued
 *   queued   -             a worker takes it, seq < taken
 *   busy     one worker    done = 1 under the lock
 *   done     -             the caller writes it out, seq < out_seq
 *
 * A slot is reused for chunk seq + GZ_SLOTS only once seq is written out.
 * queued, taken, stop and every done flag are guarded by the lock; out_seq
 * and fill_len belong to the caller alone. The chunk size is a constant,
 * not a function of the thread count, so the members (and the digest) are
 * the same with any number of workers.
 */
static int gz_alloc(struct libdeflate_compressor **out, int level,
		    struct hoist_err *err)
{
	*out = libdeflate_alloc_compressor(level);
	if (!*out)
		return hoist_err_set(err, HOIST_ENOMEM,
				     "gzip: cannot create a level %d "
				     "compressor",
				     level);
	return 0;
}

int hoist_gzpool_new(struct hoist_compressor *c, int level,
		     struct hoist_err *err)
{
	int zl = level == HOIST_COMP_LEVEL_DEFAULT ? 6 : level;

	c->level = hoist_gzip_level(level);
	/* the extra flags zlib writes at that level */
	c->xfl = zl >= 9 ? 2 : zl < 2 ? 4 : 0;
	c->out_cap = GZ_HEADER +
		     libdeflate_deflate_compress_bound(NULL, GZ_CHUNK) +
		     GZ_TRAILER;
	c->nthreads = GZ_THREADS;
	/* fail here, not in a worker, if the level is refused */
	return gz_alloc(&c->inline_ld, c->level, err);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Turn one slot's input into a gzip member; runs in any thread. */
static void gz_member(struct libdeflate_compressor *ld, unsigned char xfl,
		      size_t out_cap, struct gz_slot *s)
{
	unsigned char *p = s->out;
	size_t n;

	/* ID1 ID2 CM=deflate FLG=0, MTIME=0, XFL, OS=255 (unknown) */
	memset(p, 0, GZ_HEADER);
	p[0] = 0x1f;
	p[1] = 0x8b;
	p[2] = 8;
	p[8] = xfl;
	p[9] = 255;
	n = libdeflate_deflate_compress(ld, s->in, s->in_len, p + GZ_HEADER,
					out_cap - GZ_HEADER - GZ_TRAILER);
	if (n == 0) {
		s->rc = hoist_err_set(&s->err, HOIST_EIO,
				      "gzip: a compressed chunk outgrew its "
				      "bound");
		return;
	}
	p += GZ_HEADER + n;
	put_le32(p, libdeflate_crc32(0, s->in, s->in_len));
	put_le32(p + 4, (uint32_t)s->in_len);
	s->out_len = GZ_HEADER + n + GZ_TRAILER;
	s->rc = 0;
}

static void *gz_worker_main(void *arg)
{
	struct gz_worker *w = arg;
	struct hoist_compressor *c = w->c;
	struct gz_slot *s;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stop && c->taken == c->queued)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stop)
			break;
		s = &c->slots[c->taken++ % GZ_SLOTS];
		pthread_mutex_unlock(&c->lock);
		gz_member(w->ld, c->xfl, c->out_cap, s);
		pthread_mutex_lock(&c->lock);
		s->done = 1;
		pthread_cond_signal(&c->done);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * Start the workers on the first full chunk, so a layer smaller than one
 * chunk never starts a thread. Workers block every signal: signals stay
 * with the caller's thread. Whatever cannot be started (a thread, a
 * compressor) leaves fewer workers; with none, compression goes on in the
 * caller's thread, with the same output.
 */
static void gz_start(struct hoist_compressor *c)
{
	sigset_t all, old;
	int i;

	c->started = 1;
	if (c->nthreads == 0)
		return;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto inline_only;
	if (pthread_cond_init(&c->work, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		goto inline_only;
	}
	if (pthread_cond_init(&c->done, NULL) != 0) {
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
		goto inline_only;
	}
	c->lock_live = 1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < c->nthreads; i++) {
		struct gz_worker *w = &c->workers[i];

		if (gz_alloc(&w->ld, c->level, NULL) < 0)
			break;
		w->c = c;
		if (pthread_create(&w->tid, NULL, gz_worker_main, w) != 0) {
			libdeflate_free_compressor(w->ld);
			w->ld = NULL;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	c->nthreads = i;
	return;
inline_only:
	c->nthreads = 0;
}

int hoist_gzpool_fail(struct hoist_compressor *c, const struct hoist_err *e,
		      struct hoist_err *err)
{
	c->fail_err = *e;
	c->failed = e->code < 0 ? e->code : HOIST_EIO;
	c->fail_err.code = c->failed;
	if (err)
		*err = c->fail_err;
	return c->failed;
}

/*
 * Write finished members to the sink in order: wait until out_seq reaches
 * upto, then write whatever else is already done without waiting.
 */
static int gz_drain(struct hoist_compressor *c, uint64_t upto,
		    struct hoist_err *err)
{
	struct hoist_err e;

	while (c->out_seq < c->queued) {
		struct gz_slot *s = &c->slots[c->out_seq % GZ_SLOTS];

		if (c->started && c->nthreads > 0) {
			pthread_mutex_lock(&c->lock);
			while (!s->done && c->out_seq < upto)
				pthread_cond_wait(&c->done, &c->lock);
			if (!s->done) {
				pthread_mutex_unlock(&c->lock);
				return 0;
			}
			pthread_mutex_unlock(&c->lock);
		}
		if (s->rc < 0)
			return hoist_gzpool_fail(c, &s->err, err);
		hoist_err_clear(&e);
		if (hoist_sink_write(&c->sink, s->out, s->out_len, &e) < 0)
			return hoist_gzpool_fail(c, &e, err);
		c->out_seq++;
	}
	return 0;
}

/*
 * Queue the chunk being filled (final: the last one, from finish). queued
 * is read by the caller alone until the workers start, so it needs the
 * lock only after that.
 */
static void gz_submit(struct hoist_compressor *c, int final)
{
	struct gz_slot *s = &c->slots[c->queued % GZ_SLOTS];

	if (!s->in)
		s->in = hoist_xmalloc(GZ_CHUNK);
	if (!s->out)
		s->out = hoist_xmalloc(c->out_cap);
	s->in_len = c->fill_len;
	c->fill_len = 0;
	if (!c->started && !final)
		gz_start(c);
	if (!c->started || c->nthreads == 0) {
		gz_member(c->inline_ld, c->xfl, c->out_cap, s);
		s->done = 1;
		c->queued++;
		return;
	}
	pthread_mutex_lock(&c->lock);
	s->done = 0;
	c->queued++;
	pthread_cond_signal(&c->work);
	pthread_mutex_unlock(&c->lock);
}

int hoist_gzpool_write(struct hoist_compressor *c, const void *data, size_t len,
		       struct hoist_err *err)
{
	const unsigned char *p = data;
	int rc;

	while (len > 0) {
		struct gz_slot *s;
		size_t n;

		/* the ring is full: wait for the oldest chunk */
		if (c->fill_len == 0 && c->queued - c->out_seq == GZ_SLOTS &&
		    (rc = gz_drain(c, c->out_seq + 1, err)) < 0)
			return rc;
		s = &c->slots[c->queued % GZ_SLOTS];
		if (!s->in)
			s->in = hoist_xmalloc(GZ_CHUNK);
		n = GZ_CHUNK - c->fill_len;
		if (n > len)
			n = len;
		memcpy(s->in + c->fill_len, p, n);
		c->fill_len += n;
		p += n;
		len -= n;
		if (c->fill_len == GZ_CHUNK) {
			gz_submit(c, 0);
			if ((rc = gz_drain(c, c->out_seq, err)) < 0)
				return rc;
		}
	}
	return 0;
}

int hoist_gzpool_finish(struct hoist_compressor *c, struct hoist_err *err)
{
	/* an empty input still makes one (empty) member: a valid gzip file */
	if (c->fill_len > 0 || c->queued == 0)
		gz_submit(c, 1);
	return gz_drain(c, c->queued, err);
}

void hoist_gzpool_free(struct hoist_compressor *c)
{
	int i;

	if (c->lock_live) {
		pthread_mutex_lock(&c->lock);
		c->stop = 1;
		pthread_cond_broadcast(&c->work);
		pthread_mutex_unlock(&c->lock);
		for (i = 0; i < c->nthreads; i++)
			pthread_join(c->workers[i].tid, NULL);
		pthread_cond_destroy(&c->done);
		pthread_cond_destroy(&c->work);
		pthread_mutex_destroy(&c->lock);
	}
	for (i = 0; i < GZ_MAX_THREADS; i++)
		libdeflate_free_compressor(c->workers[i].ld);
	libdeflate_free_compressor(c->inline_ld);
	for (i = 0; i < GZ_SLOTS; i++) {
		free(c->slots[i].in);
		free(c->slots[i].out);
	}
}
