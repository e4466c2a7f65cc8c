/* export_resolve.c: UnixFS paths to CIDs (fog_unixfs_resolve).
 * A path is "CID", "CID/a/b" or "/ipfs/CID/a/b" (ipfs/specs src/unixfs.md, "UnixFS Paths").
 * Components are split on '/'; empty ones and "." are dropped and ".." removes the component
 * before it, an error when there is none (the spec forbids going above the root CID). Each
 * component is then looked up in the current node: in a basic directory by link Name, where a
 * second link with the same name is an error (spec: duplicate names MUST fail); in a HAMT by
 * hashing the name with murmur3-x64-64 and taking, at each shard level, the next log2(fanout)
 * bits from the most significant end of the big-endian 64-bit hash (PROTOCOLS.md 2.3; boxo
 * hashBits). The first link whose name starts with that bucket's hex prefix decides: the prefix
 * alone is a sub-shard to descend into, prefix + name is the entry, anything else means the
 * name is absent (js-ipfs-unixfs resolves the same way). A path through a file or a symlink is
 * FOG_ERR_INVALID; symlinks are not followed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    const char *p;
    size_t len;
} comp;

/* Splits s into normalized components; *out is given (free) when the call succeeds. */
static int split_path(const char *s, comp **out, size_t *n_out)
{
    size_t cap = 1;
    for (const char *q = s; *q != '\0'; q++) {
        cap += *q == '/';
    }
    comp *v = calloc(cap, sizeof *v);
    if (v == NULL) {
        return FOG_ERR_NOMEM;
    }
    size_t n = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, "/");
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (n == 0) {
                free(v);
                return fog_errf(FOG_ERR_INVALID, "path goes above its root CID");
            }
            n--;
        } else if (len > 0 && !(len == 1 && s[0] == '.')) {
            v[n].p = s;
            v[n].len = len;
            n++;
        }
        s += len;
        s += *s == '/';
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int not_found(const comp *name, const fog_cid *dir)
{
    char ex[72];
    fog__exp_excerpt(name->p, name->len, ex);
    return fog_errf(FOG_ERR_NOT_FOUND, "\"%s\" not found in directory %s", ex, fog_cid_str(dir));
}

static int basic_find(const fog__exp_node *n, const comp *name, fog_cid *cur)
{
    fog__pb_links it;
    fog__pb_links_init(&it, &n->pb);
    fog_pblink l;
    bool found = false;
    fog_cid hit;
    while (fog__pb_links_next(&it, &l)) {
        if (l.name.len != name->len || (name->len > 0 && memcmp(l.name.p, name->p, name->len))) {
            continue;
        }
        if (found) {
            char ex[72];
            fog__exp_excerpt(name->p, name->len, ex);
            return fog_errf(FOG_ERR_PROTO, "directory %s has two entries named \"%s\"",
                            fog_cid_str(&n->cid), ex);
        }
        found = true;
        hit = l.cid;
    }
    if (!found) {
        return not_found(name, &n->cid);
    }
    *cur = hit;
    return 0;
}

/* In shard n, the link for bucket idx: 1 = entry found (*c set), 2 = sub-shard (*c set), 0 =
 * the name is absent. */
static int shard_pick(const fog__exp_node *n, unsigned idx, size_t pad, const comp *name,
                      fog_cid *c)
{
    char prefix[8];
    snprintf(prefix, sizeof prefix, "%0*X", (int)pad, idx);
    fog__pb_links it;
    fog__pb_links_init(&it, &n->pb);
    fog_pblink l;
    while (fog__pb_links_next(&it, &l)) {
        if (l.name.len < pad || memcmp(l.name.p, prefix, pad) != 0) {
            continue;
        }
        *c = l.cid;
        if (l.name.len == pad) {
            return 2;
        }
        bool same = l.name.len - pad == name->len &&
                    (name->len == 0 || memcmp(l.name.p + pad, name->p, name->len) == 0);
        return same ? 1 : 0;
    }
    return 0;
}

static int hamt_find(fog__exp *x, fog__exp_node *n, const comp *name, fog_cid *cur)
{
    uint8_t h[8];
    fog__murmur3_x64_64((const uint8_t *)name->p, name->len, h);
    uint64_t hv = 0;
    for (int i = 0; i < 8; i++) {
        hv = hv << 8 | h[i];
    }
    fog_cid dir = n->cid;
    unsigned consumed = 0;
    for (;;) {
        unsigned bits;
        size_t pad;
        int rc = fog__hamt_params(n, &bits, &pad);
        if (rc < 0) {
            return rc;
        }
        if (consumed + bits > 64) {
            return fog_errf(FOG_ERR_PROTO, "HAMT shard %s: deeper than the 64-bit hash allows",
                            fog_cid_str(&n->cid));
        }
        unsigned idx = (unsigned)((hv << consumed) >> (64 - bits));
        consumed += bits;
        fog_cid c;
        int kind = shard_pick(n, idx, pad, name, &c);
        if (kind == 0) {
            return not_found(name, &dir);
        }
        if (kind == 1) {
            *cur = c;
            return 0;
        }
        fog__exp_node_clear(n);
        if ((rc = fog__exp_load(x, &c, n)) < 0) {
            return rc;
        }
        if (n->raw || n->kind != FOG_UNIXFS_HAMT) {
            return fog_errf(FOG_ERR_PROTO, "block %s: a HAMT sub-shard link to a non-shard",
                            fog_cid_str(&c));
        }
    }
}

/* Moves *cur one component down. */
static int step(fog__exp *x, fog_cid *cur, const comp *name)
{
    fog__exp_node n;
    int rc = fog__exp_load(x, cur, &n);
    if (rc == 0) {
        const char *s = fog_cid_str(cur);
        char ex[72];
        fog__exp_excerpt(name->p, name->len, ex);
        if (n.raw || n.kind == FOG_UNIXFS_FILE || n.kind == FOG_UNIXFS_RAW) {
            rc = fog_errf(FOG_ERR_INVALID, "%s is a file: no \"%s\" under it", s, ex);
        } else if (n.kind == FOG_UNIXFS_SYMLINK) {
            rc = fog_errf(FOG_ERR_INVALID, "%s is a symlink: not followed to \"%s\"", s, ex);
        } else if (n.kind == FOG_UNIXFS_METADATA) {
            rc = fog_errf(FOG_ERR_UNSUPPORTED, "%s is a UnixFS Metadata node", s);
        } else if (n.kind == FOG_UNIXFS_DIRECTORY) {
            rc = basic_find(&n, name, cur);
        } else {
            rc = hamt_find(x, &n, name, cur);
        }
    }
    fog__exp_node_clear(&n);
    return rc;
}

/* Parses the CID at the front of s (up to '/'), leaving *rest after it. */
static int root_cid(const char *s, fog_cid *out, const char **rest)
{
    size_t len = strcspn(s, "/");
    if (len == 0 || len >= FOG_CID_STR_MAX) {
        char ex[72];
        fog__exp_excerpt(s, strlen(s), ex);
        return fog_errf(FOG_ERR_INVALID, "path \"%s\" does not start with a CID", ex);
    }
    char text[FOG_CID_STR_MAX];
    memcpy(text, s, len);
    text[len] = '\0';
    *rest = s + len;
    return fog_cid_parse(out, text);
}

int fog_unixfs_resolve(const fog_blocksource *src, const char *path, fog_cid *out)
{
    const char *s = path;
    if (strncmp(s, "/ipfs/", 6) == 0) {
        s += 6;
    } else if (s[0] == '/') {
        char ex[72];
        fog__exp_excerpt(path, strlen(path), ex);
        return fog_errf(FOG_ERR_INVALID, "path \"%s\": only /ipfs/ paths are supported", ex);
    }
    fog_cid cur;
    const char *rest = "";
    comp *v = NULL;
    size_t n = 0;
    int rc = root_cid(s, &cur, &rest);
    if (rc < 0 || (rc = split_path(rest, &v, &n)) < 0) {
        return rc;
    }
    fog__exp x;
    fog__exp_init(&x, src);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = step(&x, &cur, &v[i]);
    }
    free(v);
    if (rc == 0) {
        *out = cur;
    }
    return rc;
}
