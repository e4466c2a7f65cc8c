/* sink.c: the importer's block sink over a store write batch.
 * Blocks from the importer are trusted to match their CIDs (it computed them), which is what
 * fog_store_batch_put expects (include/fog/store.h); committing and pinning stay with the
 * caller, who owns the batch.
 */
#include "fog/unixfs.h"

#include "fog/store.h"

static int batch_put(void *ctx, const fog_cid *c, const uint8_t *data, size_t len)
{
    return fog_store_batch_put(ctx, c, data, len);
}

void fog_blocksink_from_batch(fog_blocksink *sink, fog_store_batch *b)
{
    sink->put = batch_put;
    sink->ctx = b;
}
