/* hash.c: SHA-256 through OpenSSL's EVP interface. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "util/hash.h"
#include "util/banned.h"

void hoist_sha256_init(struct hoist_sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "hoist: cannot initialise sha256\n");
		abort();
	}
	h->ctx = ctx;
}

void hoist_sha256_update(struct hoist_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void hoist_sha256_final_hex(struct hoist_sha256 *h,
			    char hex[HOIST_SHA256_HEXLEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	for (unsigned int i = 0; i < HOIST_SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[HOIST_SHA256_HEXLEN] = '\0';
	hoist_sha256_release(h);
}

void hoist_sha256_release(struct hoist_sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void hoist_sha256_hex(const void *data, size_t len,
		      char hex[HOIST_SHA256_HEXLEN + 1])
{
	struct hoist_sha256 h;
	hoist_sha256_init(&h);
	hoist_sha256_update(&h, data, len);
	hoist_sha256_final_hex(&h, hex);
}
