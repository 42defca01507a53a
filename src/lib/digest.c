/*
 * digest.c: strict validation of content digests.
 *
 * A digest ends up in file names (blobs/sha256/<hex>) and in URLs, so only
 * the two registered algorithms are accepted, with exactly the canonical
 * number of lower-case hex digits. Errors quote the offending text with
 * hoist_err_quote(), so a hostile string cannot reach a terminal through an
 * error message.
 */
#include <stdio.h>
#include <string.h>

#include "lib/digest.h"
#include "util/banned.h"

int hoist_digest_is_sha256_hex(const char *s, size_t len)
{
	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int hoist_digest_is_sha256(const char *s)
{
	return s &&
	       strncmp(s, HOIST_SHA256_PREFIX, HOIST_SHA256_PREFIX_LEN) == 0;
}

int hoist_digest_validate(const char *s, struct hoist_err *err)
{
	char q[HOIST_QUOTE_BUF];
	const char *colon, *hex;
	size_t alen, want, n;

	if (!s)
		s = "";
	colon = strchr(s, ':');
	if (!colon) {
		hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid digest '%s': missing ':' after "
				     "the algorithm",
				     q);
	}
	alen = (size_t)(colon - s);
	if (alen == 6 && memcmp(s, "sha256", 6) == 0) {
		want = 64;
	} else if (alen == 6 && memcmp(s, "sha512", 6) == 0) {
		want = 128;
	} else {
		char algo[HOIST_QUOTE_BUF];
		hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
		hoist_err_quote(algo, sizeof(algo), s, alen, 0);
		if (alen == 0)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid digest '%s': empty "
					     "algorithm",
					     q);
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid digest '%s': unsupported "
				     "algorithm '%s' (sha256 or sha512 "
				     "expected)",
				     q, algo);
	}
	hex = colon + 1;
	for (n = 0; hex[n]; n++) {
		char c = hex[n];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
			continue;
		hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
		if (c >= 'A' && c <= 'F')
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid digest '%s': upper-case "
					     "hex digit '%c' at offset %zu",
					     q, c, n);
		if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
			return hoist_err_set(err, HOIST_EINVAL,
					     "invalid digest '%s': byte 0x%02x "
					     "at offset %zu is not a hex digit",
					     q, (unsigned char)c, n);
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid digest '%s': '%c' at offset %zu "
				     "is not a hex digit",
				     q, c, n);
	}
	if (n != want) {
		hoist_err_quote(q, sizeof(q), s, HOIST_QUOTE_ALL, 0);
		return hoist_err_set(err, HOIST_EINVAL,
				     "invalid digest '%s': %.6s needs %zu hex "
				     "digits, not %zu",
				     q, s, want, n);
	}
	return 0;
}

int hoist_digest_parse(struct hoist_digest *out, const char *s,
		       struct hoist_err *err)
{
	int rc;

	out->str[0] = '\0';
	rc = hoist_digest_validate(s, err);
	if (rc)
		return rc;
	/* validated: at most "sha512:" + 128 digits, which fits */
	snprintf(out->str, sizeof(out->str), "%s", s);
	return 0;
}

void hoist_digest_from_sha256_hex(struct hoist_digest *out, const char *hex)
{
	snprintf(out->str, sizeof(out->str), "sha256:%.64s", hex);
}

const char *hoist_digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');

	return colon ? colon + 1 : digest + strlen(digest);
}

size_t hoist_digest_algo_len(const char *digest)
{
	const char *colon = strchr(digest, ':');

	return colon ? (size_t)(colon - digest) : 0;
}
