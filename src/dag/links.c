/* links.c: fog_dag_links, the list of CIDs a block points to, by the codec of its CID.
 * This is what garbage collection, pinning and DAG export follow, so it validates the whole
 * block first and only then reports links: a block that turns out malformed halfway reports
 * none (parse, validate, then act). raw blocks link to nothing; dag-pb blocks link through
 * their PBLinks in block order (duplicates included); DAG-CBOR blocks through every tag-42 CID
 * in document order, read in the lenient mode that go-ipld-prime and @ipld/dag-cbor use.
 * A CID with the identity multihash carries its block inside itself, so for those the digest
 * is read and the data argument is ignored (an inlined dag-pb or DAG-CBOR node may still link
 * to real blocks).
 */
#include "fog/dag.h"

#include "internal.h"

static int pb_links(fog_slice data, fog_cid_fn emit, void *emit_ctx)
{
    fog__pb_info info;
    int rc = fog__pb_scan(&info, data.p, data.len);
    if (rc < 0) {
        return rc;
    }
    fog__pb_links it;
    fog__pb_links_init(&it, &info);
    fog_pblink l;
    while (fog__pb_links_next(&it, &l)) {
        if ((rc = emit(emit_ctx, &l.cid)) != 0) {
            return rc;
        }
    }
    return 0;
}

int fog_dag_links(const fog_cid *c, fog_slice data, fog_cid_fn emit, void *emit_ctx)
{
    if (c->mh_code == FOG_MC_IDENTITY) {
        data = fog_cid_digest(c);
    }
    switch (c->codec) {
    case FOG_MC_RAW:
        return 0;
    case FOG_MC_DAG_PB:
        return pb_links(data, emit, emit_ctx);
    case FOG_MC_DAG_CBOR: {
        int rc = fog__cbor_walk(data.p, data.len, false, NULL, NULL);
        return rc < 0 ? rc : fog__cbor_walk(data.p, data.len, false, emit, emit_ctx);
    }
    default: {
        const char *name = fog_mc_name(c->codec);
        if (name != NULL) {
            return fog_errf(FOG_ERR_UNSUPPORTED, "cannot read links of a %s block (%s)", name,
                            fog_cid_str(c));
        }
        return fog_errf(FOG_ERR_UNSUPPORTED, "cannot read links of codec 0x%llx (%s)",
                        (unsigned long long)c->codec, fog_cid_str(c));
    }
    }
}
