/* internal.h: what the files of the dag layer share (fog__ names, STYLE.md section 2).
 * Two helpers write this layer: the codecs' decoders and the exporter on one side, the encoders
 * and the importer on the other. Each adds its own declarations below; nothing is removed.
 */
#ifndef FOG_DAG_INTERNAL_H
#define FOG_DAG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/unixfs.h"
#include "fog/util.h"

/* ---- dag-pb scanning (pb_decode.c) ----
 * fog__pb_scan checks a whole dag-pb block against the strict rules (PROTOCOLS.md 2.2) without
 * allocating, and finds the Data field and the byte range that holds every PBLink (the Links
 * are contiguous in every accepted order). fog__pb_links then walks those links again, already
 * validated, one at a time: callers that copy only what they need (the exporter, fog_dag_links)
 * never allocate a fog_pblink per link. Both borrow from the block. */
typedef struct {
    bool has_data;
    fog_slice data;  /* borrowed; the PBNode Data bytes */
    size_t n_links;
    fog_slice links; /* borrowed; every PBLink field of the node, back to back */
} fog__pb_info;
/* FOG_ERR_PROTO or FOG_ERR_TRUNCATED (detail line says what) for a block fog does not accept. */
FOG_NODISCARD int fog__pb_scan(fog__pb_info *info, const uint8_t *p, size_t len);

typedef struct {
    fog_reader r;
} fog__pb_links;
void fog__pb_links_init(fog__pb_links *it, const fog__pb_info *info);
/* Fills *out with the next link (names borrowed from the block); false after the last one. */
bool fog__pb_links_next(fog__pb_links *it, fog_pblink *out);

/* ---- DAG-CBOR walking (cbor_links.c) ----
 * Walks one DAG-CBOR block item by item, calling emit for every tag-42 CID. Lenient mode accepts
 * what go-ipld-prime and @ipld/dag-cbor accept on decode (non-minimal integers and lengths,
 * unsorted keys, 16/32-bit floats, a long-form tag 42); strict mode also demands the canonical
 * form. Both refuse indefinite lengths, undefined, other simple values and tags, NaN and
 * infinities, non-string and duplicate map keys, a CID that does not parse, trailing bytes and
 * nesting deeper than FOG__CBOR_MAX_DEPTH. emit may be NULL (validation only). */
#define FOG__CBOR_MAX_DEPTH 256
FOG_NODISCARD int fog__cbor_walk(const uint8_t *p, size_t len, bool strict, fog_cid_fn emit,
                                 void *emit_ctx);

/* ---- the HAMT hash (murmur3.c, the importer's file) ----
 * murmur3-x64-64: h1 of MurmurHash3_x64_128 with seed 0, written big-endian into out. Declared
 * here too by the exporter; a repeated identical declaration is harmless. */
void fog__murmur3_x64_64(const uint8_t *p, size_t len, uint8_t out[8]);

/* ---- the UnixFS exporter (export*.c) ----
 * fog__exp wraps a fog_blocksource: fetch verifies blocks from untrusted sources, refuses CIDs
 * whose digest is too short to mean anything, serves identity CIDs itself, and names the CID in
 * every FOG_ERR_NOT_FOUND. A fetched block is lent until the next fetch, so a parent's links
 * are copied into a fog__exp_links before any child is fetched; the bytes every open level
 * holds are counted in held and capped at FOG__EXP_HELD_MAX (a deep or wide hostile DAG fails
 * with FOG_ERR_LIMIT instead of growing). */
#define FOG__EXP_HELD_MAX (64u << 20)
#define FOG__EXP_MIN_DIGEST 20 /* boxo verifcid: shorter digests (except identity) are refused */
#define FOG__HAMT_MAX_FANOUT 1024 /* CVE-2023-23625: larger fanouts are refused on read */

typedef struct {
    const fog_blocksource *src;
    fog_cid id_cid; /* the identity CID whose digest is currently lent as a block */
    size_t held;    /* bytes held by every live fog__exp_links */
    uint64_t fetches;     /* blocks fetched so far, identity CIDs included */
    uint64_t max_fetches; /* 0: no cap; else FOG_ERR_LIMIT past it (a DAG of diamonds can ask
                           * for far more fetches than it has blocks; fuzzers set a cap) */
} fog__exp;

/* A fetched and decoded UnixFS node. raw: a raw block (the file bytes); otherwise pb and fs
 * describe a dag-pb node whose UnixFS Data decoded. kind is FOG_UNIXFS_* (raw blocks:
 * FOG_UNIXFS_FILE). Borrows the block: valid until the next fetch. */
typedef struct {
    fog_cid cid;
    fog_slice block;
    bool raw;
    uint64_t kind;
    fog__pb_info pb;
    fog_unixfs fs; /* owns fs.blocksizes: fog__exp_node_clear */
} fog__exp_node;

/* One copied link: offsets into fog__exp_links.bytes, so the bytes may move as they grow. */
typedef struct {
    size_t cid_off;
    size_t cid_len;
    size_t name_off;
    size_t name_len;
    bool has_name;
    bool has_tsize;
    uint64_t tsize;
    uint64_t bsize; /* File children: blocksizes[i]; otherwise 0 */
    uint64_t start; /* File children: offset of the child's first byte in the file */
} fog__exp_link;

typedef struct {
    fog_buf bytes;
    fog__exp_link *v;
    size_t n;
    size_t held; /* what this list added to fog__exp.held */
} fog__exp_links;

void fog__exp_init(fog__exp *x, const fog_blocksource *src);
/* Fetches c (FOG_ERR_NOT_FOUND, FOG_ERR_HASH_MISMATCH, FOG_ERR_UNSUPPORTED for a hash fog cannot
 * check or a digest shorter than FOG__EXP_MIN_DIGEST). The bytes are lent until the next fetch. */
FOG_NODISCARD int fog__exp_fetch(fog__exp *x, const fog_cid *c, fog_slice *out);
/* Fetches and decodes c as UnixFS: FOG_ERR_PROTO (detail names c) for a dag-pb block that is
 * not valid UnixFS, FOG_ERR_UNSUPPORTED for codecs other than raw and dag-pb. */
FOG_NODISCARD int fog__exp_load(fog__exp *x, const fog_cid *c, fog__exp_node *n);
void fog__exp_node_clear(fog__exp_node *n);

/* Copies the links of n with index in [from, to) (File nodes: with their blocksizes and start
 * offsets, the first content byte of n being at base). */
FOG_NODISCARD int fog__exp_links_copy(fog__exp *x, const fog__exp_node *n, size_t from,
                                      size_t to, uint64_t base, fog__exp_links *out);
/* Parses link i's CID (FOG_ERR_PROTO cannot happen for links copied from a scanned block). */
FOG_NODISCARD int fog__exp_links_cid(const fog__exp_links *l, size_t i, fog_cid *out);
static inline const char *fog__exp_links_name(const fog__exp_links *l, size_t i)
{
    return (const char *)l->bytes.p + l->v[i].name_off;
}
void fog__exp_links_free(fog__exp *x, fog__exp_links *l);

/* Streams bytes [lo, hi) of the file node n (raw or dag-pb File/Raw, already loaded) to fn. */
FOG_NODISCARD int fog__exp_cat(fog__exp *x, fog__exp_node *n, uint64_t lo, uint64_t hi,
                               fog_write_fn fn, void *ctx);
/* The content size of a loaded file node: filesize, else Data length + sum of blocksizes, else
 * the block length for raw blocks. FOG_ERR_PROTO when the sum overflows. */
FOG_NODISCARD int fog__exp_file_size(const fog__exp_node *n, uint64_t *size_out);

/* Calls fn once per entry of the directory n (basic or HAMT, already loaded; n is cleared
 * because children are fetched): name is borrowed and not NUL-terminated; l is its link. A
 * non-zero return from fn stops the walk and is returned. depth counts directory levels above. */
typedef int (*fog__exp_entry_fn)(fog__exp *x, void *arg, const char *name, size_t name_len,
                                 const fog_cid *c, const fog__exp_link *l);
FOG_NODISCARD int fog__exp_dir_each(fog__exp *x, fog__exp_node *n, fog__exp_entry_fn fn,
                                    void *arg);

/* The parameters of a loaded HAMT shard: bits of hash per level and the length of the hex
 * prefix of its link names. FOG_ERR_UNSUPPORTED for a hash other than murmur3-x64-64,
 * FOG_ERR_PROTO for a fanout that is not a power of two in 2..FOG__HAMT_MAX_FANOUT. */
FOG_NODISCARD int fog__hamt_params(const fog__exp_node *n, unsigned *bits_out, size_t *pad_out);

/* fog_unixfs_ls over an existing fog__exp (so a caller can cap its fetches). */
FOG_NODISCARD int fog__exp_ls(fog__exp *x, const fog_cid *c,
                              int (*fn)(void *ctx, const fog_unixfs_entry *e), void *ctx);

/* A printable excerpt of an untrusted name for a detail line (at most 64 characters, controls
 * and non-ASCII bytes shown as '?'), into out. */
void fog__exp_excerpt(const char *name, size_t len, char out[72]);

/* ---- encoders and importer (pb_encode.c, chunker.c, import*.c, hamt_build.c) ---- */
/* Bytes one PBLink carrying Hash, Name and Tsize adds to a PBNode (tag, length and body): the
 * unit of the "block-bytes" HAMT estimate (boxo linkSerializedSize, js linkSerializedSize). */
size_t fog__pb_link_size(size_t name_len, size_t cid_len, uint64_t tsize);

/* Chunkers (chunker.c). fog__chunker_scan looks at the next len bytes of the current chunk and
 * returns how many of them complete it (a cut), or 0 when the chunk goes on past p (the state
 * remembers what it saw, so input may come in pieces). */
#define FOG__RABIN_WINDOW 16           /* js-ipfs-unixfs rabin window */
#define FOG__CHUNK_LIMIT (2096896u)    /* boxo ChunkSizeLimit: 2 MiB minus 256 bytes of framing */
typedef struct {
    int kind;      /* FOG_CHUNKER_* */
    size_t min;    /* fixed: chunk_size */
    size_t max;    /* fixed: chunk_size */
    uint64_t mask; /* rabin: 2^floor(log2(avg)) - 1 */
    size_t count;  /* bytes of the current chunk seen so far */
    uint64_t digest;
    unsigned wpos;
    uint8_t window[FOG__RABIN_WINDOW];
} fog__chunker;
void fog__chunker_init(fog__chunker *c, const fog_import_opts *o);
size_t fog__chunker_scan(fog__chunker *c, const uint8_t *p, size_t len);
size_t fog__chunker_max(const fog__chunker *c);
size_t fog__chunker_pending(const fog__chunker *c);

/* The leaf pool (import_pool.c): a ring of leaf slots hashed by worker threads (or inline when
 * there are none), handed back oldest first so that output and sink order never depend on
 * thread timing. Only the importing thread calls these. A slot's buffer holds the chunk at
 * buf + FOG__LEAF_HEAD with room around it to wrap the chunk into a dag-pb leaf in place. */
#define FOG__LEAF_HEAD 16 /* 0a len 08 02 12 len: at most 1+5+2+1+5 bytes */
#define FOG__LEAF_TAIL 12 /* 18 filesize */
typedef struct {
    int fd;           /* >= 0: the worker first reads len bytes at off (pread) into the buffer */
    uint64_t off;
    size_t len;       /* chunk bytes */
    bool raw;         /* raw leaf (CIDv1 raw) or UnixFS File dag-pb leaf */
    int cid_version;  /* of dag-pb leaves */
    uint8_t *buf;     /* owned by the pool; FOG__LEAF_HEAD + chunk max + FOG__LEAF_TAIL bytes */
    int rc;           /* after the run: 0, or FOG_ERR_IO with err_no (0: the file got shorter) */
    int err_no;
    fog_cid cid;
    const uint8_t *block; /* into buf */
    size_t block_len;
} fog__leaf;
typedef struct fog__leafpool fog__leafpool;
/* threads 0 or 1: no worker thread, leaves are hashed inside submit. */
FOG_NODISCARD int fog__leafpool_new(fog__leafpool **out, unsigned threads, size_t chunk_max);
void fog__leafpool_free(fog__leafpool *p); /* NULL is a no-op; waits for leaves in flight */
/* The next free slot with its buffer (FOG_ERR_NOMEM), or NULL in *out when every slot is in
 * flight: then fog__leafpool_wait the oldest first. */
FOG_NODISCARD int fog__leafpool_slot(fog__leafpool *p, fog__leaf **out);
/* Starts the slot last returned by fog__leafpool_slot. run_inline hashes it on this thread at
 * once when nothing else is in flight (single-chunk files skip the hand-off). */
void fog__leafpool_submit(fog__leafpool *p, fog__leaf *l, bool run_inline);
/* The oldest leaf in flight once it is done, or NULL when none is in flight. The caller reads
 * its results, then gives it back with fog__leafpool_release. */
fog__leaf *fog__leafpool_wait(fog__leafpool *p);
void fog__leafpool_release(fog__leafpool *p, fog__leaf *l);
void fog__leaf_run(fog__leaf *l);

/* A finished node of the DAG being built: its CID, the bytes of its whole DAG (Tsize) and the
 * file bytes below it (blocksizes). */
typedef struct {
    fog_cid cid;
    uint64_t tsize;
    uint64_t fsize;
} fog__ref;

/* One import (import.c): the validated options, where blocks go, and scratch buffers. */
typedef struct {
    fog_import_opts o;
    const fog_blocksink *sink;
    const fog_import_events *ev;
    fog__leafpool *pool;
    fog_buf data;  /* UnixFS Data of the node being built */
    fog_buf block; /* the dag-pb block being built */
    uint64_t bytes_done;
    uint64_t bytes_reported;
    fog_buf path;   /* file system path of the entry being imported, NUL-terminated */
    size_t rel_off; /* the path reported to ev->entry starts here */
} fog__imp;

/* Encodes the dag-pb node {links, Data = u}, hashes it (CID version o.cid_version) and puts it:
 * fills out (fsize left 0) with tsize = block bytes + the links' Tsizes. */
FOG_NODISCARD int fog__imp_emit(fog__imp *im, const fog_unixfs *u, const fog_pblink *links,
                                size_t n, fog__ref *out);
FOG_NODISCARD int fog__imp_put(fog__imp *im, const fog_cid *c, const uint8_t *p, size_t len);
void fog__imp_progress(fog__imp *im, uint64_t bytes, bool force);
void fog__imp_entry(fog__imp *im, const fog__ref *r, uint64_t size);

/* Files (import_file.c): the bytes readable from fd as one UnixFS file. size: st_size of a
 * regular file that may be read with pread, or UINT64_MAX for a stream. */
FOG_NODISCARD int fog__import_file(fog__imp *im, int fd, uint64_t size, fog__ref *out);

/* Directory entries (import_dir.c, hamt_build.c). name is NUL-terminated and borrowed from the
 * directory's name arena. The importer only makes sha2-256 CIDs: 34 (v0) or 36 (v1) bytes. */
#define FOG__DIRENT_CID_MAX 36
typedef struct {
    const char *name;
    size_t name_len;
    uint64_t tsize;
    uint8_t hash[8]; /* murmur3-x64-64 of the name, filled by fog__hamt_build */
    uint8_t cid_len;
    uint8_t cid[FOG__DIRENT_CID_MAX];
} fog__dirent;
/* Builds a HAMT-sharded directory (fanout o.hamt_fanout) over ents (n >= 1, names unique) and
 * puts its shards children first. ents is reordered. FOG_ERR_LIMIT when two names share every
 * hash bit (boxo: "sharded directory too deep"). */
FOG_NODISCARD int fog__hamt_build(fog__imp *im, fog__dirent *ents, size_t n, fog__ref *out);
/* Imports the file, folder or symlink at im->path (recursively), reporting it to ev->entry. */
FOG_NODISCARD int fog__import_entry(fog__imp *im, unsigned depth, fog__ref *out);

#endif
