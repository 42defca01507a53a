/*
 * estargz.h: the eStargz layer writer (stargz-snapshotter's "eStargz:
 * Standard-Compatible Extension to Container Image Layers for Lazy
 * Pulling"). It turns a tar stream into a gzip stream that every gzip tar
 * reader still takes, laid out so that a lazy-pulling runtime can find and
 * verify each file on its own:
 *
 *   - the archive starts with the no-prefetch landmark, a regular file
 *     ".no.prefetch.landmark" holding the one byte 0x0f (no prioritized
 *     files are given, so the specification requires it, placed first as
 *     its reference producer does);
 *   - each chunk (chunk_size bytes, the last one shorter) of each non-empty
 *     regular file is a gzip member of its own; tar headers, padding and
 *     the entries without content go into the member that is open, that
 *     is after the previous file's last chunk, as the reference producer
 *     lays them out;
 *   - the TOC, a tar entry "stargz.index.json" (JSON indented with tabs,
 *     as Go's json.MarshalIndent writes it) followed by the end-of-archive
 *     blocks, in a member of its own, lists every entry and chunk with the
 *     specification's fields (name, type, size, modtime, linkName, mode,
 *     uid, gid, userName, groupName, offset, devMajor, devMinor, xattrs,
 *     digest, chunkOffset, chunkSize, chunkDigest) in Go's field order;
 *   - the 51-byte footer: an empty gzip member whose extra field "SG"
 *     holds "%016xSTARGZ" with the TOC member's offset.
 *
 * The input's tar headers are copied byte for byte (as BuildKit's lossless
 * mode); its end-of-archive blocks are dropped, since the TOC entry ends
 * the archive. Input entries named stargz.index.json are refused; input
 * landmark entries are dropped (they would be duplicates). Memory stays
 * flat: zlib deflates each member as a stream; only the TOC text, which
 * grows with the number of entries, is kept.
 *
 * Output is deterministic for the same input, level and zlib version,
 * whatever the sizes of the writes.
 */
#ifndef HOIST_LIB_ESTARGZ_H
#define HOIST_LIB_ESTARGZ_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "lib/digest.h"
#include "lib/sink.h"

/* The specification's default chunk size. */
#define HOIST_ESTARGZ_CHUNK (4u << 20)
#define HOIST_ESTARGZ_FOOTER_SIZE 51
#define HOIST_ESTARGZ_TOC_NAME "stargz.index.json"
#define HOIST_ESTARGZ_NO_PREFETCH ".no.prefetch.landmark"
#define HOIST_ESTARGZ_PREFETCH ".prefetch.landmark"

/* Layer descriptor annotations of an eStargz layer. */
#define HOIST_ANN_STARGZ_TOC "containerd.io/snapshot/stargz/toc.digest"
#define HOIST_ANN_ESTARGZ_USIZE "io.containers.estargz.uncompressed-size"

/* Largest TOC hoist writes (its JSON text). */
#define HOIST_ESTARGZ_TOC_MAX (512u << 20)

struct hoist_estargz_result {
	struct hoist_digest toc_digest; /* sha256 of the TOC JSON text */
	struct hoist_digest diff_id;    /* sha256 of the whole gunzipped tar */
	uint64_t uncompressed_size;     /* its length */
	uint64_t toc_offset;            /* of the TOC member in the blob */
	uint64_t entries;               /* TOC entries, chunks included */
};

struct hoist_estargz;

/*
 * A writer that reads a tar stream through hoist_estargz_write and pushes
 * the eStargz blob into sink (only from the caller's thread). level is a
 * gzip level 0-9 or -1 (zlib's default, 6); chunk_size is 0 for the
 * default or at least 512. Returns 0, or HOIST_EINVAL (bad level or chunk
 * size; *out NULL). The landmark is written at the first write or at
 * finish.
 */
int hoist_estargz_new(struct hoist_estargz **out, int level, size_t chunk_size,
		      const struct hoist_sink *sink, struct hoist_err *err);

/*
 * Feed tar bytes, in any pieces. HOIST_EINVAL for a tar it cannot read (a
 * bad header checksum, a malformed PAX record, an entry type eStargz has
 * no name for, an input stargz.index.json: the message names the entry),
 * HOIST_ELIMIT for an extended header over 1 MiB or a TOC over
 * HOIST_ESTARGZ_TOC_MAX, or the sink's code. After an error every later
 * call returns it again.
 */
int hoist_estargz_write(struct hoist_estargz *e, const void *data, size_t len,
			struct hoist_err *err);

/*
 * End the stream: write the TOC member and the footer and fill *res.
 * HOIST_EINVAL if the tar stops inside an entry; else as _write.
 */
int hoist_estargz_finish(struct hoist_estargz *e,
			 struct hoist_estargz_result *res,
			 struct hoist_err *err);

/* NULL is a no-op. */
void hoist_estargz_free(struct hoist_estargz *e);

/*
 * The 51-byte footer for a TOC at offset toc_off, into out (at least
 * HOIST_ESTARGZ_FOOTER_SIZE bytes).
 */
void hoist_estargz_footer(unsigned char *out, uint64_t toc_off);

#endif
