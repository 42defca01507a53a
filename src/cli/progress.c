/*
 * progress.c: the progress display, as buildx draws it (BuildKit's
 * progressui). The library reports steps (BuildKit's vertexes), statuses
 * of a step, transfers and log lines (util/log.h); this file renders them
 * on stderr in one of the modes of --progress:
 *
 *   plain    "#N name", "#N status 0.8s done", "#N DONE 2.1s", "#N CACHED",
 *            "#N ERROR: msg", a blank line between steps;
 *   tty      "[+] Building 12.3s (5/5) FINISHED" and one line per step,
 *            redrawn in place (refused when stderr is not a terminal);
 *   rawjson  one BuildKit SolveStatus per line (vertexes, statuses, logs,
 *            warnings) with Go's field names and order;
 *   quiet    nothing but warnings and errors.
 *
 * Events may come from several threads: one mutex serialises them. What a
 * placeholder step (hoist_step_later) reports is held until a step takes
 * it: then it is shown there, in the order it came (plain, rawjson) with
 * the times it came (rawjson).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/msg.h"
#include "cli/progress.h"
#include "util/base64.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/banned.h"

#define TTY_LOG_LINES 6

struct vtx {
	int n;
	char *name;
	char digest[7 + HOIST_SHA256_HEXLEN + 1];
	double t0, t1; /* monotonic seconds; t1 0 while running */
	char started[40];
	int cached;
	char *error;
	char *logs[TTY_LOG_LINES]; /* tty: the latest log lines */
	int nlogs;
};

struct st {
	int step;
	char *id;
	char *action; /* transfers: "pushing", ... */
	double t0, t1, last;
	char started[40], completed[40];
	unsigned long long cur, total;
	int pending; /* plain: begun, its first line not printed yet */
};

/* A message of a placeholder step, held until a step takes it. */
struct held {
	int step;
	char *msg;
	double t;
	char when[40];
};

/* A placeholder step (negative) and the step that took it. */
struct later {
	int ph, n;
};

static struct {
	pthread_mutex_t lock;
	enum hoist_progress_mode mode;
	struct vtx *v;
	size_t nv;
	struct st *s;
	size_t ns;
	struct held *h;
	size_t nh;
	struct later *l;
	size_t nl;
	int lastv;      /* plain: the step whose lines came last (-1 none) */
	int lastv_open; /* plain: and it is not finished */
	int drawn;      /* tty: lines of the live area on screen */
	double last_draw, start;
	int finished;
} P = {PTHREAD_MUTEX_INITIALIZER,
       HOIST_PROGRESS_QUIET,
       NULL,
       0,
       NULL,
       0,
       NULL,
       0,
       NULL,
       0,
       -1,
       0,
       0,
       0,
       0,
       0};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Go's RFC 3339 with nanoseconds, trailing zeros trimmed, in UTC. */
static void stamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char frac[16];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts.tv_nsec);
	n = strlen(frac);
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	if (n == 1)
		frac[0] = '\0';
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, frac);
}

/* go-units HumanSize: decimal, 4 significant digits ("12.58MB"). */
static void human(char *buf, size_t len, unsigned long long n)
{
	static const char *const u[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double x = (double)n;
	int i = 0;

	while (x >= 1000 && i < 5) {
		x /= 1000;
		i++;
	}
	snprintf(buf, len, "%.4g%s", x, u[i]);
}

static struct vtx *vtx_of(int n)
{
	for (size_t i = 0; i < P.nv; i++)
		if (P.v[i].n == n)
			return &P.v[i];
	return NULL;
}

/* The step a placeholder stands for once taken; other steps are themselves. */
static int resolve(int step)
{
	for (size_t i = 0; step < 0 && i < P.nl; i++)
		if (P.l[i].ph == step)
			return P.l[i].n;
	return step;
}

/* The end of a status or transfer: its time, for plain and rawjson. */
static void st_end(struct st *s, double t)
{
	s->t1 = t;
	stamp(s->completed, sizeof(s->completed));
}

static struct st *st_of(int step, const char *id, int create)
{
	struct st *s;

	for (size_t i = P.ns; i-- > 0;)
		if (P.s[i].step == step && strcmp(P.s[i].id, id) == 0 &&
		    (!P.s[i].t1 || !create))
			return &P.s[i];
	if (!create)
		return NULL;
	P.s = hoist_xreallocarray(P.s, P.ns + 1, sizeof(*P.s));
	s = &P.s[P.ns++];
	memset(s, 0, sizeof(*s));
	s->step = step;
	s->id = hoist_xstrdup(id);
	s->t0 = mono();
	stamp(s->started, sizeof(s->started));
	return s;
}

/* ---- rawjson ---- */

static void json_line(json_t *o)
{
	char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (t) {
		fprintf(stderr, "%s\n", t);
		fflush(stderr);
		free(t);
	}
	json_decref(o);
}

static void raw_vertex(const struct vtx *v)
{
	json_t *o = json_object(), *a = json_array(), *x = json_object();
	char now[40];

	json_object_set_new(x, "digest", json_string(v->digest));
	json_object_set_new(x, "name", json_string(v->name));
	json_object_set_new(x, "started", json_string(v->started));
	if (v->t1) {
		stamp(now, sizeof(now));
		json_object_set_new(x, "completed", json_string(now));
		if (v->cached)
			json_object_set_new(x, "cached", json_true());
		if (v->error)
			json_object_set_new(x, "error", json_string(v->error));
	}
	json_array_append_new(a, x);
	json_object_set_new(o, "vertexes", a);
	json_line(o);
}

static void raw_status(const struct st *s)
{
	json_t *o = json_object(), *a = json_array(), *x = json_object();
	const struct vtx *v = vtx_of(s->step);
	char now[40];

	stamp(now, sizeof(now));
	json_object_set_new(x, "id", json_string(s->id));
	if (v)
		json_object_set_new(x, "vertex", json_string(v->digest));
	if (s->total)
		json_object_set_new(x, "total",
				    json_integer((json_int_t)s->total));
	json_object_set_new(x, "current", json_integer((json_int_t)s->cur));
	json_object_set_new(x, "timestamp", json_string(now));
	json_object_set_new(x, "started", json_string(s->started));
	if (s->t1)
		json_object_set_new(x, "completed", json_string(s->completed));
	json_array_append_new(a, x);
	json_object_set_new(o, "statuses", a);
	json_line(o);
}

/* A log line or warning; when: the time it came (NULL: now). */
static void raw_log(int step, const char *key, const char *msg,
		    const char *when)
{
	json_t *o = json_object(), *a = json_array(), *x = json_object();
	const struct vtx *v = vtx_of(step);
	char now[40], *line = hoist_xasprintf("%s\n", msg), *b64;

	if (when)
		snprintf(now, sizeof(now), "%s", when);
	else
		stamp(now, sizeof(now));
	b64 = hoist_base64_encode(line, strlen(line));
	if (v)
		json_object_set_new(x, "vertex", json_string(v->digest));
	if (strcmp(key, "logs") == 0) {
		json_object_set_new(x, "stream", json_integer(2));
		json_object_set_new(x, "data", json_string(b64));
		json_object_set_new(x, "timestamp", json_string(now));
	} else {
		json_object_set_new(x, "level", json_integer(1));
		json_object_set_new(x, "short", json_string(b64));
	}
	json_array_append_new(a, x);
	json_object_set_new(o, key, a);
	json_line(o);
	free(b64);
	free(line);
}

/* ---- plain ---- */

/* Make step n the one the next lines are about. */
static void plain_switch(int n)
{
	const struct vtx *v;

	if (P.lastv == n)
		return;
	if (P.lastv > 0 && P.lastv_open)
		fprintf(stderr, "#%d ...\n", P.lastv);
	if (P.lastv >= 0)
		fputc('\n', stderr);
	v = vtx_of(n);
	if (v && n > 0)
		fprintf(stderr, "#%d %s\n", n, v->name);
	P.lastv = n;
	P.lastv_open = v && !v->t1;
}

/* One line of a status or transfer, as it stands. */
static void plain_print(const struct st *s, double now)
{
	char cur[32] = "", tot[32] = "", tm[32] = "";
	double dt = (s->t1 ? s->t1 : now) - s->t0;

	if (s->cur) {
		cur[0] = ' ';
		human(cur + 1, sizeof(cur) - 1, s->cur);
	}
	if (s->total) {
		memcpy(tot, " / ", 4);
		human(tot + 3, sizeof(tot) - 3, s->total);
	}
	if (dt >= 0.05)
		snprintf(tm, sizeof(tm), " %.1fs", dt);
	/* transfers say what they do: "#3 pushing sha256:... 1.2MB / 3MB" */
	fprintf(stderr, "#%d %s%s%s%s%s%s%s\n", s->step,
		s->action ? s->action : "", s->action ? " " : "", s->id, cur,
		tot, tm, s->t1 ? " done" : "");
}

/*
 * A line of step n comes: its statuses begun since the last one and still
 * running (but except) print their first line before it, as BuildKit's
 * "#8 pushing layers" before the transfers it covers. A status that ends
 * with nothing printed in between prints only its "done" line.
 */
static void plain_prep(int n, struct st *except)
{
	double now = mono();

	plain_switch(n);
	for (size_t i = 0; i < P.ns; i++) {
		struct st *s = &P.s[i];
		if (s->step != n || !s->pending || s == except)
			continue;
		s->pending = 0;
		if (!s->t1)
			plain_print(s, now);
	}
}

static void plain_status(struct st *s, double now)
{
	plain_prep(s->step, s);
	s->pending = 0;
	plain_print(s, now);
}

/* ---- tty ---- */

static int term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

static int term_height(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4)
		return ws.ws_row;
	return 24;
}

/* " => text" with the time right-aligned to the terminal width. */
static void tty_row(const char *prefix, const char *text, double dt, int w)
{
	char tm[32] = "";
	int room;

	if (dt >= 0)
		snprintf(tm, sizeof(tm), "%.1fs", dt);
	room = w - (int)strlen(prefix) - (int)strlen(tm) - 1;
	if (room < 10)
		room = 10;
	fprintf(stderr, "\033[K%s%-*.*s %s\n", prefix, room, room, text, tm);
}

static void tty_clear(void)
{
	if (!P.drawn)
		return;
	fprintf(stderr, "\033[%dA\033[J", P.drawn);
	P.drawn = 0;
}

static void tty_draw(int final)
{
	int w = term_width(), lines = 0, maxl = term_height() - 2, done = 0;
	double now = mono();
	size_t first = 0;

	tty_clear();
	for (size_t i = 0; i < P.nv; i++)
		done += P.v[i].t1 != 0;
	if (P.nv) {
		char head[128];
		snprintf(head, sizeof(head), "[+] Building %.1fs (%d/%zu)%s",
			 now - P.start, done, P.nv, final ? " FINISHED" : "");
		fprintf(stderr, "\033[K%s\n", head);
		lines++;
	}
	/* the newest steps when they do not all fit */
	if (!final && P.nv > (size_t)maxl)
		first = P.nv - (size_t)maxl;
	for (size_t i = first; i < P.nv; i++) {
		const struct vtx *v = &P.v[i];
		char text[512];
		snprintf(text, sizeof(text), "%s%s",
			 v->error    ? "ERROR "
			 : v->cached ? "CACHED "
				     : "",
			 v->name);
		tty_row(" => ", text, (v->t1 ? v->t1 : now) - v->t0, w);
		lines++;
		for (size_t k = 0; k < P.ns; k++) {
			const struct st *s = &P.s[k];
			char t2[512], a[32] = "", b[32] = "";
			if (s->step != v->n)
				continue;
			if (s->cur || s->total) {
				human(a, sizeof(a), s->cur);
				human(b, sizeof(b), s->total);
			}
			snprintf(t2, sizeof(t2), "%s%s%s%s%s%s",
				 s->action ? s->action : "",
				 s->action ? " " : "", s->id, a[0] ? " " : "",
				 a, b[0] ? " / " : "");
			if (b[0])
				strncat(t2, b, sizeof(t2) - strlen(t2) - 1);
			tty_row(" => => ", t2, (s->t1 ? s->t1 : now) - s->t0,
				w);
			lines++;
		}
		for (int k = 0; !v->t1 && k < v->nlogs; k++) {
			char t3[512];
			snprintf(t3, sizeof(t3), "# %s", v->logs[k]);
			tty_row(" => => ", t3, -1, w);
			lines++;
		}
	}
	/* transfers outside any step (copy, push, sync) */
	for (size_t k = 0; k < P.ns; k++) {
		const struct st *s = &P.s[k];
		char t2[512], a[32], b[32];
		if (s->step || s->t1)
			continue;
		human(a, sizeof(a), s->cur);
		human(b, sizeof(b), s->total);
		snprintf(t2, sizeof(t2), "%s %s %s / %s",
			 s->action ? s->action : "", s->id, a, b);
		tty_row(" => ", t2, now - s->t0, w);
		lines++;
	}
	P.drawn = final ? 0 : lines;
	P.last_draw = now;
	fflush(stderr);
}

static void tty_maybe_draw(void)
{
	if (mono() - P.last_draw >= 0.1)
		tty_draw(0);
}

/* ---- events ---- */

/*
 * tty: events after a final frame (an error line of one sync image while
 * others go on) start a new live area below it. With the lock held.
 */
static void rearm(void)
{
	P.finished = 0;
}

/* tty: a log line of step n, among its latest (or on its own line). */
static void tty_log(int n, const char *msg)
{
	struct vtx *v = vtx_of(n);

	if (!v) {
		tty_clear();
		fprintf(stderr, "%s\n", msg);
		tty_draw(0);
		return;
	}
	if (v->nlogs == TTY_LOG_LINES) {
		free(v->logs[0]);
		memmove(v->logs, v->logs + 1,
			sizeof(v->logs[0]) * (TTY_LOG_LINES - 1));
		v->nlogs--;
	}
	v->logs[v->nlogs++] = hoist_xstrdup(msg);
	tty_maybe_draw();
}

/* An INFO message of step n (with the time it came: when, NULL now). */
static void show_log(int n, const char *msg, const char *when)
{
	if (P.mode == HOIST_PROGRESS_RAWJSON) {
		raw_log(n, "logs", msg, when);
	} else if (P.mode == HOIST_PROGRESS_PLAIN) {
		plain_prep(n, NULL);
		fprintf(stderr, "#%d %s\n", n, msg);
	} else if (P.mode == HOIST_PROGRESS_TTY) {
		tty_log(n, msg);
	}
}

/* What placeholder ph held, in the order it came. */
struct replay {
	double t;
	int what; /* 0 a status begins, 1 it ends, 2 a message */
	size_t i; /* in P.s or P.h */
};

static int replay_cmp(const void *a, const void *b)
{
	const struct replay *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->what - y->what;
}

/* Step n takes placeholder ph: show what it held, as if it came now. */
static void take(int n, int ph)
{
	struct replay *r = NULL;
	size_t nr = 0, i;

	P.l = hoist_xreallocarray(P.l, P.nl + 1, sizeof(*P.l));
	P.l[P.nl].ph = ph;
	P.l[P.nl++].n = n;
	r = hoist_xreallocarray(r, 2 * P.ns + P.nh + 1, sizeof(*r));
	for (i = 0; i < P.ns; i++) {
		struct st *s = &P.s[i];
		if (s->step != ph)
			continue;
		s->step = n;
		r[nr++] = (struct replay){s->t0, 0, i};
		if (s->t1)
			r[nr++] = (struct replay){s->t1, 1, i};
	}
	for (i = 0; i < P.nh; i++)
		if (P.h[i].step == ph)
			r[nr++] = (struct replay){P.h[i].t, 2, i};
	qsort(r, nr, sizeof(*r), replay_cmp);
	for (i = 0; i < nr; i++) {
		struct st *s = r[i].what < 2 ? &P.s[r[i].i] : NULL;
		if (!s)
			show_log(n, P.h[r[i].i].msg, P.h[r[i].i].when);
		else if (r[i].what == 0 && P.mode == HOIST_PROGRESS_PLAIN)
			s->pending = 1;
		else if (r[i].what == 1 && P.mode == HOIST_PROGRESS_PLAIN)
			plain_status(s, s->t1);
		else if (P.mode == HOIST_PROGRESS_RAWJSON &&
			 (r[i].what == 1 || !s->t1))
			raw_status(s);
	}
	free(r);
	/* the messages shown are held no longer */
	for (i = 0; i < P.nh;) {
		if (P.h[i].step != ph) {
			i++;
			continue;
		}
		free(P.h[i].msg);
		P.h[i] = P.h[--P.nh];
	}
	if (P.mode == HOIST_PROGRESS_TTY)
		tty_draw(0);
}

static void step_cb(const struct hoist_step_event *ev, void *ctx)
{
	int step;
	struct vtx *v;
	struct st *s;
	(void)ctx;

	pthread_mutex_lock(&P.lock);
	step = resolve(ev->step);
	rearm();
	switch (ev->kind) {
	case HOIST_STEP_BEGIN: {
		char seed[300], hex[HOIST_SHA256_HEXLEN + 1];
		P.v = hoist_xreallocarray(P.v, P.nv + 1, sizeof(*P.v));
		v = &P.v[P.nv++];
		memset(v, 0, sizeof(*v));
		v->n = ev->step;
		v->name = hoist_xstrdup(ev->name);
		v->t0 = mono();
		stamp(v->started, sizeof(v->started));
		snprintf(seed, sizeof(seed), "hoist %d %s", ev->step, ev->name);
		hoist_sha256_hex(seed, strlen(seed), hex);
		snprintf(v->digest, sizeof(v->digest), "sha256:%s", hex);
		if (P.mode == HOIST_PROGRESS_RAWJSON)
			raw_vertex(v);
		else if (P.mode == HOIST_PROGRESS_PLAIN) {
			P.lastv_open = 0; /* a new step is no "..." case */
			plain_switch(v->n);
			P.lastv_open = 1;
		} else if (P.mode == HOIST_PROGRESS_TTY)
			tty_draw(0);
		break;
	}
	case HOIST_STEP_END:
		v = vtx_of(ev->step);
		if (!v)
			break;
		v->t1 = mono();
		if (v->t1 <= v->t0)
			v->t1 = v->t0 + 1e-6;
		v->cached = ev->cached;
		if (ev->error)
			v->error = hoist_xstrdup(ev->error);
		if (P.mode == HOIST_PROGRESS_RAWJSON) {
			raw_vertex(v);
		} else if (P.mode == HOIST_PROGRESS_PLAIN) {
			plain_switch(v->n);
			if (v->error)
				fprintf(stderr, "#%d ERROR: %s\n", v->n,
					v->error);
			else if (v->cached)
				fprintf(stderr, "#%d CACHED\n", v->n);
			else
				fprintf(stderr, "#%d DONE %.1fs\n", v->n,
					v->t1 - v->t0);
			P.lastv_open = 0;
		} else if (P.mode == HOIST_PROGRESS_TTY) {
			tty_draw(0);
		}
		break;
	case HOIST_STATUS_BEGIN:
		s = st_of(step, ev->name, 1);
		if (step < 0) /* held */
			break;
		if (P.mode == HOIST_PROGRESS_RAWJSON)
			raw_status(s);
		else if (P.mode == HOIST_PROGRESS_PLAIN)
			s->pending = 1;
		else if (P.mode == HOIST_PROGRESS_TTY)
			tty_maybe_draw();
		break;
	case HOIST_STATUS_END:
		s = st_of(step, ev->name, 0);
		if (!s || s->t1)
			break;
		st_end(s, mono());
		if (step < 0)
			break;
		if (P.mode == HOIST_PROGRESS_RAWJSON)
			raw_status(s);
		else if (P.mode == HOIST_PROGRESS_PLAIN)
			plain_status(s, s->t1);
		else if (P.mode == HOIST_PROGRESS_TTY)
			tty_maybe_draw();
		break;
	case HOIST_STEP_TAKE:
		if (step > 0 && resolve(ev->later) == ev->later)
			take(step, ev->later);
		break;
	}
	pthread_mutex_unlock(&P.lock);
}

static void progress_cb(const struct hoist_progress *p, void *ctx)
{
	int step;
	double now = mono();
	struct st *s;
	(void)ctx;

	if (P.mode == HOIST_PROGRESS_QUIET)
		return;
	pthread_mutex_lock(&P.lock);
	step = resolve(hoist_step_current());
	rearm();
	s = st_of(step, p->id, 1);
	free(s->action);
	s->action = hoist_xstrdup(p->action);
	s->cur = p->cur;
	s->total = p->total;
	if (p->done)
		st_end(s, now);
	if (step < 0) {
		/* held */
	} else if (P.mode == HOIST_PROGRESS_TTY) {
		tty_maybe_draw();
	} else if (p->done ||
		   now - s->last >=
			   (P.mode == HOIST_PROGRESS_PLAIN ? 1.0 : 0.1)) {
		s->last = now;
		if (P.mode == HOIST_PROGRESS_RAWJSON)
			raw_status(s);
		else
			plain_status(s, now);
	}
	pthread_mutex_unlock(&P.lock);
}

static void log_cb(enum hoist_log_level level, const char *msg, void *ctx)
{
	int step;
	(void)ctx;

	if (level == HOIST_LOG_DEBUG)
		return;
	pthread_mutex_lock(&P.lock);
	step = resolve(hoist_step_current());
	if (level == HOIST_LOG_WARN) {
		if (P.mode == HOIST_PROGRESS_RAWJSON) {
			raw_log(step, "warnings", msg, NULL);
		} else {
			if (P.mode == HOIST_PROGRESS_TTY)
				tty_clear();
			fprintf(stderr, "hoist: warning: %s\n", msg);
			if (P.mode == HOIST_PROGRESS_TTY)
				tty_draw(0);
		}
	} else if (step < 0) {
		struct held *h;
		P.h = hoist_xreallocarray(P.h, P.nh + 1, sizeof(*P.h));
		h = &P.h[P.nh++];
		h->step = step;
		h->msg = hoist_xstrdup(msg);
		h->t = mono();
		stamp(h->when, sizeof(h->when));
	} else {
		show_log(step, msg, NULL);
	}
	pthread_mutex_unlock(&P.lock);
}

void hoist_progress_ui_finish(void)
{
	pthread_mutex_lock(&P.lock);
	if (!P.finished && P.mode == HOIST_PROGRESS_TTY && (P.nv || P.drawn))
		tty_draw(1);
	if (!P.finished && P.mode == HOIST_PROGRESS_PLAIN && P.lastv >= 0)
		fflush(stderr);
	P.finished = 1;
	pthread_mutex_unlock(&P.lock);
}

static void free_all(void)
{
	hoist_progress_ui_finish();
	for (size_t i = 0; i < P.nv; i++) {
		free(P.v[i].name);
		free(P.v[i].error);
		for (int k = 0; k < P.v[i].nlogs; k++)
			free(P.v[i].logs[k]);
	}
	for (size_t i = 0; i < P.ns; i++) {
		free(P.s[i].id);
		free(P.s[i].action);
	}
	for (size_t i = 0; i < P.nh; i++)
		free(P.h[i].msg);
	free(P.v);
	free(P.s);
	free(P.h);
	free(P.l);
	P.v = NULL;
	P.s = NULL;
	P.h = NULL;
	P.l = NULL;
	P.nv = P.ns = P.nh = P.nl = 0;
}

enum hoist_progress_mode hoist_progress_ui_mode(void)
{
	enum hoist_progress_mode m;

	pthread_mutex_lock(&P.lock);
	m = P.mode;
	pthread_mutex_unlock(&P.lock);
	return m;
}

void hoist_progress_ui_pause(void)
{
	pthread_mutex_lock(&P.lock);
	if (P.mode == HOIST_PROGRESS_TTY)
		tty_clear();
	pthread_mutex_unlock(&P.lock);
}

void hoist_progress_ui_resume(void)
{
	pthread_mutex_lock(&P.lock);
	if (P.mode == HOIST_PROGRESS_TTY && !P.finished)
		tty_draw(0);
	pthread_mutex_unlock(&P.lock);
}

int hoist_progress_ui_init(enum hoist_progress_mode mode)
{
	const char *env = getenv("BUILDKIT_PROGRESS");
	int tty = isatty(STDERR_FILENO);

	if (mode == HOIST_PROGRESS_AUTO && env && *env &&
	    hoist_msg_parse_progress(&mode, env) < 0)
		mode = HOIST_PROGRESS_AUTO;
	if (mode == HOIST_PROGRESS_AUTO)
		mode = tty && getenv("TERM") &&
				       strcmp(getenv("TERM"), "dumb") != 0
			       ? HOIST_PROGRESS_TTY
			       : HOIST_PROGRESS_PLAIN;
	if (mode == HOIST_PROGRESS_TTY && !tty)
		return -1;
	P.mode = mode;
	P.start = mono();
	hoist_log_set(log_cb, NULL);
	hoist_log_set_progress(progress_cb, NULL);
	hoist_step_set(step_cb, NULL);
	atexit(free_all);
	return 0;
}
