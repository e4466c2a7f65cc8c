/* tar.c: a UnixFS DAG as a POSIX ustar archive, for /api/v0/get (kubo answers get with a tar
 * stream). Headers are written by hand (POSIX.1-1988 ustar: 512-byte header blocks, octal
 * numeric fields, the checksum over the header with its own field as spaces, data padded to
 * 512 bytes, two zero blocks at the end). Folders are "5" entries, files "0", symlinks "2" with
 * their target as linkname; paths longer than 100 bytes are split into prefix and name, and a
 * path or target that does not fit is FOG_ERR_LIMIT. Modes are 0644 and 0755, times 0, owners
 * empty, as nothing of UnixFS mode or mtime is applied (the same as fog_unixfs_get).
 * Entries come from the exporter (fog/unixfs.h): a folder is listed whole into memory before
 * its children are written (the source lends one block at a time), names that would leave
 * their folder are refused as fog_unixfs_get refuses them, and a file's bytes must add up to
 * the size its header announced (the size is known before the bytes: a mismatch is
 * FOG_ERR_PROTO, the archive is cut).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/dag.h"
#include "fog/unixfs.h"

#define TAR_BLOCK 512
#define TAR_PATH_MAX 4096
#define TAR_SIZE_MAX 077777777777ull /* 11 octal digits */

typedef struct {
    fog_write_fn w;
    void *ctx;
    uint64_t file_bytes; /* written for the current file */
} tar_out;

static void octal(char *field, size_t width, uint64_t v)
{
    /* width - 1 digits and a NUL */
    for (size_t i = width - 1; i > 0; i--) {
        field[i - 1] = (char)('0' + (v & 7));
        v >>= 3;
    }
    field[width - 1] = '\0';
}

/* Splits path into ustar's name (<= 100) and prefix (<= 155) at a '/'. */
static int split_path(const char *path, char name[100], char prefix[155])
{
    size_t len = strlen(path);
    if (len <= 100) {
        memcpy(name, path, len);
        return 0;
    }
    for (size_t i = len - 1; i > 0; i--) {
        if (path[i] == '/' && len - i - 1 <= 100 && len - i - 1 > 0 && i <= 155) {
            memcpy(prefix, path, i);
            memcpy(name, path + i + 1, len - i - 1);
            return 0;
        }
    }
    return fog_errf(FOG_ERR_LIMIT, "path %s is too long for a tar header", path);
}

static int header(tar_out *t, const char *path, char type, uint64_t size, const char *link)
{
    uint8_t h[TAR_BLOCK];
    memset(h, 0, sizeof h);
    char *p = (char *)h;
    int rc = split_path(path, p, p + 345);
    if (rc < 0) {
        return rc;
    }
    if (size > TAR_SIZE_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "%s is too large for a ustar header", path);
    }
    if (link != NULL && strlen(link) > 100) {
        return fog_errf(FOG_ERR_LIMIT, "symlink %s: target too long for a tar header", path);
    }
    octal(p + 100, 8, type == '5' ? 0755 : 0644);
    octal(p + 108, 8, 0);
    octal(p + 116, 8, 0);
    octal(p + 124, 12, size);
    octal(p + 136, 12, 0);
    memset(p + 148, ' ', 8);
    p[156] = type;
    if (link != NULL) {
        memcpy(p + 157, link, strlen(link));
    }
    memcpy(p + 257, "ustar", 6);
    memcpy(p + 263, "00", 2);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++) {
        sum += h[i];
    }
    octal(p + 148, 7, sum);
    p[155] = ' ';
    return t->w(t->ctx, h, sizeof h);
}

static int pad(tar_out *t, uint64_t size)
{
    static const uint8_t zero[TAR_BLOCK];
    size_t rest = (size_t)(size % TAR_BLOCK);
    return rest == 0 ? 0 : t->w(t->ctx, zero, TAR_BLOCK - rest);
}

static int count_write(void *ctx, const uint8_t *p, size_t len)
{
    tar_out *t = ctx;
    t->file_bytes += len;
    return t->w(t->ctx, p, len);
}

/* What a node is: its UnixFS type, file size and symlink target (copied into target). */
static int node_kind(const fog_blocksource *src, const fog_cid *c, uint64_t *type,
                     uint64_t *size, char *target, size_t cap)
{
    fog_slice b;
    int rc = c->mh_code == FOG_MC_IDENTITY ? (b = fog_cid_digest(c), 0) : src->get(src->ctx, c, &b);
    if (rc < 0 || c->codec == FOG_MC_RAW) {
        *type = FOG_UNIXFS_FILE;
        *size = b.len;
        return rc;
    }
    if (c->codec != FOG_MC_DAG_PB) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "%s is not UnixFS", fog_cid_str(c));
    }
    fog_pbnode n;
    fog_unixfs u;
    if ((rc = fog_pbnode_decode(&n, b.p, b.len)) < 0) {
        return rc;
    }
    if ((rc = n.has_data ? fog_unixfs_decode(&u, n.data.p, n.data.len)
                         : fog_errf(FOG_ERR_PROTO, "%s has no UnixFS data", fog_cid_str(c))) == 0) {
        *type = u.type;
        *size = u.has_filesize || u.type != FOG_UNIXFS_RAW ? u.filesize : u.data.len;
        if (u.type == FOG_UNIXFS_SYMLINK) {
            snprintf(target, cap, "%.*s", (int)(u.data.len < cap ? u.data.len : cap - 1),
                     (const char *)u.data.p);
        }
        fog_unixfs_clear(&u);
    }
    fog_pbnode_clear(&n);
    return rc;
}

typedef struct {
    char **names;
    fog_cid *cids;
    size_t n, cap;
} dir_list;

static int list_add(void *ctx, const fog_unixfs_entry *e)
{
    dir_list *l = ctx;
    if (strcmp(e->name, "") == 0 || strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0 ||
        strchr(e->name, '/') != NULL) {
        return fog_errf(FOG_ERR_PROTO, "entry name \"%s\" would leave its folder", e->name);
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        char **nn = realloc(l->names, cap * sizeof *nn);
        if (nn != NULL) {
            l->names = nn;
        }
        fog_cid *nc = nn != NULL ? realloc(l->cids, cap * sizeof *nc) : NULL;
        if (nc == NULL) {
            return FOG_ERR_NOMEM;
        }
        l->cids = nc;
        l->cap = cap;
    }
    l->names[l->n] = strdup(e->name);
    if (l->names[l->n] == NULL) {
        return FOG_ERR_NOMEM;
    }
    l->cids[l->n++] = e->cid;
    return 0;
}

static void list_clear(dir_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
    }
    free(l->names);
    free(l->cids);
}

static int tar_node(tar_out *t, const fog_blocksource *src, const fog_cid *c, const char *path,
                    int depth);

static int tar_dir(tar_out *t, const fog_blocksource *src, const fog_cid *c, const char *path,
                   int depth)
{
    char p[TAR_PATH_MAX];
    snprintf(p, sizeof p, "%s/", path);
    int rc = header(t, p, '5', 0, NULL);
    dir_list l = {0};
    if (rc == 0) {
        rc = fog_unixfs_ls(src, c, list_add, &l);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (snprintf(p, sizeof p, "%s/%s", path, l.names[i]) >= (int)sizeof p) {
            rc = fog_errf(FOG_ERR_LIMIT, "path %s/%s is too long", path, l.names[i]);
        } else {
            rc = tar_node(t, src, &l.cids[i], p, depth + 1);
        }
    }
    list_clear(&l);
    return rc;
}

static int tar_node(tar_out *t, const fog_blocksource *src, const fog_cid *c, const char *path,
                    int depth)
{
    if (depth > FOG_UNIXFS_MAX_DEPTH) {
        return fog_errf(FOG_ERR_LIMIT, "folders nested deeper than %d", FOG_UNIXFS_MAX_DEPTH);
    }
    uint64_t type = 0, size = 0;
    char target[256] = "";
    int rc = node_kind(src, c, &type, &size, target, sizeof target);
    if (rc < 0) {
        return rc;
    }
    if (type == FOG_UNIXFS_DIRECTORY || type == FOG_UNIXFS_HAMT) {
        return tar_dir(t, src, c, path, depth);
    }
    if (type == FOG_UNIXFS_SYMLINK) {
        return header(t, path, '2', 0, target);
    }
    if (type != FOG_UNIXFS_FILE && type != FOG_UNIXFS_RAW) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "%s: UnixFS type %llu cannot go into a tar",
                        fog_cid_str(c), (unsigned long long)type);
    }
    if ((rc = header(t, path, '0', size, NULL)) < 0) {
        return rc;
    }
    t->file_bytes = 0;
    if ((rc = fog_unixfs_cat(src, c, 0, UINT64_MAX, count_write, t)) < 0) {
        return rc;
    }
    if (t->file_bytes != size) {
        return fog_errf(FOG_ERR_PROTO, "%s holds %llu bytes, not the %llu announced",
                        fog_cid_str(c), (unsigned long long)t->file_bytes,
                        (unsigned long long)size);
    }
    return pad(t, size);
}

int fog__api_tar(const fog_blocksource *src, const fog_cid *c, const char *name, fog_write_fn w,
                 void *ctx)
{
    tar_out t = {w, ctx, 0};
    int rc = tar_node(&t, src, c, name, 0);
    if (rc == 0) {
        static const uint8_t zero[2 * TAR_BLOCK];
        rc = w(ctx, zero, sizeof zero);
    }
    return rc;
}
