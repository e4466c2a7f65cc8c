/* export.c: writing a DAG as a CARv1 (ipld/ipld specs/transport/car/carv1, "Determinism").
 * The order is the one go-car writes and Filecoin calls deterministic: depth-first pre-order
 * from each root, links in block order, each block at its first sighting. boxo's
 * merkledag.Walk and go-car's TraverseV1 (kubo `dag export`) recurse; here an explicit stack
 * holds the CIDs still to visit, so a DAG a million levels deep costs heap, not C stack. A
 * block's links are collected into a second stack and pushed in reverse, so the first link is
 * popped first, which gives the recursive order exactly.
 * The blocksource lends a block only until its next get, so each block is written out and its
 * links copied (fog_cid values) before any other block is fetched.
 */
#include "fog/car.h"

#include <stdlib.h>

#include "internal.h"

/* A growable stack of CIDs. stack_push has the shape of a fog_cid_fn, so that fog_dag_links can
 * push a block's links straight onto it: 0 or FOG_ERR_NOMEM. */
typedef struct {
    fog_cid *items;
    size_t n, cap;
} cid_stack;

static int stack_push(void *stack, const fog_cid *c)
{
    cid_stack *s = stack;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        size_t bytes;
        if (fog_mul_size(cap, sizeof *s->items, &bytes) < 0) {
            return FOG_ERR_NOMEM;
        }
        fog_cid *p = realloc(s->items, bytes);
        if (p == NULL) {
            return FOG_ERR_NOMEM;
        }
        s->items = p;
        s->cap = cap;
    }
    s->items[s->n++] = *c;
    return 0;
}

static void stack_clear(cid_stack *s)
{
    free(s->items);
    s->items = NULL;
    s->n = 0;
    s->cap = 0;
}

/* A block's bytes: an identity CID's digest is its block (boxo's idstore does the same),
 * anything else comes from get. FOG_ERR_NOT_FOUND gets a detail naming c. */
static int car_get(int (*get)(void *, const fog_cid *, fog_slice *), void *ctx, const fog_cid *c,
                   fog_slice *out)
{
    if (c->mh_code == FOG_MC_IDENTITY) {
        *out = fog_cid_digest(c);
        return 0;
    }
    int rc = get(ctx, c, out);
    if (rc == FOG_ERR_NOT_FOUND) {
        rc = fog_errf(rc, "block %s is missing", fog_cid_str(c));
    }
    return rc;
}

/* fog_dag_links into out, emptied first (so links.n counts c's links). */
static int car_links(const fog_cid *c, fog_slice data, cid_stack *out)
{
    out->n = 0;
    return fog_dag_links(c, data, stack_push, out);
}

typedef struct {
    const fog_blocksource *src;
    fog_write_fn write_fn;
    void *ctx;
    cid_stack todo;  /* CIDs still to visit; the next one on top */
    cid_stack links; /* the links of the block just written, in link order */
    fog_set seen;         /* CID bytes already written */
} exporter;

static int write_block(exporter *x, const fog_cid *c, fog_slice data)
{
    uint8_t head[FOG_UVARINT_MAX + FOG_CID_MAX];
    size_t n = fog__car_section_head(c, data.len, head);
    int rc = x->write_fn(x->ctx, head, n);
    if (rc == 0 && data.len > 0) {
        rc = x->write_fn(x->ctx, data.p, data.len);
    }
    return rc;
}

/* Writes c unless already written, then queues its links. */
static int visit(exporter *x, const fog_cid *c)
{
    int rc = fog_set_add(&x->seen, c->bytes, c->len);
    if (rc <= 0) {
        return rc;
    }
    fog_slice data;
    rc = car_get(x->src->get, x->src->ctx, c, &data);
    if (rc == 0) {
        rc = write_block(x, c, data);
    }
    if (rc == 0) {
        rc = car_links(c, data, &x->links);
    }
    for (size_t i = x->links.n; rc == 0 && i > 0; i--) {
        rc = stack_push(&x->todo, &x->links.items[i - 1]);
    }
    return rc;
}

static int walk(exporter *x, const fog_cid *root)
{
    int rc = stack_push(&x->todo, root);
    while (rc == 0 && x->todo.n > 0) {
        fog_cid c = x->todo.items[--x->todo.n];
        rc = visit(x, &c);
    }
    return rc;
}

static int write_header(exporter *x, const fog_cid *roots, size_t n_roots)
{
    fog_buf b;
    fog_buf_init(&b);
    int rc = fog__car_header_write(&b, roots, n_roots);
    if (rc == 0) {
        rc = x->write_fn(x->ctx, b.p, b.len);
    }
    fog_buf_clear(&b);
    return rc;
}

int fog_car_export(const fog_blocksource *src, const fog_cid *roots, size_t n_roots,
                   fog_write_fn write_fn, void *ctx)
{
    if (n_roots == 0 || n_roots > FOG_CAR_MAX_ROOTS) {
        return fog_errf(FOG_ERR_INVALID, "a CAR export needs 1 to %u roots, not %zu",
                        FOG_CAR_MAX_ROOTS, n_roots);
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_roots; i++) {
        fog_slice data;
        rc = car_get(src->get, src->ctx, &roots[i], &data); /* fail before writing */
    }
    exporter x = {src, write_fn, ctx, {NULL, 0, 0}, {NULL, 0, 0}, {0}};
    fog_set_init(&x.seen);
    if (rc == 0) {
        rc = write_header(&x, roots, n_roots);
    }
    for (size_t i = 0; rc == 0 && i < n_roots; i++) {
        rc = walk(&x, &roots[i]);
    }
    stack_clear(&x.todo);
    stack_clear(&x.links);
    fog_set_clear(&x.seen);
    return rc;
}
