/* dag.h: IPLD block codecs fog reads and writes, and the UnixFS v1 data message.
 * dag-pb (ipld/ipld specs/codecs/dag-pb/spec.md): encoding is canonical and written by hand
 * (Links before Data, PBLink fields Hash, Name, Tsize in that order); decoding is strict (the
 * rules of PROTOCOLS.md 2.2). UnixFS Data (ipfs/specs src/unixfs.md) is written by hand too,
 * because CIDs depend on its exact bytes (unpacked blocksizes, filesize written even when 0).
 * Decoded structures borrow from the block they were decoded from: they are valid only while
 * those bytes are.
 */
#ifndef FOG_DAG_H
#define FOG_DAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/mf.h"
#include "fog/store.h"
#include "fog/util.h"

#define FOG_BLOCK_MAX (2u << 20) /* largest block fog accepts from outside (bitswap limit) */

typedef struct {
    fog_cid cid;
    bool has_name;
    fog_slice name; /* borrowed; not NUL-terminated */
    bool has_tsize;
    uint64_t tsize;
} fog_pblink;

typedef struct {
    fog_pblink *links; /* given: fog_pbnode_clear frees it (decode allocates it) */
    size_t n_links;
    bool has_data;
    fog_slice data; /* borrowed */
} fog_pbnode;

/* Decodes a dag-pb block. On success *out owns its links array (fog_pbnode_clear) and borrows
 * every name and the data from p. Accepts Links then Data (canonical) and Data then Links
 * (legacy); refuses Links split around Data, a second Data, unknown fields or wire types, PBLink
 * fields repeated or out of order (Hash, Name, Tsize), a link without Hash or whose Hash is not
 * a valid CID. has_name/has_tsize keep whether the field was present (an absent Name and an
 * empty one are different bytes). Links are not sorted. FOG_ERR_PROTO (detail line says what),
 * FOG_ERR_TRUNCATED, FOG_ERR_NOMEM. On failure *out is left empty. */
FOG_NODISCARD int fog_pbnode_decode(fog_pbnode *out, const uint8_t *p, size_t len);
void fog_pbnode_clear(fog_pbnode *n);
/* Appends the canonical encoding of n to out, links in the order given (the caller sorts). */
FOG_NODISCARD int fog_pbnode_encode(const fog_pbnode *n, fog_buf *out);

/* UnixFS v1 Data message. */
enum {
    FOG_UNIXFS_RAW = 0,
    FOG_UNIXFS_DIRECTORY = 1,
    FOG_UNIXFS_FILE = 2,
    FOG_UNIXFS_METADATA = 3,
    FOG_UNIXFS_SYMLINK = 4,
    FOG_UNIXFS_HAMT = 5,
};
typedef struct {
    uint64_t type;
    bool has_data;
    fog_slice data; /* borrowed */
    bool has_filesize;
    uint64_t filesize;
    uint64_t *blocksizes; /* decode: given (fog_unixfs_clear); encode: borrowed */
    size_t n_blocksizes;
    bool has_hashtype;
    uint64_t hashtype;
    bool has_fanout;
    uint64_t fanout;
    bool has_mode;
    uint32_t mode;
    bool has_mtime;
    int64_t mtime_sec;
    bool has_mtime_nsec;
    uint32_t mtime_nsec;
} fog_unixfs;

/* Decodes a UnixFS Data message as boxo does: Type is required; blocksizes may be unpacked or
 * packed; unknown fields of wire types 0, 1, 2, 5 are skipped; groups, wire types 6/7 and known
 * fields of the wrong wire type are refused; a repeated field keeps its last value (repeated
 * mtime messages merge); mode keeps the low 32 bits; mtime needs Seconds. Type is not checked
 * against the enum (the exporter refuses types above FOG_UNIXFS_HAMT). data borrows from p; on
 * success out->blocksizes is given (fog_unixfs_clear). FOG_ERR_PROTO, FOG_ERR_TRUNCATED,
 * FOG_ERR_NOMEM; on failure *out is left empty. */
FOG_NODISCARD int fog_unixfs_decode(fog_unixfs *out, const uint8_t *p, size_t len);
void fog_unixfs_clear(fog_unixfs *u);
/* Appends the encoding (fields in number order, blocksizes unpacked) to out. */
FOG_NODISCARD int fog_unixfs_encode(const fog_unixfs *u, fog_buf *out);

/* Calls emit for every CID the block links to, by c's codec: dag-pb links in block order,
 * DAG-CBOR tag-42 links in document order (read leniently, as go-ipld-prime and @ipld/dag-cbor
 * decode: non-canonical forms pass, duplicate keys, indefinite lengths and other tags do not),
 * none for raw. The block is validated whole before the first emit, so a malformed block
 * (FOG_ERR_PROTO, FOG_ERR_TRUNCATED, FOG_ERR_LIMIT for DAG-CBOR nested deeper than 256) reports
 * no link. When c uses the identity hash its block is the digest inside c, which is read
 * instead of data (so an inlined dag-pb or DAG-CBOR node still reports its links). A non-zero
 * return from emit stops the walk and is returned. FOG_ERR_UNSUPPORTED for a codec fog cannot
 * read (dag-json, ...). */
FOG_NODISCARD int fog_dag_links(const fog_cid *c, fog_slice data, fog_cid_fn emit,
                                void *emit_ctx);

/* Where the exporter gets blocks from: the local store now, the network later. get lends the
 * bytes until the next call of get on the same source or until the source is released. It
 * returns FOG_ERR_NOT_FOUND (detail line naming the CID) for a block it cannot provide. */
typedef struct {
    int (*get)(void *ctx, const fog_cid *c, fog_slice *out);
    void *ctx;
    /* true when every block the source lends was checked against its CID as it entered (the
     * store: DESIGN.md "nothing unverified reaches the store"); the exporter then does not hash
     * blocks again. false (the zero value): the exporter verifies each block before use. */
    bool trusted;
} fog_blocksource;

/* Visits root and every block below it once each, depth first in link order (pre-order), with
 * an explicit stack (a deep DAG cannot exhaust the C stack) and a seen set of multihashes (a
 * DAG of diamonds costs its block count, not its path count). seen may be NULL (the walk keeps
 * its own) or a set the caller shares across several walks. Identity CIDs are read from the
 * CID; other blocks come from src and are verified against their CID unless src->trusted.
 * visit (may be NULL) sees each block, lent for the call; its non-zero return stops the walk and
 * is returned. FOG_ERR_NOT_FOUND when a block is missing: its CID goes to *missing_out (may be
 * NULL) and the detail line names it. Links are read with fog_dag_links. */
typedef int (*fog_dag_visit_fn)(void *ctx, const fog_cid *c, fog_slice data);
FOG_NODISCARD int fog_dag_walk(const fog_blocksource *src, const fog_cid *root, fog_set *seen,
                               fog_dag_visit_fn visit, void *ctx, fog_cid *missing_out);

/* A byte consumer (stdout, a file): 0 or a negative fog_err, which stops the writer. */
typedef int (*fog_write_fn)(void *ctx, const uint8_t *p, size_t len);

#endif
