/* import_file.c: one file into a UnixFS DAG: chunking, leaves, and the balanced layout.
 * Leaves: raw blocks (CIDv1, codec raw) or dag-pb UnixFS File nodes, hashed by the leaf pool
 * and taken back in file order. Balanced layout as js-ipfs-unixfs builds it (layout/balanced.ts,
 * equal to boxo's importer/balanced for every file): leaves are grouped max_links at a time
 * into File nodes, those nodes max_links at a time into the next level, and so on until one
 * node is left; a group is closed as soon as it is full, so only the open group of each level
 * is held (at most max_links refs per level). A file of one chunk is that leaf itself; an empty
 * file is one empty leaf (boxo: the empty raw block, or the dag-pb leaf 0a 04 08 02 18 00).
 * A parent File node has Name "" and Tsize on every link, blocksizes[i] = the file bytes under
 * link i and filesize their sum (PROTOCOLS.md 2.3).
 * Reading: a regular file cut by the fixed chunker needs no look at its bytes to find the cuts,
 * so each slot carries only its byte range and the worker preads it (the copy out of the page
 * cache runs on both cores too). Pipes, and the rabin chunker, read sequentially into a window
 * of max chunk + 1 MiB on this thread, scan it for cuts and copy each chunk into its slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define MAX_LEVELS 64         /* max_links >= 2: 2^64 leaves would not fill them */
#define READ_STEP  (1u << 20) /* stream reads: window = max chunk + this */

typedef struct {
    fog__ref *refs;
    size_t n;
} level;

typedef struct {
    fog__imp *im;
    size_t max;
    size_t top; /* levels in use */
    level lv[MAX_LEVELS];
    fog_pblink *links; /* scratch for one File node: max entries */
    uint64_t *sizes;
} layout;

static void layout_clear(layout *lay)
{
    for (size_t i = 0; i < MAX_LEVELS; i++) {
        free(lay->lv[i].refs);
    }
    free(lay->links);
    free(lay->sizes);
}

static int push(layout *lay, size_t i, const fog__ref *r);

/* Closes the open group of level i into one File node, which joins level i + 1. */
static int reduce(layout *lay, size_t i)
{
    level *l = &lay->lv[i];
    uint64_t fsize = 0;
    for (size_t j = 0; j < l->n; j++) {
        if (__builtin_add_overflow(fsize, l->refs[j].fsize, &fsize)) {
            return fog_errf(FOG_ERR_LIMIT, "file larger than 2^64 bytes");
        }
        lay->sizes[j] = l->refs[j].fsize;
        lay->links[j] = (fog_pblink){.cid = l->refs[j].cid,
                                     .has_name = true,
                                     .name = fog_slice_make("", 0),
                                     .has_tsize = true,
                                     .tsize = l->refs[j].tsize};
    }
    fog_unixfs u = {.type = FOG_UNIXFS_FILE,
                    .has_filesize = true,
                    .filesize = fsize,
                    .blocksizes = lay->sizes,
                    .n_blocksizes = l->n};
    fog__ref node;
    int rc = fog__imp_emit(lay->im, &u, lay->links, l->n, &node);
    if (rc < 0) {
        return rc;
    }
    node.fsize = fsize;
    l->n = 0;
    return push(lay, i + 1, &node);
}

static int push(layout *lay, size_t i, const fog__ref *r)
{
    if (i >= MAX_LEVELS) {
        return fog_errf(FOG_ERR_LIMIT, "file DAG deeper than %d levels", MAX_LEVELS);
    }
    level *l = &lay->lv[i];
    if (l->refs == NULL && (l->refs = calloc(lay->max, sizeof *l->refs)) == NULL) {
        return FOG_ERR_NOMEM;
    }
    l->refs[l->n++] = *r;
    if (i + 1 > lay->top) {
        lay->top = i + 1;
    }
    return l->n == lay->max ? reduce(lay, i) : 0;
}

/* Closes the partial groups bottom up; the single node left at the top is the root. */
static int layout_finish(layout *lay, fog__ref *root)
{
    for (size_t i = 0; i < lay->top; i++) {
        level *l = &lay->lv[i];
        if (i + 1 == lay->top && l->n == 1) {
            *root = l->refs[0];
            return 0;
        }
        int rc = l->n > 0 ? reduce(lay, i) : 0;
        if (rc < 0) {
            return rc;
        }
    }
    return fog_errf(FOG_ERR_INVALID, "file layout ended without a root"); /* unreachable */
}

static const char *shown_path(const fog__imp *im)
{
    return im->path.len > 0 ? (const char *)im->path.p : "standard input";
}

/* Takes back the oldest leaf: its block goes to the sink and its ref to level 0. */
static int retire(fog__imp *im, layout *lay, fog__leaf *l)
{
    int rc = l->rc;
    if (rc == FOG_ERR_IO) {
        rc = l->err_no != 0
                 ? fog_errf(FOG_ERR_IO, "%s: read failed: %s", shown_path(im), strerror(l->err_no))
                 : fog_errf(FOG_ERR_IO, "%s: file got shorter while being added", shown_path(im));
    }
    if (rc == 0) {
        rc = fog__imp_put(im, &l->cid, l->block, l->block_len);
    }
    if (rc == 0) {
        fog__ref r = {.cid = l->cid, .tsize = l->block_len, .fsize = l->len};
        rc = push(lay, 0, &r);
        fog__imp_progress(im, l->len, false);
    }
    fog__leafpool_release(im->pool, l);
    return rc;
}

/* A free slot, retiring the oldest leaves while every slot is in flight. */
static int next_slot(fog__imp *im, layout *lay, fog__leaf **out)
{
    for (;;) {
        int rc = fog__leafpool_slot(im->pool, out);
        if (rc < 0 || *out != NULL) {
            return rc;
        }
        if ((rc = retire(im, lay, fog__leafpool_wait(im->pool))) < 0) {
            return rc;
        }
    }
}

static void leaf_setup(const fog__imp *im, fog__leaf *l, size_t len)
{
    l->len = len;
    l->raw = im->o.raw_leaves;
    l->cid_version = im->o.cid_version;
}

/* Fixed chunks of a regular file: the workers read their own ranges. */
static int feed_ranges(fog__imp *im, layout *lay, int fd, uint64_t size)
{
    uint64_t chunk = im->o.chunk_size;
    uint64_t off = 0;
    do {
        fog__leaf *l;
        int rc = next_slot(im, lay, &l);
        if (rc < 0) {
            return rc;
        }
        uint64_t len = size - off < chunk ? size - off : chunk;
        leaf_setup(im, l, (size_t)len);
        l->fd = fd;
        l->off = off;
        fog__leafpool_submit(im->pool, l, size <= chunk);
        off += len;
    } while (off < size);
    return 0;
}

static int emit_chunk(fog__imp *im, layout *lay, const uint8_t *p, size_t len)
{
    fog__leaf *l;
    int rc = next_slot(im, lay, &l);
    if (rc < 0) {
        return rc;
    }
    leaf_setup(im, l, len);
    if (len > 0) {
        memcpy(l->buf + FOG__LEAF_HEAD, p, len);
    }
    fog__leafpool_submit(im->pool, l, false);
    return 0;
}

static int read_some(fog__imp *im, int fd, uint8_t *p, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t r = read(fd, p, cap);
        if (r >= 0) {
            *got = (size_t)r;
            return 0;
        }
        if (errno != EINTR) {
            return fog_errf(FOG_ERR_IO, "%s: read failed: %s", shown_path(im), strerror(errno));
        }
    }
}

/* Sequential input: win holds [start, end) of the stream; the chunker has already seen the
 * first `pending` bytes of the chunk that starts at start. */
static int feed_stream(fog__imp *im, layout *lay, int fd, uint8_t *win, size_t cap)
{
    fog__chunker ch;
    fog__chunker_init(&ch, &im->o);
    size_t start = 0, end = 0;
    bool eof = false, any = false;
    for (;;) {
        size_t seen = start + fog__chunker_pending(&ch);
        if (seen == end) {
            if (eof) {
                break;
            }
            memmove(win, win + start, end - start);
            end -= start;
            start = 0;
            size_t got = 0;
            int rc = read_some(im, fd, win + end, cap - end, &got);
            if (rc < 0) {
                return rc;
            }
            eof = got == 0;
            end += got;
            continue;
        }
        size_t cut = fog__chunker_scan(&ch, win + seen, end - seen);
        if (cut > 0) {
            size_t len = seen + cut - start;
            int rc = emit_chunk(im, lay, win + start, len);
            if (rc < 0) {
                return rc;
            }
            any = true;
            start += len;
        }
    }
    return end > start || !any ? emit_chunk(im, lay, win + start, end - start) : 0;
}

static int feed(fog__imp *im, layout *lay, int fd, uint64_t size)
{
    if (size != UINT64_MAX && im->o.chunker == FOG_CHUNKER_FIXED) {
        return feed_ranges(im, lay, fd, size);
    }
    fog__chunker ch;
    fog__chunker_init(&ch, &im->o);
    size_t cap = fog__chunker_max(&ch) + READ_STEP;
    uint8_t *win = malloc(cap);
    if (win == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = feed_stream(im, lay, fd, win, cap);
    free(win);
    return rc;
}

int fog__import_file(fog__imp *im, int fd, uint64_t size, fog__ref *out)
{
    layout lay = {.im = im, .max = im->o.max_links};
    lay.links = calloc(lay.max, sizeof *lay.links);
    lay.sizes = calloc(lay.max, sizeof *lay.sizes);
    int rc = lay.links == NULL || lay.sizes == NULL ? FOG_ERR_NOMEM : feed(im, &lay, fd, size);
    fog__leaf *l;
    while ((l = fog__leafpool_wait(im->pool)) != NULL) {
        if (rc == 0) {
            rc = retire(im, &lay, l);
        } else {
            fog__leafpool_release(im->pool, l); /* after a failure: only wait for the workers */
        }
    }
    if (rc == 0) {
        rc = layout_finish(&lay, out);
    }
    layout_clear(&lay);
    return rc;
}
