/* walk.c: fog_dag_walk, the one traversal of a whole DAG that pinning and CAR import share.
 * Depth first with an explicit stack of CIDs and a set of multihashes already visited. The links
 * of a block are pushed in reverse so they pop in link order: the visit order is the pre-order a
 * reader of the DAG expects. Everything a block lends is used (visit, links) before the next get,
 * as the blocksource contract requires.
 */
#include "fog/dag.h"

#include <stdlib.h>

typedef fog_cid_vec cid_stack;

static int push(void *ctx, const fog_cid *c)
{
    return fog_cid_vec_push(ctx, c);
}

static void reverse(fog_cid *a, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        fog_cid t = a[i];
        a[i] = a[n - 1 - i];
        a[n - 1 - i] = t;
    }
}

static int fetch(const fog_blocksource *src, const fog_cid *c, fog_slice *out)
{
    if (c->mh_code == FOG_MC_IDENTITY) {
        *out = fog_cid_digest(c);
        return 0;
    }
    int rc = src->get(src->ctx, c, out);
    if (rc == FOG_ERR_NOT_FOUND) {
        return fog_errf(rc, "block %s is missing", fog_cid_str(c));
    }
    if (rc == 0 && !src->trusted) {
        rc = fog_cid_verify(c, out->p, out->len);
    }
    return rc;
}

int fog_dag_walk(const fog_blocksource *src, const fog_cid *root, fog_set *seen,
                 fog_dag_visit_fn visit, void *ctx, fog_cid *missing_out)
{
    fog_set own;
    fog_set_init(&own);
    if (seen == NULL) {
        seen = &own;
    }
    cid_stack st = {NULL, 0, 0};
    int rc = push(&st, root);
    while (rc == 0 && st.n > 0) {
        fog_cid c = st.items[--st.n];
        fog_slice mh = fog_cid_mh(&c);
        rc = fog_set_add(seen, mh.p, mh.len);
        if (rc <= 0) {
            continue; /* 0: visited before; < 0: the loop ends with the error */
        }
        fog_slice data;
        rc = fetch(src, &c, &data);
        if (rc == FOG_ERR_NOT_FOUND && missing_out != NULL) {
            *missing_out = c;
        }
        if (rc == 0 && visit != NULL) {
            rc = visit(ctx, &c, data);
        }
        size_t before = st.n;
        if (rc == 0 && (rc = fog_dag_links(&c, data, push, &st)) == 0) {
            reverse(st.items + before, st.n - before);
        }
    }
    fog_cid_vec_clear(&st);
    fog_set_clear(&own);
    return rc;
}
