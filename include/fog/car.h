/* car.h: CAR v1 archives (ipld/ipld specs/transport/car/carv1; PROTOCOLS.md 2.5).
 * Writer: a header with the roots, then every block of the DAG under each root in depth-first
 * pre-order (each block once). Reader: a streaming parser over a read function with a bounded
 * buffer (one section at a time, never the whole archive) that verifies each block against its
 * CID before handing it on, so nothing unverified leaves it. Import: reader + store batch, with
 * all-or-nothing semantics for bad input.
 * A CAR file is
 *   uvarint(len) header                     header = DAG-CBOR {"roots": [CID...], "version": 1}
 *   ( uvarint(len) CID-bytes block-bytes )* len = CID bytes + block bytes, never 0
 */
#ifndef FOG_CAR_H
#define FOG_CAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/store.h"
#include "fog/util.h"

#define FOG_CAR_HEADER_MAX (1u << 20) /* largest header accepted */
#define FOG_CAR_MAX_ROOTS 1024
/* Largest section length accepted: a CID and a block of FOG_BLOCK_MAX bytes. */
#define FOG_CAR_SECTION_MAX ((uint64_t)FOG_CID_MAX + FOG_BLOCK_MAX)

/* Writes a CARv1 with the given roots (1..FOG_CAR_MAX_ROOTS, written as given, v0 stays v0) to
 * write_fn: the header, then the DAG of each root depth-first in pre-order through src, links
 * followed with fog_dag_links in link order. Each CID is written once (the seen set is keyed by
 * CID bytes, as go-car's traversal is, so a block reached under a v0 and a v1 name appears under
 * both). Identity CIDs are written as blocks whose bytes are their digest, as go-car's
 * TraverseV1 (kubo's `dag export`) does; src is not asked for them.
 * Every root is fetched once before the header is written, so a missing root fails with nothing
 * written. Errors: FOG_ERR_NOT_FOUND (detail line names the CID) when a block is missing,
 * FOG_ERR_UNSUPPORTED when a block's codec has links fog cannot read, FOG_ERR_INVALID for a root
 * count out of range, FOG_ERR_NOMEM, or whatever write_fn or src->get returned. On error the
 * output may end mid-archive; the caller discards it. roots and src are borrowed. */
FOG_NODISCARD int fog_car_export(const fog_blocksource *src, const fog_cid *roots, size_t n_roots,
                                 fog_write_fn write_fn, void *ctx);

/* A streaming reader. read_fn fills up to cap bytes (cap <= INT_MAX) and returns the count (0 at
 * end of input, after which it is not called again) or a negative fog_err, which the reader
 * returns as is. */
typedef int (*fog_read_fn)(void *ctx, uint8_t *p, size_t cap);
typedef struct fog_car_reader fog_car_reader;
/* Reads and checks the header: version 1, roots an array (possibly empty, as go-car's v2 reader
 * and @ipld/car allow) of at most FOG_CAR_MAX_ROOTS valid CIDs, only the keys roots and version
 * (either order), canonical heads, no trailing bytes. Errors, each with a detail line:
 * FOG_ERR_UNSUPPORTED (a CARv2 pragma: "CARv2 is not supported yet"), FOG_ERR_PROTO (malformed,
 * zero length, other version), FOG_ERR_TRUNCATED (input ends inside the header),
 * FOG_ERR_LIMIT (header over FOG_CAR_HEADER_MAX, too many roots), FOG_ERR_NOMEM, or read_fn's
 * error. *out is given: fog_car_reader_free. ctx is borrowed for the reader's life. */
FOG_NODISCARD int fog_car_reader_new(fog_car_reader **out, fog_read_fn read_fn, void *ctx);
void fog_car_reader_free(fog_car_reader *r); /* NULL is a no-op */
size_t fog_car_reader_n_roots(const fog_car_reader *r);
/* Root i < n_roots, lent until fog_car_reader_free. */
const fog_cid *fog_car_reader_root(const fog_car_reader *r, size_t i);
/* The next block: 1 with *c and *data set (data lent until the next call or free), 0 at the
 * clean end, or an error: FOG_ERR_HASH_MISMATCH ("block <CID> in the CAR does not match its
 * CID"), FOG_ERR_UNSUPPORTED (a hash function fog cannot compute), FOG_ERR_PROTO (zero-length
 * section, malformed CID, CID longer than its section), FOG_ERR_TRUNCATED (input ends inside a
 * section), FOG_ERR_LIMIT (section over FOG_CAR_SECTION_MAX or block over FOG_BLOCK_MAX),
 * FOG_ERR_NOMEM, or read_fn's error; each sets a detail line naming the section's offset or the
 * CID. After an error every later call returns the same error. Duplicate blocks are returned
 * as often as they appear (the trustless gateway's dups=y produces them). */
FOG_NODISCARD int fog_car_reader_next(fog_car_reader *r, fog_cid *c, fog_slice *data);

/* Where the block last returned by fog_car_reader_next sits in the archive (byte offsets from
 * the start of the input), as the spec's fixtures and CARv2 indexes count them. */
typedef struct {
    uint64_t offset;       /* the section's length varint */
    uint64_t length;       /* the whole section: varint, CID and block */
    uint64_t block_offset; /* the block bytes */
    uint64_t block_length;
} fog_car_section;
void fog_car_reader_section(const fog_car_reader *r, fog_car_section *out);

typedef struct {
    uint64_t blocks;         /* sections read and verified (duplicates counted each time) */
    uint64_t bytes;          /* their block bytes */
    uint64_t blocks_present; /* of those, not written: already in the store, repeated in the
                              * CAR, or identity CIDs (their bytes live in the CID itself) */
} fog_car_import_stats;

/* Imports a CAR into s (opened FOG_STORE_WRITE): every block is verified against its CID by the
 * reader, then stored through fog_store_batch, durably committed. With pin_roots, each root's DAG
 * must then be complete in the store (as kubo's `dag import` demands unless --pin-roots=false):
 * every block reachable from it, through fog_dag_links, is in the CAR or was already stored;
 * then every root is pinned recursively in one transaction. Identity CIDs are never stored.
 * Bad input changes nothing: on any error the blocks this import newly added are deleted again
 * and nothing is pinned. A crash mid-import may leave unpinned blocks, which gc removes.
 * On success stats_out (may be NULL) is filled, and *roots_out (may be NULL) receives a copy of
 * the header's roots, given to the caller (free(); NULL when there are none), with their count in
 * *n_roots_out. Errors: those of fog_car_reader_new and fog_car_reader_next; FOG_ERR_NOT_FOUND
 * when pinning finds a block of a root's DAG in neither the CAR nor the store (the detail names
 * the root and the block; import with pin_roots false to skip pinning); FOG_ERR_UNSUPPORTED when
 * a block under a root has a codec whose links fog cannot read; store errors (FOG_ERR_STORE,
 * FOG_ERR_STORE_FULL, FOG_ERR_INVALID for a read-only store); FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_car_import(fog_store *s, fog_read_fn read_fn, void *ctx, bool pin_roots,
                                 fog_car_import_stats *stats_out, fog_cid **roots_out,
                                 size_t *n_roots_out);

#endif
