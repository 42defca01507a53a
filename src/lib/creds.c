/*
 * creds.c: registry credentials: containers auth.json, docker
 * config.json, credential helpers, and `docker login`/`logout`. Secrets
 * are wiped before they are freed and never reach an error message: a
 * helper's failure is reported with its first line of output, except for
 * "store", whose output may echo its input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/creds.h"
#include "lib/ref.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/spawn.h"
#include "util/banned.h"

#define CRED_FILE_MAX (1024 * 1024)
#define HELPER_OUT_MAX (64 * 1024)
#define HELPER_IN_MAX (16 * 1024)
#define HUB_KEY "https://index.docker.io/v1/"

void hoist_creds_release(struct hoist_creds *c)
{
	if (!c)
		return;
	hoist_free_secret(c->username);
	hoist_free_secret(c->password);
	hoist_free_secret(c->identity_token);
	hoist_free_secret(c->registry_token);
	memset(c, 0, sizeof(*c));
}

static long helper_timeout_ms = 30000;

void hoist_creds_set_helper_timeout(long ms)
{
	helper_timeout_ms = ms > 0 ? ms : 30000;
}

static int helper_name_ok(const char *suffix)
{
	if (!*suffix || strlen(suffix) > 128)
		return 0;
	for (const char *c = suffix; *c; c++)
		if (*c == '/' || (unsigned char)*c <= 0x20 ||
		    (unsigned char)*c >= 0x7f)
			return 0;
	return 1;
}

/*
 * Run docker-credential-<suffix> <action> with input on stdin and collect
 * at most HELPER_OUT_MAX bytes of stdout (out's cap). *status is the exit
 * status, or -1 when it died from a signal. A helper that cannot be run
 * is HOIST_EAUTH; one that runs too long or writes too much HOIST_ELIMIT.
 */
static int helper_run(const char *suffix, const char *action, const char *input,
		      size_t inlen, struct hoist_buf *out, int *status,
		      struct hoist_err *err)
{
	char *argv[3];
	int rc;

	if (!helper_name_ok(suffix))
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid credential helper name");
	argv[0] = hoist_xasprintf("docker-credential-%s", suffix);
	argv[1] = (char *)action;
	argv[2] = NULL;
	if (inlen > HELPER_IN_MAX) {
		rc = hoist_err_set(err, HOIST_ELIMIT,
				   "credential helper '%s': input too long",
				   argv[0]);
	} else {
		rc = hoist_spawn_run(argv, input, inlen, out, helper_timeout_ms,
				     status, err);
		if (rc) {
			hoist_err_prefix(err, "credential helper %s", action);
			/* a cap (output, time) stays a cap */
			if (rc != HOIST_ELIMIT)
				rc = HOIST_EAUTH;
			if (err)
				err->code = rc;
		}
	}
	free(argv[0]);
	return rc;
}

/* The helper's own words for a failure: first line, escaped, short. */
static void helper_reason(char *q, size_t qlen, const struct hoist_buf *b)
{
	size_t n = strcspn(b->data, "\r\n");
	hoist_err_quote(q, qlen, b->data, n > 120 ? 120 : n, HOIST_QUOTE_UTF8);
}

static int helper_get(struct hoist_creds *out, const char *suffix,
		      const char *server, struct hoist_err *err)
{
	struct hoist_buf b;
	struct hoist_err jerr;
	char *input = hoist_xasprintf("%s\n", server), q[HOIST_QUOTE_BUF];
	json_t *doc = NULL;
	const char *user, *secret;
	int status = 0, rc;

	hoist_buf_init(&b, HELPER_OUT_MAX);
	rc = helper_run(suffix, "get", input, strlen(input), &b, &status, err);
	if (rc)
		goto out;
	if (status != 0) {
		if (strstr(b.data, "credentials not found")) {
			rc = HOIST_ENOTFOUND;
			hoist_err_set(err, rc, "no credentials for '%s'",
				      server);
			goto out;
		}
		helper_reason(q, sizeof(q), &b);
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "credential helper 'docker-credential-%s' "
				   "get: exit status %d: '%s'",
				   suffix, status, q);
		goto out;
	}
	if (hoist_json_parse(&doc, b.data, b.len, "helper output", &jerr) ||
	    !json_is_object(doc)) {
		rc = hoist_err_set(err, HOIST_EAUTH,
				   "credential helper 'docker-credential-%s' "
				   "get: output is not a JSON object",
				   suffix);
		goto out;
	}
	user = hoist_json_str(doc, "Username");
	secret = hoist_json_str(doc, "Secret");
	if (!secret || !*secret) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "no credentials for '%s'", server);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (user && strcmp(user, "<token>") == 0) {
		out->identity_token = hoist_xstrdup(secret);
	} else {
		out->username = hoist_xstrdup(user ? user : "");
		out->password = hoist_xstrdup(secret);
	}
out:
	json_decref(doc);
	explicit_bzero(b.data, b.len);
	hoist_buf_release(&b);
	free(input);
	return rc;
}

static int is_hub(const char *host)
{
	return strcasecmp(host, "docker.io") == 0 ||
	       strcasecmp(host, "index.docker.io") == 0 ||
	       strcasecmp(host, "registry-1.docker.io") == 0;
}

/*
 * The registry host of an auths/credHelpers key: scheme and path dropped,
 * Docker Hub's names folded to "docker.io". Caller frees.
 */
static char *key_host(const char *key)
{
	const char *p = strstr(key, "://");
	char *h;

	p = p ? p + 3 : key;
	h = hoist_xstrndup(p, strcspn(p, "/"));
	if (is_hub(h)) {
		free(h);
		h = hoist_xstrdup("docker.io");
	}
	return h;
}

/* An auths/credHelpers key with only the scheme and trailing '/' cut. */
static char *key_path(const char *key)
{
	const char *p = strstr(key, "://");
	char *k, *slash;
	size_t n;

	p = p ? p + 3 : key;
	k = hoist_xstrdup(p);
	n = strlen(k);
	if (n >= 4 &&
	    (strcmp(k + n - 4, "/v1/") == 0 || strcmp(k + n - 4, "/v2/") == 0))
		k[n - 3] = '\0';
	while ((n = strlen(k)) && k[n - 1] == '/')
		k[n - 1] = '\0';
	slash = strchr(k, '/');
	if (slash) {
		char *h = hoist_xstrndup(k, (size_t)(slash - k));
		if (is_hub(h)) {
			char *nk = hoist_xasprintf("docker.io%s", slash);
			free(k);
			k = nk;
		}
		free(h);
	} else if (is_hub(k)) {
		free(k);
		k = hoist_xstrdup("docker.io");
	}
	return k;
}

/* Decode one auths entry. ENOTFOUND for an entry with nothing usable. */
static int parse_entry(struct hoist_creds *out, const json_t *e,
		       const char *what, const char *path,
		       struct hoist_err *err)
{
	const char *auth = hoist_json_str(e, "auth");
	const char *idt = hoist_json_str(e, "identitytoken");
	const char *rt = hoist_json_str(e, "registrytoken");
	char *dec = NULL, *colon;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(e))
		return hoist_err_set(err, HOIST_EINVAL,
				     "'%s' in '%s': entry is not an object",
				     what, path);
	if (auth && *auth) {
		if (hoist_base64_decode(&dec, &len, auth))
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s' in '%s': 'auth' is not "
					     "base64",
					     what, path);
		while (len && dec[len - 1] == '\0')
			len--;
		colon = memchr(dec, ':', len);
		if (!colon || colon == dec || memchr(dec, '\0', len)) {
			explicit_bzero(dec, len);
			free(dec);
			return hoist_err_set(err, HOIST_EINVAL,
					     "'%s' in '%s': 'auth' is not "
					     "user:password",
					     what, path);
		}
		out->username = hoist_xstrndup(dec, (size_t)(colon - dec));
		out->password = hoist_xstrndup(colon + 1,
					       len - (size_t)(colon - dec) - 1);
		explicit_bzero(dec, len);
		free(dec);
	}
	if (idt && *idt)
		out->identity_token = hoist_xstrdup(idt);
	if (rt && *rt)
		out->registry_token = hoist_xstrdup(rt);
	if (!out->username && !out->identity_token && !out->registry_token)
		return HOIST_ENOTFOUND;
	return 0;
}

/*
 * Load a JSON credentials file. *doc is NULL when it does not exist. The
 * parse error keeps only the position: jansson quotes the bytes near a
 * syntax error, which could be a password.
 */
static int load_cred_file(json_t **doc, const char *path, struct hoist_err *err)
{
	struct hoist_err ferr;
	char *data = NULL;
	size_t len = 0;
	int rc;

	*doc = NULL;
	hoist_err_clear(&ferr);
	rc = hoist_fs_read_file(&data, &len, path, CRED_FILE_MAX, &ferr);
	if (rc == HOIST_ENOTFOUND ||
	    (rc && (ferr.sys_errno == ENOTDIR || ferr.sys_errno == ENOENT)))
		return 0;
	if (rc) {
		if (err)
			*err = ferr;
		return rc;
	}
	if (hoist_json_parse(doc, data, len, "credentials", &ferr)) {
		const char *lc = strstr(ferr.msg, ": line ");
		if (lc)
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "parse '%s': %.*s", path,
					   (int)strcspn(lc + 2, ":"), lc + 2);
		else
			rc = hoist_err_set(err, HOIST_EINVAL,
					   "parse '%s': invalid JSON", path);
		goto out;
	}
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		rc = hoist_err_set(err, HOIST_EINVAL,
				   "parse '%s': not a JSON object", path);
	}
out:
	explicit_bzero(data, len);
	free(data);
	return rc;
}

/* credHelpers entry for host (keys compared by registry host). */
static const char *find_helper(const json_t *doc, const char *host)
{
	json_t *helpers = json_object_get(doc, "credHelpers");
	const char *key;
	json_t *v;
	char *want = key_host(host);
	const char *found = NULL;

	json_object_foreach(helpers, key, v)
	{
		char *kh;
		if (!json_is_string(v))
			continue;
		kh = key_host(key);
		if (strcasecmp(kh, want) == 0)
			found = json_string_value(v);
		free(kh);
		if (found)
			break;
	}
	free(want);
	return found;
}

/* What a helper is asked for: Docker Hub's legacy URL or the host. */
static const char *helper_server(const char *host)
{
	return is_hub(host) ? HUB_KEY : host;
}

static int try_helper(struct hoist_creds *out, const char *suffix,
		      const char *host, struct hoist_err *err)
{
	int rc = helper_get(out, suffix, helper_server(host), err);
	if (rc == HOIST_ENOTFOUND)
		hoist_err_clear(err);
	return rc;
}

/*
 * Load a credentials file and ask its credHelpers[host] helper, if any.
 * Returns HOIST_ENOTFOUND (with *doc set, or NULL for no file) when the
 * caller should go on looking in the file; any other value is final.
 */
static int open_cred_file(json_t **doc, struct hoist_creds *out,
			  const char *path, const char *host,
			  struct hoist_err *err)
{
	const char *suffix;
	int rc = load_cred_file(doc, path, err);

	if (rc)
		return rc;
	if (!*doc)
		return HOIST_ENOTFOUND;
	suffix = find_helper(*doc, host);
	if (suffix)
		return try_helper(out, suffix, host, err);
	return HOIST_ENOTFOUND;
}

/*
 * Parse into out the first entry of auths whose key, read by norm
 * (key_host or key_path), is want (case-insensitively), skipping the key
 * skip (may be NULL). HOIST_ENOTFOUND when no such entry holds usable
 * credentials; out is released between tries.
 */
static int match_entries(struct hoist_creds *out, json_t *auths,
			 char *(*norm)(const char *), const char *want,
			 const char *skip, const char *path,
			 struct hoist_err *err)
{
	const char *key;
	json_t *v;
	int rc;

	json_object_foreach(auths, key, v)
	{
		char *k = norm(key);
		int same = strcasecmp(k, want) == 0 &&
			   (!skip || strcmp(key, skip) != 0);

		free(k);
		if (!same)
			continue;
		rc = parse_entry(out, v, key, path, err);
		if (rc != HOIST_ENOTFOUND)
			return rc;
		hoist_creds_release(out);
	}
	return HOIST_ENOTFOUND;
}

/* containers auth.json: credHelpers, then namespace keys longest first. */
static int lookup_authjson(struct hoist_creds *out, const char *path,
			   const char *host, const char *repo,
			   struct hoist_err *err)
{
	json_t *doc = NULL, *auths;
	char *hostn = key_host(host), *cand = NULL;
	int rc;

	rc = open_cred_file(&doc, out, path, host, err);
	if (rc != HOIST_ENOTFOUND || !doc)
		goto out;
	auths = json_object_get(doc, "auths");
	cand = repo && *repo ? hoist_xasprintf("%s/%s", hostn, repo)
			     : hoist_xstrdup(hostn);
	for (;;) {
		char *slash;

		rc = match_entries(out, auths, key_path, cand, NULL, path, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
		slash = strrchr(cand, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	rc = HOIST_ENOTFOUND;
out:
	json_decref(doc);
	free(cand);
	free(hostn);
	return rc;
}

static char *docker_config_path(void)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");

	if (dc && *dc)
		return hoist_xasprintf("%s/config.json", dc);
	if (home && *home)
		return hoist_xasprintf("%s/.docker/config.json", home);
	return NULL;
}

static int lookup_docker(struct hoist_creds *out, const char *path,
			 const char *host, struct hoist_err *err)
{
	json_t *doc = NULL, *auths, *v;
	const char *suffix;
	const char *exact = is_hub(host) ? HUB_KEY : host;
	char *want = key_host(host);
	int rc;

	rc = open_cred_file(&doc, out, path, host, err);
	if (rc != HOIST_ENOTFOUND || !doc)
		goto out;
	suffix = hoist_json_str(doc, "credsStore");
	if (!find_helper(doc, host) && suffix && *suffix) {
		rc = try_helper(out, suffix, host, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	/* The file: the exact key first, then keys that are URLs. */
	auths = json_object_get(doc, "auths");
	v = json_object_get(auths, exact);
	if (v) {
		rc = parse_entry(out, v, exact, path, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
		hoist_creds_release(out);
	}
	rc = match_entries(out, auths, key_host, want, exact, path, err);
out:
	json_decref(doc);
	free(want);
	return rc;
}

int hoist_creds_lookup(struct hoist_creds *out, const char *host,
		       const char *repo, struct hoist_err *err)
{
	const char *raf = getenv("REGISTRY_AUTH_FILE");
	const char *xrd = getenv("XDG_RUNTIME_DIR");
	const char *xch = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *paths[3] = {NULL, NULL, NULL}, *dpath = NULL;
	int rc = HOIST_ENOTFOUND;

	memset(out, 0, sizeof(*out));
	if (raf && *raf)
		paths[0] = hoist_xstrdup(raf);
	if (xrd && *xrd)
		paths[1] = hoist_xasprintf("%s/containers/auth.json", xrd);
	if (xch && *xch)
		paths[2] = hoist_xasprintf("%s/containers/auth.json", xch);
	else if (home && *home)
		paths[2] = hoist_xasprintf("%s/.config/containers/auth.json",
					   home);
	for (size_t i = 0; i < 3; i++) {
		if (!paths[i])
			continue;
		rc = lookup_authjson(out, paths[i], host, repo, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	dpath = docker_config_path();
	if (dpath) {
		rc = lookup_docker(out, dpath, host, err);
		if (rc != HOIST_ENOTFOUND)
			goto out;
	}
	rc = hoist_err_set(err, HOIST_ENOTFOUND, "no credentials for '%s'",
			   host);
out:
	if (rc)
		hoist_creds_release(out);
	for (size_t i = 0; i < 3; i++)
		free(paths[i]);
	free(dpath);
	return rc;
}

/* ---- docker login / logout ---- */

/*
 * Write doc to path atomically. A config.json that is a symlink (into a
 * dotfiles repository, say) is written through: the file it points to is
 * replaced and the link stays, as docker login does. A dangling link is
 * replaced like a missing file.
 */
static int save_config(const char *path, json_t *doc, struct hoist_err *err)
{
	char *data = NULL, *dir = NULL, *slash, *target = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	rc = hoist_json_dump(&data, &len, doc, 1, err);
	if (rc)
		goto out;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		target = realpath(path, NULL);
		if (target)
			path = target;
	}
	dir = hoist_xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = hoist_fs_mkdirs(dir, 0700, err);
		if (rc)
			goto out;
	}
	rc = hoist_fs_write_atomic(path, data, len, 0600, err);
out:
	if (data)
		explicit_bzero(data, len);
	free(data);
	free(dir);
	free(target);
	return rc;
}

/* The helper that `docker login` would use for host, or NULL. */
static const char *store_helper(const json_t *doc, const char *host)
{
	const char *s = find_helper(doc, host);
	if (!s)
		s = hoist_json_str(doc, "credsStore");
	return s && *s ? s : NULL;
}

static int helper_simple(const char *suffix, const char *action,
			 const char *input, struct hoist_err *err)
{
	struct hoist_buf b;
	char q[HOIST_QUOTE_BUF];
	int status = 0, rc;

	hoist_buf_init(&b, HELPER_OUT_MAX);
	rc = helper_run(suffix, action, input, strlen(input), &b, &status, err);
	if (!rc && status != 0) {
		if (strstr(b.data, "credentials not found")) {
			rc = HOIST_ENOTFOUND;
			hoist_err_set(err, rc, "no credentials stored");
		} else {
			/* a store failure may echo its input: no output */
			if (strcmp(action, "store") == 0)
				q[0] = '\0';
			else
				helper_reason(q, sizeof(q), &b);
			rc = hoist_err_set(err, HOIST_EAUTH,
					   "credential helper "
					   "'docker-credential-%s' %s: exit "
					   "status %d%s%s%s",
					   suffix, action, status,
					   q[0] ? ": '" : "", q,
					   q[0] ? "'" : "");
		}
	}
	explicit_bzero(b.data, b.len);
	hoist_buf_release(&b);
	return rc;
}

int hoist_creds_store(const char *host, const char *user, const char *password,
		      struct hoist_err *err)
{
	char *path = docker_config_path(), *auth = NULL, *up = NULL;
	const char *key = is_hub(host) ? HUB_KEY : host, *suffix;
	json_t *doc = NULL, *auths, *entry;
	int rc;

	if (hoist_ref_check_domain(host, err))
		return free(path), HOIST_EINVAL;
	if (!path)
		return hoist_err_set(err, HOIST_EINVAL,
				     "neither DOCKER_CONFIG nor HOME is set");
	if (!user || !*user || strchr(user, ':'))
		return free(path),
		       hoist_err_set(err, HOIST_EINVAL,
				     "invalid user name for '%s'", host);
	rc = load_cred_file(&doc, path, err);
	if (rc)
		goto out;
	if (!doc)
		doc = json_object();
	suffix = store_helper(doc, host);
	if (suffix) {
		json_t *in = json_object();
		char *data = NULL;
		size_t len = 0;
		hoist_json_set_str(in, "ServerURL", helper_server(host));
		hoist_json_set_str(in, "Username", user);
		hoist_json_set_str(in, "Secret", password);
		rc = hoist_json_dump(&data, &len, in, 0, err);
		json_decref(in);
		if (!rc)
			rc = helper_simple(suffix, "store", data, err);
		if (data)
			explicit_bzero(data, len);
		free(data);
		goto out;
	}
	auths = json_object_get(doc, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(doc, "auths", auths);
	}
	entry = json_object_get(auths, key);
	if (!json_is_object(entry)) {
		entry = json_object();
		json_object_set_new(auths, key, entry);
	}
	up = hoist_xasprintf("%s:%s", user, password);
	auth = hoist_base64_encode(up, strlen(up));
	hoist_json_set_str(entry, "auth", auth);
	/* a new password replaces any token stored before */
	json_object_del(entry, "identitytoken");
	json_object_del(entry, "registrytoken");
	json_object_del(entry, "password");
	rc = save_config(path, doc, err);
out:
	if (rc)
		hoist_err_prefix(err, "store credentials for '%s'", host);
	json_decref(doc);
	hoist_free_secret(up);
	hoist_free_secret(auth);
	free(path);
	return rc;
}

int hoist_creds_erase(const char *host, struct hoist_err *err)
{
	char *path = docker_config_path(), *want = key_host(host);
	const char *suffix, *key;
	json_t *doc = NULL, *auths, *v;
	void *tmp;
	int rc, removed = 0, helper_rc = HOIST_ENOTFOUND;

	if (hoist_ref_check_domain(host, err)) {
		free(want);
		free(path);
		return HOIST_EINVAL;
	}
	if (!path) {
		free(want);
		return hoist_err_set(err, HOIST_EINVAL,
				     "neither DOCKER_CONFIG nor HOME is set");
	}
	rc = load_cred_file(&doc, path, err);
	if (rc)
		goto out;
	if (!doc) {
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "not logged in to '%s'", host);
		goto out;
	}
	suffix = store_helper(doc, host);
	if (suffix) {
		helper_rc = helper_simple(suffix, "erase", helper_server(host),
					  err);
		if (helper_rc && helper_rc != HOIST_ENOTFOUND) {
			rc = helper_rc;
			goto out;
		}
	}
	auths = json_object_get(doc, "auths");
	json_object_foreach_safe(auths, tmp, key, v)
	{
		char *kh = key_host(key);
		if (strcasecmp(kh, want) == 0) {
			json_object_del(auths, key);
			removed = 1;
		}
		free(kh);
	}
	if (removed)
		rc = save_config(path, doc, err);
	else if (helper_rc == HOIST_ENOTFOUND)
		rc = hoist_err_set(err, HOIST_ENOTFOUND,
				   "not logged in to '%s'", host);
	else
		hoist_err_clear(err);
out:
	if (rc && rc != HOIST_ENOTFOUND)
		hoist_err_prefix(err, "erase credentials for '%s'", host);
	json_decref(doc);
	free(want);
	free(path);
	return rc;
}
