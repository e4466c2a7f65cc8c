/* import.c: a CAR into the store, all or nothing for bad input (kubo `dag import` semantics).
 * The reader verifies each block. Blocks gather in a pending list of at most PENDING_BYTES
 * (the store batch's own commit threshold) and PENDING_MAX entries; a flush first asks the store
 * which of them it lacks (fog_store_has, with no write transaction open, since LMDB allows one
 * transaction per thread), then writes those through one fog_store_batch and commits it. Every
 * multihash written is remembered (a set, and a list for undoing), so a failure at any later
 * point deletes exactly what this import added: blocks that were present before stay.
 * Pinning comes after the last block is durable: like kubo, which refuses to pin a root whose
 * DAG is incomplete unless --pin-roots=false, fog walks each root's DAG in the store (one read
 * view) and pins all roots in one transaction only when every block is there. A crash between
 * the block commits and the pin leaves unpinned blocks, which gc removes.
 */
#include "fog/car.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "fog/unixfs.h"

#define PENDING_BYTES FOG_STORE_BATCH_BYTES
#define PENDING_MAX 1024

typedef struct {
    fog_cid cid;
    size_t off; /* the block's bytes are pending.p[off .. off + len) */
    size_t len;
    bool is_new; /* the store lacked it when the flush asked */
} pending_block;

typedef struct {
    fog_store *s;
    fog_buf bytes;          /* block bytes waiting for the next flush */
    pending_block *pending; /* PENDING_MAX entries */
    size_t n_pending;
    fog_set added;       /* multihashes this import stored */
    fog_buf added_list;  /* the same, each as one length byte and the bytes, for undoing */
    fog_car_import_stats st;
} importer;

/* Remembers mh as added by this import: 1 when new, 0 when already remembered. */
static int remember(importer *im, fog_slice mh)
{
    assert(mh.len <= 0xff); /* a multihash is at most 9 + 2 + FOG_DIGEST_MAX bytes */
    int rc = fog_buf_reserve(&im->added_list, mh.len + 1);
    if (rc == 0) {
        rc = fog_set_add(&im->added, mh.p, mh.len);
    }
    if (rc != 1) {
        return rc;
    }
    /* Room was reserved above, so these appends cannot fail. */
    if ((rc = fog_buf_u8(&im->added_list, (uint8_t)mh.len)) == 0) {
        rc = fog_buf_append(&im->added_list, mh.p, mh.len);
    }
    return rc < 0 ? rc : 1;
}

static int flush_batch(importer *im)
{
    fog_store_batch *b = NULL;
    int rc = fog_store_batch_begin(im->s, &b);
    for (size_t i = 0; rc == 0 && i < im->n_pending; i++) {
        pending_block *p = &im->pending[i];
        if (!p->is_new) {
            continue;
        }
        rc = remember(im, fog_cid_mh(&p->cid)); /* before the put: undo must know of it */
        if (rc == 0) {
            im->st.blocks_present++; /* the same block twice among the pending ones */
        } else if (rc == 1) {
            rc = fog_store_batch_put(b, &p->cid, im->bytes.p + p->off, p->len);
        }
    }
    if (rc < 0) {
        fog_store_batch_abort(b);
        return rc;
    }
    return fog_store_batch_commit(b);
}

static int flush(importer *im)
{
    for (size_t i = 0; i < im->n_pending; i++) {
        pending_block *p = &im->pending[i];
        int rc = fog_store_has(im->s, &p->cid);
        if (rc < 0) {
            return rc;
        }
        p->is_new = rc == 0;
        im->st.blocks_present += rc == 0 ? 0 : 1;
    }
    int rc = im->n_pending > 0 ? flush_batch(im) : 0;
    im->n_pending = 0;
    fog_buf_reset(&im->bytes);
    return rc;
}

static int add(importer *im, const fog_cid *c, fog_slice data)
{
    im->st.blocks++;
    im->st.bytes += data.len;
    fog_slice mh = fog_cid_mh(c);
    if (c->mh_code == FOG_MC_IDENTITY || fog_set_has(&im->added, mh.p, mh.len)) {
        im->st.blocks_present++; /* inline in its CID, or stored earlier by this import */
        return 0;
    }
    pending_block *p = &im->pending[im->n_pending];
    p->cid = *c;
    p->off = im->bytes.len;
    p->len = data.len;
    int rc = fog_buf_append(&im->bytes, data.p, data.len);
    if (rc < 0) {
        return rc;
    }
    im->n_pending++;
    if (im->bytes.len >= PENDING_BYTES || im->n_pending == PENDING_MAX) {
        rc = flush(im);
    }
    return rc;
}

/* Deletes every block this import added. Failures are ignored: what stays is unpinned, and gc
 * removes it. */
static void undo(importer *im)
{
    fog_reader r;
    fog_reader_init(&r, im->added_list.p, im->added_list.len);
    while (r.err == 0 && r.left > 0) {
        uint8_t n = 0;
        fog_slice mh;
        fog_reader_u8(&r, &n);
        fog_reader_bytes(&r, n, &mh);
        uint8_t raw[2 + FOG_CID_MAX] = {0x01, FOG_MC_RAW}; /* the store keys by multihash */
        fog_cid c;
        if (r.err != 0 || mh.len > FOG_CID_MAX) {
            break;
        }
        memcpy(raw + 2, mh.p, mh.len);
        if (fog_cid_from_bytes(&c, raw, mh.len + 2) < 0 || fog_store_delete(im->s, &c) < 0) {
            continue; /* see above: what stays is gc's */
        }
    }
}

static int missing(const fog_cid *root, const fog_cid *c)
{
    char rs[FOG_CID_STR_MAX], cs[FOG_CID_STR_MAX];
    if (fog_cid_format(root, 0, rs, sizeof rs) < 0 || fog_cid_format(c, 0, cs, sizeof cs) < 0) {
        return FOG_ERR_NOT_FOUND;
    }
    if (fog_cid_eq(root, c)) {
        return fog_errf(FOG_ERR_NOT_FOUND, "cannot pin root %s: its block is neither in the CAR "
                        "nor in the store (import without pinning to skip this check)", rs);
    }
    return fog_errf(FOG_ERR_NOT_FOUND, "cannot pin root %s: block %s of its DAG is neither in "
                    "the CAR nor in the store (import without pinning to skip this check)", rs,
                    cs);
}

static int pin_roots(fog_store *s, const fog_cid *roots, size_t n)
{
    /* Every block under each root must be in the store (identity blocks are in their CIDs);
     * the seen set is shared, so blocks common to several roots are checked once. */
    fog_store_view *view = NULL;
    fog_set seen;
    fog_set_init(&seen);
    int rc = fog_store_view_begin(s, &view);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        fog_blocksource src;
        fog_blocksource_from_view(&src, view);
        fog_cid absent;
        rc = fog_dag_walk(&src, &roots[i], &seen, NULL, NULL, &absent);
        if (rc == FOG_ERR_NOT_FOUND) {
            rc = missing(&roots[i], &absent);
        }
    }
    fog_store_view_end(view);
    fog_set_clear(&seen);
    fog_store_batch *b = NULL;
    if (rc == 0) {
        rc = fog_store_batch_begin(s, &b);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = fog_store_batch_pin(b, &roots[i], FOG_PIN_RECURSIVE);
    }
    if (rc < 0) {
        fog_store_batch_abort(b);
        return rc;
    }
    return fog_store_batch_commit(b);
}

/* Undoes the import and returns rc with its detail line kept (undo may overwrite it). */
static int fail(importer *im, int rc)
{
    char saved[512];
    snprintf(saved, sizeof saved, "%s", fog_err_detail(rc));
    undo(im);
    return fog_errf(rc, "%s", saved);
}

static int copy_roots(const fog_car_reader *r, fog_cid **roots_out, size_t *n_out)
{
    size_t n = fog_car_reader_n_roots(r);
    fog_cid *roots = NULL;
    if (n > 0 && (roots = calloc(n, sizeof *roots)) == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        roots[i] = *fog_car_reader_root(r, i);
    }
    *roots_out = roots;
    *n_out = n;
    return 0;
}

static int run(importer *im, fog_car_reader *r, const fog_cid *roots, size_t n_roots, bool pin)
{
    fog_cid c;
    fog_slice data;
    int rc;
    while ((rc = fog_car_reader_next(r, &c, &data)) == 1) {
        if ((rc = add(im, &c, data)) < 0) {
            return rc;
        }
    }
    if (rc == 0) {
        rc = flush(im);
    }
    if (rc == 0 && pin && n_roots > 0) {
        rc = pin_roots(im->s, roots, n_roots);
    }
    return rc;
}

int fog_car_import(fog_store *s, fog_read_fn read_fn, void *ctx, bool pin,
                   fog_car_import_stats *stats_out, fog_cid **roots_out, size_t *n_roots_out)
{
    fog_car_reader *r = NULL;
    int rc = fog_car_reader_new(&r, read_fn, ctx);
    if (rc < 0) {
        return rc;
    }
    fog_cid *roots = NULL;
    size_t n_roots = 0;
    importer im = {.s = s};
    fog_buf_init(&im.bytes);
    fog_buf_init(&im.added_list);
    fog_set_init(&im.added);
    im.pending = calloc(PENDING_MAX, sizeof *im.pending);
    rc = im.pending == NULL ? FOG_ERR_NOMEM : copy_roots(r, &roots, &n_roots);
    if (rc == 0) {
        rc = run(&im, r, roots, n_roots, pin);
    }
    if (rc < 0) {
        rc = fail(&im, rc);
    } else {
        if (stats_out != NULL) {
            *stats_out = im.st;
        }
        if (roots_out != NULL) {
            *roots_out = roots;
            *n_roots_out = n_roots;
            roots = NULL;
        }
    }
    free(roots);
    fog_car_reader_free(r);
    free(im.pending);
    fog_buf_clear(&im.bytes);
    fog_buf_clear(&im.added_list);
    fog_set_clear(&im.added);
    return rc;
}
