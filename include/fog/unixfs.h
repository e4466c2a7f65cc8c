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
    FOG_CHUNKER_FIXED = 0, /* chunk_size bytes per chunk, the last one shorter */
    FOG_CHUNKER_RABIN,     /* content-defined, the same chunks as js-ipfs-unixfs rabin() */
    FOG_CHUNKER_BUZHASH,   /* kubo's buzhash: not implemented (fog_import_set_chunker refuses) */
};
enum {
    FOG_HAMT_EST_LINKS = 0, /* sum of len(name) + len(CID bytes) ("links-bytes") */
    FOG_HAMT_EST_BLOCK = 1, /* exact serialized size of the basic directory ("block-bytes") */
};

/* Import settings. Fill them with fog_import_profile, then override single fields. */
typedef struct {
    int cid_version;    /* 0 or 1: of every dag-pb node (raw leaves are always CIDv1) */
    bool raw_leaves;    /* leaves as raw blocks (0x55) instead of dag-pb UnixFS File nodes */
    int chunker;        /* FOG_CHUNKER_FIXED or FOG_CHUNKER_RABIN */
    size_t chunk_size;  /* fixed chunker: bytes per chunk (1 .. 2 MiB - 256, boxo's limit) */
    size_t rabin_min, rabin_avg, rabin_max; /* rabin: 16 <= min < avg < max <= 2 MiB - 256 */
    size_t max_links;   /* links per file node, balanced layout (2 .. 8192) */
    size_t hamt_threshold_bytes; /* shard a directory whose estimate is > this (262144) */
    int hamt_estimate;  /* FOG_HAMT_EST_* */
    unsigned hamt_fanout; /* 256; a power of two from 8 to 1024 (ipfs/specs unixfs.md) */
    unsigned threads;   /* hashing workers; 0 = number of online CPUs, 1 = hash inline */
    bool include_hidden; /* also import names starting with '.' inside folders (kubo --hidden);
                          * both IPIP-499 profiles leave them out. The root is always imported. */
} fog_import_opts;

/* Fills every field of opts with a named profile: "unixfs-v1-2025" (CIDv1, raw leaves, 1 MiB
 * chunks, 1024 links, block-bytes HAMT estimate) or "unixfs-v0-2015" (CIDv0, dag-pb leaves,
 * 256 KiB, 174 links, links-bytes estimate); both: fixed chunker, HAMT past 262144 bytes with
 * fanout 256, threads 0, no hidden files. FOG_ERR_INVALID (detail line) for another name, and
 * opts is left unchanged. */
FOG_NODISCARD int fog_import_profile(fog_import_opts *opts, const char *name);
/* Parses a kubo --chunker value into opts: "size-N" (1 <= N <= 2096896), "rabin" (avg 262144),
 * "rabin-AVG" (min AVG/3, max AVG + AVG/2, as kubo and js derive them), "rabin-MIN-AVG-MAX"
 * (optionally labelled "min:", "avg:", "max:"; 16 <= MIN < AVG < MAX <= 2096896). Rabin chunks
 * are those of js-ipfs-unixfs (window 16), not kubo's. FOG_ERR_INVALID (detail line) on a
 * malformed value or a size out of range; FOG_ERR_UNSUPPORTED for "buzhash". opts is changed
 * only on success. */
FOG_NODISCARD int fog_import_set_chunker(fog_import_opts *opts, const char *spec);

/* Where imported blocks go. put receives each block once with its CID, on the thread that
 * called the importer, in a deterministic order: children before parents, files in folder name
 * order, the root last (the same order whatever opts.threads). The bytes are lent for the call.
 * A non-zero return stops the import and is returned by it. A NULL sink or a NULL put
 * (only-hash) stores nothing. */
typedef struct {
    int (*put)(void *ctx, const fog_cid *c, const uint8_t *data, size_t len);
    void *ctx;
} fog_blocksink;

/* Import events, called on the importing thread; either function may be NULL.
 * entry: once per file, folder and symlink as it is finished, children first, the root last.
 *   path is relative to the folder holding the root and starts with the root's own name
 *   ("photos/2024/a.jpg", ..., "photos"); "" for fog_import_fd. It is borrowed for the call.
 *   size: file bytes for files, target bytes for symlinks, cumulative DAG bytes for folders.
 * progress: file bytes hashed so far in this import, at most once per 4 MiB, and once at the
 *   end with the total. */
typedef struct {
    void (*entry)(void *ctx, const char *path, const fog_cid *c, uint64_t size);
    void (*progress)(void *ctx, uint64_t bytes_done);
    void *ctx;
} fog_import_events;

/* Imports one file, symlink or (recursively) folder at path (trailing slashes are ignored; a
 * symlink is stored as a symlink, never followed). In folders, names starting with '.' are
 * skipped unless opts->include_hidden, and the rest are sorted bytewise. Memory stays bounded
 * whatever the file sizes: a few chunks per hashing thread, the open node of each DAG level and
 * the entries of the open folders. root_out receives the root CID.
 * Errors (each with a detail line naming the path): FOG_ERR_INVALID (bad opts, or a name that is
 * not UTF-8), FOG_ERR_NOT_FOUND (path missing), FOG_ERR_IO (unreadable, or a file that shrank
 * while being read), FOG_ERR_UNSUPPORTED (an entry that is neither file, folder nor symlink),
 * FOG_ERR_LIMIT (folders nested deeper than 4096, a node over FOG_BLOCK_MAX, two names with the
 * same 64-bit HAMT hash), FOG_ERR_NOMEM, and whatever sink->put returns. On error root_out is
 * untouched and blocks already put stay put (the caller's batch decides). */
FOG_NODISCARD int fog_import_path(const char *path, const fog_import_opts *opts,
                                  const fog_blocksink *sink, const fog_import_events *ev,
                                  fog_cid *root_out);
/* Imports the bytes readable from fd (a pipe or stdin) until end of file as one file, reading it
 * sequentially; fd stays open. Errors as fog_import_path. */
FOG_NODISCARD int fog_import_fd(int fd, const fog_import_opts *opts, const fog_blocksink *sink,
                                const fog_import_events *ev, fog_cid *root_out);

/* The exporter (below) reads blocks only through a fog_blocksource and holds at most one lent
 * block at a time: a parent's links are copied before a child is fetched, and memory stays
 * bounded (the copied link lists of the open levels, capped at 64 MiB in all; never a whole
 * file). Blocks from a source that is not trusted are checked against their CIDs
 * (fog_cid_verify, FOG_ERR_HASH_MISMATCH) before use; CIDs whose digest is shorter than 20 bytes
 * are refused (FOG_ERR_UNSUPPORTED, as boxo verifcid); identity CIDs are read from the CID
 * itself, never from the source. A missing block is FOG_ERR_NOT_FOUND with a detail line naming
 * its CID. A DAG nested deeper than FOG_UNIXFS_MAX_DEPTH (file tree levels below a root, folder
 * levels below out_path) fails with FOG_ERR_LIMIT; HAMT shards may nest as deep as their 64 hash
 * bits allow. Malformed UnixFS is FOG_ERR_PROTO with a detail line naming the block. All
 * functions may be called from any thread that may use the source. */
#define FOG_UNIXFS_MAX_DEPTH 128

/* Resolves "CID", "CID/a/b", "/ipfs/CID/a/b" to the CID at the end of the path, through
 * dag-pb directories (by link Name) and HAMT shards (by murmur3 hash, PROTOCOLS.md 2.3). Empty
 * components and "." are skipped and ".." removes the component before it. Only the blocks on
 * the path are fetched (the last CID is not). Errors: FOG_ERR_NOT_FOUND (detail line names the
 * missing entry or block), FOG_ERR_PROTO (a block on the way is malformed, or a directory holds
 * the name twice), FOG_ERR_INVALID (no CID at the start, a namespace other than /ipfs/, ".."
 * above the root, a path through a file or a symlink: symlinks are not followed),
 * FOG_ERR_UNSUPPORTED (a path through a non-UnixFS block such as DAG-CBOR). */
FOG_NODISCARD int fog_unixfs_resolve(const fog_blocksource *src, const char *path,
                                     fog_cid *out);

/* Writes bytes [offset, offset+length) of the file at c to write_fn (length UINT64_MAX means
 * to the end; a range past the end writes what exists, possibly nothing). The file is a raw
 * block or a dag-pb File (or legacy Raw) node; children outside the range are not fetched, and
 * bytes are handed to write_fn straight from the lent blocks (valid for the call only). Checks
 * the UnixFS rules: as many blocksizes as links, filesize = Data + blocksizes, every child read
 * holds the bytes its parent announced, no named links in a file (FOG_ERR_PROTO). A directory or
 * symlink is FOG_ERR_INVALID ("is a directory"), a non-UnixFS block FOG_ERR_UNSUPPORTED. A
 * negative return from write_fn stops the walk and is returned as is. */
FOG_NODISCARD int fog_unixfs_cat(const fog_blocksource *src, const fog_cid *c, uint64_t offset,
                                 uint64_t length, fog_write_fn write_fn, void *ctx);

typedef struct {
    const char *name; /* NUL-terminated, borrowed for the call */
    fog_cid cid;
    uint64_t type;    /* FOG_UNIXFS_* (raw leaves and dag-pb Raw nodes report FOG_UNIXFS_FILE),
                         or FOG_UNIXFS_ENTRY_OTHER for a block of another codec (DAG-CBOR) */
    uint64_t size;    /* files: the file size (a raw leaf's length, taken from the link's Tsize
                         when present; a dag-pb file's filesize); others: the link's Tsize, or 0
                         when the link has none */
} fog_unixfs_entry;
#define FOG_UNIXFS_ENTRY_OTHER 255 /* fog_unixfs_entry.type of a child that is not UnixFS */
/* Lists a directory (basic or sharded, in link order for basic, which is name order for what
 * importers write, and shard order for HAMT), calling fn once per entry; a non-zero return from
 * fn stops and is returned. As kubo's `ipfs ls`: a raw child is not fetched (its Tsize is its
 * size), a dag-pb child is fetched once to learn its type (so a missing child block is
 * FOG_ERR_NOT_FOUND naming it). A name with a NUL byte is FOG_ERR_PROTO. A file or symlink is
 * FOG_ERR_INVALID ("not a directory"). */
FOG_NODISCARD int fog_unixfs_ls(const fog_blocksource *src, const fog_cid *c,
                                int (*fn)(void *ctx, const fog_unixfs_entry *e), void *ctx);

/* Writes the file, symlink or folder at c to out_path on disk. Entry names that would leave
 * their folder ("", ".", "..", or containing '/' or NUL) are refused with FOG_ERR_PROTO (detail
 * line names it) before anything is created for them. Nothing existing is ever opened,
 * truncated or followed: out_path must not exist (FOG_ERR_EXISTS), every file is created with
 * O_EXCL|O_NOFOLLOW and every name relative to its parent's open descriptor, so a symlink the
 * DAG itself wrote cannot redirect a later write (a second entry of the same name is
 * FOG_ERR_EXISTS). Symlink targets are written as they are (data, never resolved). Files get
 * mode 0666 and folders 0777 minus the umask; UnixFS mode and mtime are not applied. On error,
 * what was written so far stays. ev (may be NULL): entry() once per file, symlink and folder
 * when complete, with its on-disk path (the root last, as out_path) and size (bytes for files
 * and symlink targets, 0 for folders); progress() with the file bytes written so far. Errors
 * also: FOG_ERR_IO (detail line names the path), and those of fog_unixfs_cat. */
FOG_NODISCARD int fog_unixfs_get(const fog_blocksource *src, const fog_cid *c,
                                 const char *out_path, const fog_import_events *ev);

/* A fog_blocksource reading from a store view (v is borrowed and must outlive src; the source is
 * marked trusted: store blocks were verified when they entered), and a sink writing into a store
 * batch with fog_store_batch_put (b is borrowed; committing and pinning stay with the caller). */
void fog_blocksource_from_view(fog_blocksource *src, fog_store_view *v);
void fog_blocksink_from_batch(fog_blocksink *sink, fog_store_batch *b);

#endif
