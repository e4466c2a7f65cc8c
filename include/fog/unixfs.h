/* unixfs.h: the UnixFS v1 importer (files and folders into blocks) and exporter (blocks back to
 * bytes, listings and folders on disk).
 * The importer follows the profiles of IPIP-499 (ipfs/specs src/ipips/ipip-0499.md;
 * PROTOCOLS.md 2.3): the same input and settings give the same CIDs as kubo and helia.
 * Leaves are hashed on a small pool of worker threads while the output stays identical to a
 * sequential run; the store sees blocks in a deterministic order.
 */
#ifndef FOG_UNIXFS_H
#define FOG_UNIXFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/store.h"
#include "fog/util.h"

enum {
    FOG_CHUNKER_FIXED = 0, /* chunk_size bytes */
    FOG_CHUNKER_RABIN,     /* rabin-MIN-AVG-MAX as kubo spells it */
    FOG_CHUNKER_BUZHASH,   /* kubo's buzhash: min 128 KiB, max 512 KiB, mask 17 bits */
};
enum {
    FOG_HAMT_EST_LINKS = 0, /* sum of len(name) + len(CID bytes) ("links-bytes") */
    FOG_HAMT_EST_BLOCK = 1, /* exact serialized size of the basic directory ("block-bytes") */
};

typedef struct {
    int cid_version;    /* 0 or 1 */
    bool raw_leaves;    /* leaves as raw blocks (0x55) instead of dag-pb UnixFS File nodes */
    int chunker;        /* FOG_CHUNKER_* */
    size_t chunk_size;  /* fixed chunker: bytes per chunk (1 .. FOG_BLOCK_MAX) */
    size_t rabin_min, rabin_avg, rabin_max;
    size_t max_links;   /* links per file node (balanced layout) */
    size_t hamt_threshold_bytes; /* shard a directory whose estimate is > this (262144) */
    int hamt_estimate;  /* FOG_HAMT_EST_* */
    unsigned hamt_fanout; /* 256 */
    unsigned threads;   /* hashing workers; 0 = number of online CPUs */
} fog_import_opts;

/* Fills opts with a named profile: "unixfs-v1-2025" (CIDv1, raw leaves, 1 MiB chunks, 1024
 * links, block-bytes HAMT estimate) or "unixfs-v0-2015" (CIDv0, dag-pb leaves, 256 KiB, 174
 * links, links-bytes estimate). FOG_ERR_INVALID for another name. */
FOG_NODISCARD int fog_import_profile(fog_import_opts *opts, const char *name);
/* Parses a kubo --chunker value: "size-N", "rabin", "rabin-AVG", "rabin-MIN-AVG-MAX",
 * "buzhash". FOG_ERR_INVALID (detail line) on anything else or an out-of-range size. */
FOG_NODISCARD int fog_import_set_chunker(fog_import_opts *opts, const char *spec);

/* Where imported blocks go. put receives each block once with its CID, in a deterministic order
 * (children before parents); the bytes are lent for the call. A NULL put (only-hash) stores
 * nothing. */
typedef struct {
    int (*put)(void *ctx, const fog_cid *c, const uint8_t *data, size_t len);
    void *ctx;
} fog_blocksink;

/* Reports each file and directory as it is finished (path relative to the import root, the
 * root itself last with its own name), and progress in bytes read. Either may be NULL. */
typedef struct {
    void (*entry)(void *ctx, const char *path, const fog_cid *c, uint64_t size);
    void (*progress)(void *ctx, uint64_t bytes_done);
    void *ctx;
} fog_import_events;

/* Imports one file, symlink or (recursively) folder at path. Names in a folder are sorted
 * bytewise; entries that are neither files, folders nor symlinks are an error
 * (FOG_ERR_UNSUPPORTED with the path in the detail line). root_out receives the root CID.
 * Errors: FOG_ERR_IO (unreadable path), FOG_ERR_NOMEM, and whatever sink->put returns. */
FOG_NODISCARD int fog_import_path(const char *path, const fog_import_opts *opts,
                                  const fog_blocksink *sink, const fog_import_events *ev,
                                  fog_cid *root_out);
/* Imports the bytes readable from fd (a pipe or stdin) as one file. */
FOG_NODISCARD int fog_import_fd(int fd, const fog_import_opts *opts, const fog_blocksink *sink,
                                const fog_import_events *ev, fog_cid *root_out);

/* Resolves "CID", "CID/a/b", "/ipfs/CID/a/b" to the CID at the end of the path, through
 * dag-pb directories and HAMT shards. FOG_ERR_NOT_FOUND (detail line names the missing path
 * element or block), FOG_ERR_PROTO (a block on the way is malformed), FOG_ERR_INVALID (a path
 * through a file). */
FOG_NODISCARD int fog_unixfs_resolve(const fog_blocksource *src, const char *path,
                                     fog_cid *out);

/* Writes bytes [offset, offset+length) of the file at c to write_fn (length UINT64_MAX means
 * to the end). Every block is checked against its CID by the source or here. A directory is
 * FOG_ERR_INVALID ("is a directory"). */
FOG_NODISCARD int fog_unixfs_cat(const fog_blocksource *src, const fog_cid *c, uint64_t offset,
                                 uint64_t length, fog_write_fn write_fn, void *ctx);

typedef struct {
    const char *name; /* NUL-terminated, borrowed for the call */
    fog_cid cid;
    uint64_t type;    /* FOG_UNIXFS_* (raw leaves report FOG_UNIXFS_FILE) */
    uint64_t size;    /* file size for files, Tsize from the link otherwise */
} fog_unixfs_entry;
/* Lists a directory (basic or sharded, in name order for basic, shard order for HAMT); a file
 * lists as nothing and returns FOG_ERR_INVALID ("not a directory"). */
FOG_NODISCARD int fog_unixfs_ls(const fog_blocksource *src, const fog_cid *c,
                                int (*fn)(void *ctx, const fog_unixfs_entry *e), void *ctx);

/* Writes the file, symlink or folder at c to out_path on disk. Names that would leave out_path
 * ("..", "/", NUL, empty) are refused with FOG_ERR_PROTO and nothing outside out_path is
 * written. */
FOG_NODISCARD int fog_unixfs_get(const fog_blocksource *src, const fog_cid *c,
                                 const char *out_path, const fog_import_events *ev);

/* A fog_blocksource reading from a store view, and a sink writing into a store batch. */
void fog_blocksource_from_view(fog_blocksource *src, fog_store_view *v);
void fog_blocksink_from_batch(fog_blocksink *sink, fog_store_batch *b);

#endif
