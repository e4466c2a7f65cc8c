/* source.c: a fog_blocksource over a read view of the local store.
 * The view lends blocks straight from LMDB's memory map for the life of the view, which is
 * longer than the blocksource contract (until the next get), so nothing is copied. Blocks in
 * the store were verified when they entered it (fog_store_put hashes, the importer computes
 * CIDs from the bytes), so the source is marked trusted and the exporter does not hash them
 * again; kubo's blockstore makes the same choice (HashOnRead is off by default). The store view
 * itself serves identity CIDs from the CID and returns FOG_ERR_NOT_FOUND, with a detail line
 * naming the CID, for a block it does not hold.
 */
#include "fog/unixfs.h"

static int view_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    return fog_store_view_get(ctx, c, out);
}

void fog_blocksource_from_view(fog_blocksource *src, fog_store_view *v)
{
    src->get = view_get;
    src->ctx = v;
    src->trusted = true;
}
