/* import.c: the UnixFS importer's entry points, its settings and what every part shares.
 * Settings are the profiles of IPIP-499 (ipfs/specs src/ipips/ipip-0499.md): unixfs-v1-2025
 * (CIDv1, raw leaves, 1 MiB chunks, 1024 links, HAMT past 256 KiB of "block-bytes") and
 * unixfs-v0-2015 (kubo's legacy output: CIDv0, dag-pb leaves, 256 KiB, 174 links, 256 KiB of
 * "links-bytes"), then kubo's single overrides (fog_import_set_chunker parses --chunker as boxo's
 * chunker/parse.go does, with its 2 MiB - 256 byte ChunkSizeLimit). Options are checked once
 * and copied, so the parts below trust them.
 * Every node other than a leaf is encoded, hashed and put here (fog__imp_emit), on the calling
 * thread, after all its children: the sink sees children before parents, in a fixed order.
 */
#include "fog/unixfs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fog/crypto.h"

#include "internal.h"

#define PROGRESS_STEP     (4u << 20) /* ev->progress at most once per 4 MiB */
#define RABIN_DEFAULT_AVG 262144     /* boxo chunker.DefaultBlockSize */
#define MAX_LINKS_LIMIT   8192
#define MAX_THREADS       64

int fog_import_profile(fog_import_opts *opts, const char *name)
{
    bool v1 = name != NULL && strcmp(name, "unixfs-v1-2025") == 0;
    if (!v1 && (name == NULL || strcmp(name, "unixfs-v0-2015") != 0)) {
        return fog_errf(FOG_ERR_INVALID,
                        "unknown import profile \"%s\" (unixfs-v1-2025 or unixfs-v0-2015)",
                        name ? name : "");
    }
    memset(opts, 0, sizeof *opts);
    opts->cid_version = v1 ? 1 : 0;
    opts->raw_leaves = v1;
    opts->chunker = FOG_CHUNKER_FIXED;
    opts->chunk_size = v1 ? 1048576 : 262144;
    opts->max_links = v1 ? 1024 : 174;
    opts->hamt_threshold_bytes = 262144;
    opts->hamt_estimate = v1 ? FOG_HAMT_EST_BLOCK : FOG_HAMT_EST_LINKS;
    opts->hamt_fanout = 256;
    return 0;
}

/* A decimal size with an optional "label:" prefix (boxo accepts "min:16" and so on). */
static int parse_size(const char *s, size_t len, const char *label, size_t *out)
{
    size_t ll = label ? strlen(label) : 0;
    if (label && len > ll && memcmp(s, label, ll) == 0 && s[ll] == ':') {
        s += ll + 1;
        len -= ll + 1;
    }
    if (len == 0 || len > 9) {
        return FOG_ERR_INVALID;
    }
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return FOG_ERR_INVALID;
        }
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Splits spec at '-' into at most 4 parts (offsets and lengths). */
static size_t split_dash(const char *spec, size_t off[5], size_t len[5])
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0;; i++) {
        if (spec[i] == '-' || spec[i] == '\0') {
            if (n == 5) {
                return 6;
            }
            off[n] = start;
            len[n++] = i - start;
            start = i + 1;
        }
        if (spec[i] == '\0') {
            return n;
        }
    }
}

static int set_rabin(fog_import_opts *o, const char *spec, size_t mn, size_t avg, size_t mx)
{
    if (mn < 16) {
        return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": rabin min must be at least 16", spec);
    }
    if (mn >= avg || avg >= mx) {
        return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": rabin needs min < avg < max", spec);
    }
    if (mx > FOG__CHUNK_LIMIT) {
        return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": chunks may not exceed %u bytes", spec,
                        FOG__CHUNK_LIMIT);
    }
    o->chunker = FOG_CHUNKER_RABIN;
    o->rabin_min = mn;
    o->rabin_avg = avg;
    o->rabin_max = mx;
    return 0;
}

static int parse_rabin(fog_import_opts *o, const char *spec, size_t n, const size_t off[5],
                       const size_t len[5])
{
    size_t v[3] = {RABIN_DEFAULT_AVG, 0, 0};
    if (n == 2 && parse_size(spec + off[1], len[1], NULL, &v[0]) < 0) {
        return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": rabin-AVG needs a number", spec);
    }
    if (n == 1 || n == 2) {
        /* kubo and js derive the bounds from the average the same way. */
        return set_rabin(o, spec, v[0] / 3, v[0], v[0] + v[0] / 2);
    }
    static const char *const labels[3] = {"min", "avg", "max"};
    for (size_t i = 0; n == 4 && i < 3; i++) {
        if (parse_size(spec + off[i + 1], len[i + 1], labels[i], &v[i]) < 0) {
            return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": bad rabin %s", spec, labels[i]);
        }
    }
    if (n != 4) {
        return fog_errf(FOG_ERR_INVALID,
                        "chunker \"%s\": expected rabin, rabin-AVG or rabin-MIN-AVG-MAX", spec);
    }
    return set_rabin(o, spec, v[0], v[1], v[2]);
}

int fog_import_set_chunker(fog_import_opts *opts, const char *spec)
{
    size_t off[5], len[5];
    size_t n = split_dash(spec, off, len);
    if (len[0] == 4 && memcmp(spec, "size", 4) == 0) {
        size_t size = 0;
        if (n != 2 || parse_size(spec + off[1], len[1], NULL, &size) < 0) {
            return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": expected size-N", spec);
        }
        if (size == 0 || size > FOG__CHUNK_LIMIT) {
            return fog_errf(FOG_ERR_INVALID, "chunker \"%s\": size must be 1 to %u bytes", spec,
                            FOG__CHUNK_LIMIT);
        }
        opts->chunker = FOG_CHUNKER_FIXED;
        opts->chunk_size = size;
        return 0;
    }
    if (len[0] == 5 && memcmp(spec, "rabin", 5) == 0) {
        return parse_rabin(opts, spec, n, off, len);
    }
    if (strcmp(spec, "buzhash") == 0) {
        return fog_errf(FOG_ERR_UNSUPPORTED,
                        "chunker \"buzhash\" is not implemented; use rabin (content-defined)");
    }
    return fog_errf(FOG_ERR_INVALID,
                    "unknown chunker \"%s\" (size-N, rabin, rabin-AVG, rabin-MIN-AVG-MAX)", spec);
}

static bool is_pow2(unsigned v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static int check_opts(const fog_import_opts *o)
{
    if (o->cid_version != 0 && o->cid_version != 1) {
        return fog_errf(FOG_ERR_INVALID, "CID version must be 0 or 1");
    }
    if (o->chunker == FOG_CHUNKER_FIXED) {
        if (o->chunk_size == 0 || o->chunk_size > FOG__CHUNK_LIMIT) {
            return fog_errf(FOG_ERR_INVALID, "chunk size must be 1 to %u bytes", FOG__CHUNK_LIMIT);
        }
    } else if (o->chunker == FOG_CHUNKER_RABIN) {
        if (o->rabin_min < 16 || o->rabin_min >= o->rabin_avg || o->rabin_avg >= o->rabin_max ||
            o->rabin_max > FOG__CHUNK_LIMIT) {
            return fog_errf(FOG_ERR_INVALID, "rabin sizes need 16 <= min < avg < max <= %u",
                            FOG__CHUNK_LIMIT);
        }
    } else {
        return fog_errf(FOG_ERR_UNSUPPORTED, "chunker %d is not implemented", o->chunker);
    }
    if (o->max_links < 2 || o->max_links > MAX_LINKS_LIMIT) {
        return fog_errf(FOG_ERR_INVALID, "max links must be 2 to %d", MAX_LINKS_LIMIT);
    }
    if (!is_pow2(o->hamt_fanout) || o->hamt_fanout < 8 || o->hamt_fanout > 1024) {
        return fog_errf(FOG_ERR_INVALID, "HAMT fanout must be a power of two from 8 to 1024");
    }
    if (o->hamt_estimate != FOG_HAMT_EST_LINKS && o->hamt_estimate != FOG_HAMT_EST_BLOCK) {
        return fog_errf(FOG_ERR_INVALID, "unknown HAMT size estimate %d", o->hamt_estimate);
    }
    return 0;
}

static unsigned resolve_threads(unsigned t)
{
    if (t == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n < 1 ? 1 : (unsigned)(n > MAX_THREADS ? MAX_THREADS : n);
    }
    return t > MAX_THREADS ? MAX_THREADS : t;
}

static int imp_init(fog__imp *im, const fog_import_opts *opts, const fog_blocksink *sink,
                    const fog_import_events *ev)
{
    memset(im, 0, sizeof *im);
    int rc = check_opts(opts);
    if (rc < 0) {
        return rc;
    }
    im->o = *opts;
    im->o.threads = resolve_threads(opts->threads);
    im->sink = sink;
    im->ev = ev;
    fog__chunker ch;
    fog__chunker_init(&ch, &im->o);
    return fog__leafpool_new(&im->pool, im->o.threads, fog__chunker_max(&ch));
}

static void imp_clear(fog__imp *im)
{
    fog__leafpool_free(im->pool);
    fog_buf_clear(&im->data);
    fog_buf_clear(&im->block);
    fog_buf_clear(&im->path);
}

int fog__imp_put(fog__imp *im, const fog_cid *c, const uint8_t *p, size_t len)
{
    if (im->sink == NULL || im->sink->put == NULL) {
        return 0;
    }
    return im->sink->put(im->sink->ctx, c, p, len);
}

int fog__imp_emit(fog__imp *im, const fog_unixfs *u, const fog_pblink *links, size_t n,
                  fog__ref *out)
{
    fog_buf_reset(&im->data);
    fog_buf_reset(&im->block);
    int rc = fog_unixfs_encode(u, &im->data);
    if (rc < 0) {
        return rc;
    }
    fog_pbnode node = {.links = (fog_pblink *)links,
                       .n_links = n,
                       .has_data = true,
                       .data = fog_slice_make(im->data.p, im->data.len)};
    if ((rc = fog_pbnode_encode(&node, &im->block)) < 0) {
        return rc;
    }
    if (im->block.len > FOG_BLOCK_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "a node of %zu bytes is over the %u-byte block limit",
                        im->block.len, FOG_BLOCK_MAX);
    }
    uint8_t digest[FOG_SHA256_LEN];
    fog_sha256(im->block.p, im->block.len, digest);
    rc = fog_cid_make(&out->cid, (uint64_t)im->o.cid_version, FOG_MC_DAG_PB, FOG_MC_SHA2_256,
                      digest, sizeof digest);
    if (rc < 0 || (rc = fog__imp_put(im, &out->cid, im->block.p, im->block.len)) < 0) {
        return rc;
    }
    out->tsize = im->block.len;
    out->fsize = 0;
    for (size_t i = 0; i < n; i++) {
        out->tsize += links[i].tsize;
    }
    return 0;
}

void fog__imp_progress(fog__imp *im, uint64_t bytes, bool force)
{
    im->bytes_done += bytes;
    if (im->ev == NULL || im->ev->progress == NULL) {
        return;
    }
    if (force || im->bytes_done - im->bytes_reported >= PROGRESS_STEP) {
        im->bytes_reported = im->bytes_done;
        im->ev->progress(im->ev->ctx, im->bytes_done);
    }
}

void fog__imp_entry(fog__imp *im, const fog__ref *r, uint64_t size)
{
    if (im->ev != NULL && im->ev->entry != NULL) {
        const char *path = im->path.len > 0 ? (const char *)im->path.p + im->rel_off : "";
        im->ev->entry(im->ev->ctx, path, &r->cid, size);
    }
}

/* The path without trailing slashes; the reported name starts after its last slash. */
static int set_root_path(fog__imp *im, const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        len--;
    }
    if (len == 0) {
        return fog_errf(FOG_ERR_INVALID, "empty path");
    }
    int rc = fog_buf_append(&im->path, path, len);
    if (rc < 0 || (rc = fog_buf_reserve(&im->path, 1)) < 0) {
        return rc;
    }
    im->path.p[len] = '\0';
    im->rel_off = 0;
    for (size_t i = 0; len > 1 && i < len; i++) {
        if (path[i] == '/') {
            im->rel_off = i + 1;
        }
    }
    return 0;
}

int fog_import_path(const char *path, const fog_import_opts *opts, const fog_blocksink *sink,
                    const fog_import_events *ev, fog_cid *root_out)
{
    fog__imp im;
    fog__ref root;
    int rc = imp_init(&im, opts, sink, ev);
    if (rc == 0 && (rc = set_root_path(&im, path)) == 0 &&
        (rc = fog__import_entry(&im, 0, &root)) == 0) {
        fog__imp_progress(&im, 0, true);
        *root_out = root.cid;
    }
    imp_clear(&im);
    return rc;
}

int fog_import_fd(int fd, const fog_import_opts *opts, const fog_blocksink *sink,
                  const fog_import_events *ev, fog_cid *root_out)
{
    fog__imp im;
    fog__ref root;
    int rc = imp_init(&im, opts, sink, ev);
    if (rc == 0 && (rc = fog__import_file(&im, fd, UINT64_MAX, &root)) == 0) {
        fog__imp_entry(&im, &root, root.fsize);
        fog__imp_progress(&im, 0, true);
        *root_out = root.cid;
    }
    imp_clear(&im);
    return rc;
}
