/* walk.h: depth-first visit of a DAG held in the local store. */
#ifndef FOG_CLI_WALK_H
#define FOG_CLI_WALK_H

#include "fog/mf.h"
#include "fog/store.h"

typedef int (*cli_visit_fn)(void *ctx, const fog_cid *c, fog_slice data);
/* Visits root and every block below it once. FOG_ERR_NOT_FOUND (detail names the CID) when a
 * block is missing; visit's non-zero return stops the walk and is returned. */
int cli_walk(fog_store_view *v, const fog_cid *root, cli_visit_fn visit, void *ctx);

#endif
