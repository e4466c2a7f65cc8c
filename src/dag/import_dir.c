/* import_dir.c: folders, symlinks and the walk over a tree on disk.
 * A folder's names are read whole, then sorted bytewise (the order dag-pb directories store,
 * ipfs/specs unixfs.md "Directory Link Ordering") and imported one by one, depth first, so
 * every child is finished (CID and cumulative Tsize known) before its folder is built. Empty
 * files and empty folders are kept; names starting with '.' are skipped unless include_hidden
 * (kubo and helia leave hidden entries out by default, IPIP-499). Names must be UTF-8: dag-pb
 * link names are strings and js decoders refuse other bytes. Symlinks are stored, not followed
 * (kubo, IPIP-499 "preserved"): UnixFS Type=Symlink with Data = the target and no filesize,
 * byte for byte what boxo's SymlinkData writes. Other file types are refused.
 * A folder becomes a HAMT when its size estimate is strictly greater than the threshold
 * (IPIP-499 "HAMT threshold behavior"): "links-bytes" sums name and CID lengths (boxo
 * SizeEstimationLinks, js links-bytes), "block-bytes" is the exact size of the basic
 * directory block (boxo SizeEstimationBlock, js block-bytes). A folder with no entries stays a
 * basic directory. Divergence: the js importer leaves links to sub-folders out of its estimate
 * (they have no CID yet when it checks); fog counts every entry, as boxo does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_DEPTH           4096  /* nested folders */
#define MAX_SYMLINK         65536 /* target bytes */
#define DIR_DATA_FIELD_SIZE 4     /* PBNode Data = UnixFS {Type = Directory}: 0a 02 08 01 */

typedef struct {
    fog_buf names; /* NUL-terminated names back to back */
    size_t *offs;
    size_t n;
    size_t cap;
    fog__dirent *ents;
} folder;

static void folder_clear(folder *f)
{
    fog_buf_clear(&f->names);
    free(f->offs);
    free(f->ents);
}

static const char *path_of(const fog__imp *im)
{
    return (const char *)im->path.p;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k; /* continuation bytes */
        if (c < 0x80) {
            k = 0;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
        } else {
            return false;
        }
        if (n - i <= k) {
            return false;
        }
        uint8_t lo = 0x80, hi = 0xbf;
        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        } else if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }
        for (size_t j = 1; j <= k; j++) {
            uint8_t b = s[i + j];
            if (b < (j == 1 ? lo : 0x80) || b > (j == 1 ? hi : 0xbf)) {
                return false;
            }
        }
        i += k + 1;
    }
    return true;
}

static int add_name(fog__imp *im, folder *f, const char *name)
{
    size_t len = strlen(name);
    if (!utf8_ok((const uint8_t *)name, len)) {
        return fog_errf(FOG_ERR_INVALID, "%s: an entry's name is not valid UTF-8", path_of(im));
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        size_t *offs = realloc(f->offs, cap * sizeof *offs);
        if (offs == NULL) {
            return FOG_ERR_NOMEM;
        }
        f->offs = offs;
        f->cap = cap;
    }
    f->offs[f->n++] = f->names.len;
    return fog_buf_append(&f->names, name, len + 1);
}

static int read_names(fog__imp *im, folder *f)
{
    DIR *d = opendir(path_of(im));
    if (d == NULL) {
        return fog_errf(FOG_ERR_IO, "%s: cannot open folder: %s", path_of(im), strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            continue;
        }
        if (name[0] == '.' && !im->o.include_hidden) {
            continue;
        }
        rc = add_name(im, f, name);
    }
    if (rc == 0 && errno != 0) {
        rc = fog_errf(FOG_ERR_IO, "%s: cannot list folder: %s", path_of(im), strerror(errno));
    }
    closedir(d);
    return rc;
}

static int cmp_ent(const void *a, const void *b)
{
    return strcmp(((const fog__dirent *)a)->name, ((const fog__dirent *)b)->name);
}

/* im->path becomes path/name for the call; restored after. */
static int import_child(fog__imp *im, fog__dirent *e, unsigned depth)
{
    size_t old = im->path.len;
    int rc = fog_buf_reserve(&im->path, e->name_len + 2);
    if (rc < 0) {
        return rc;
    }
    if (old > 0 && im->path.p[old - 1] != '/') {
        im->path.p[im->path.len++] = '/';
    }
    memcpy(im->path.p + im->path.len, e->name, e->name_len + 1);
    im->path.len += e->name_len;
    fog__ref r;
    rc = fog__import_entry(im, depth + 1, &r);
    im->path.len = old;
    im->path.p[old] = '\0';
    if (rc == 0) {
        e->tsize = r.tsize;
        e->cid_len = (uint8_t)r.cid.len; /* sha2-256 CIDs: 34 or 36 bytes */
        memcpy(e->cid, r.cid.bytes, r.cid.len);
    }
    return rc;
}

static uint64_t estimate(const fog__imp *im, const fog__dirent *ents, size_t n)
{
    uint64_t size = im->o.hamt_estimate == FOG_HAMT_EST_BLOCK ? DIR_DATA_FIELD_SIZE : 0;
    for (size_t i = 0; i < n; i++) {
        if (im->o.hamt_estimate == FOG_HAMT_EST_BLOCK) {
            size += fog__pb_link_size(ents[i].name_len, ents[i].cid_len, ents[i].tsize);
        } else {
            size += ents[i].name_len + ents[i].cid_len;
        }
    }
    return size;
}

static int build_basic(fog__imp *im, const fog__dirent *ents, size_t n, fog__ref *out)
{
    fog_pblink *links = n > 0 ? calloc(n, sizeof *links) : NULL;
    if (n > 0 && links == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        links[i].has_name = true;
        links[i].name = fog_slice_make(ents[i].name, ents[i].name_len);
        links[i].has_tsize = true;
        links[i].tsize = ents[i].tsize;
        rc = fog_cid_from_bytes(&links[i].cid, ents[i].cid, ents[i].cid_len);
    }
    fog_unixfs u = {.type = FOG_UNIXFS_DIRECTORY};
    if (rc == 0) {
        rc = fog__imp_emit(im, &u, links, n, out);
    }
    free(links);
    return rc;
}

static int import_dir(fog__imp *im, unsigned depth, fog__ref *out)
{
    folder f = {0};
    int rc = read_names(im, &f);
    if (rc == 0 && f.n > 0 && (f.ents = calloc(f.n, sizeof *f.ents)) == NULL) {
        rc = FOG_ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
        f.ents[i].name = (const char *)f.names.p + f.offs[i]; /* the arena no longer grows */
        f.ents[i].name_len = strlen(f.ents[i].name);
    }
    if (rc == 0 && f.n > 1) {
        qsort(f.ents, f.n, sizeof *f.ents, cmp_ent);
    }
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
        rc = import_child(im, &f.ents[i], depth);
    }
    if (rc == 0) {
        bool shard = f.n > 0 && estimate(im, f.ents, f.n) > im->o.hamt_threshold_bytes;
        rc = shard ? fog__hamt_build(im, f.ents, f.n, out) : build_basic(im, f.ents, f.n, out);
    }
    folder_clear(&f);
    return rc;
}

static int import_symlink(fog__imp *im, const struct stat *st, fog__ref *out, uint64_t *len)
{
    size_t cap = st->st_size > 0 && (uint64_t)st->st_size < MAX_SYMLINK ? (size_t)st->st_size + 1
                                                                        : MAX_SYMLINK;
    char *target = malloc(cap);
    if (target == NULL) {
        return FOG_ERR_NOMEM;
    }
    ssize_t n = readlink(path_of(im), target, cap);
    int rc = 0;
    if (n < 0) {
        rc = fog_errf(FOG_ERR_IO, "%s: cannot read symlink: %s", path_of(im), strerror(errno));
    } else if ((size_t)n == cap) {
        rc = fog_errf(FOG_ERR_LIMIT, "%s: symlink target too long", path_of(im));
    } else {
        fog_unixfs u = {.type = FOG_UNIXFS_SYMLINK,
                        .has_data = true,
                        .data = fog_slice_make(target, (size_t)n)};
        rc = fog__imp_emit(im, &u, NULL, 0, out);
        *len = (uint64_t)n;
    }
    free(target);
    return rc;
}

static int import_regular(fog__imp *im, fog__ref *out)
{
    int fd = open(path_of(im), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return fog_errf(FOG_ERR_IO, "%s: cannot open: %s", path_of(im), strerror(errno));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = fog_errf(FOG_ERR_IO, "%s: cannot stat: %s", path_of(im), strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = fog_errf(FOG_ERR_IO, "%s: changed while being added", path_of(im));
    } else {
        rc = fog__import_file(im, fd, (uint64_t)st.st_size, out);
    }
    close(fd);
    return rc;
}

int fog__import_entry(fog__imp *im, unsigned depth, fog__ref *out)
{
    if (depth > MAX_DEPTH) {
        return fog_errf(FOG_ERR_LIMIT, "%s: folders nested deeper than %d", path_of(im), MAX_DEPTH);
    }
    struct stat st;
    if (lstat(path_of(im), &st) != 0) {
        return fog_errf(errno == ENOENT ? FOG_ERR_NOT_FOUND : FOG_ERR_IO, "%s: %s", path_of(im),
                        strerror(errno));
    }
    int rc;
    uint64_t size = 0;
    if (S_ISREG(st.st_mode)) {
        rc = import_regular(im, out);
        size = rc == 0 ? out->fsize : 0;
    } else if (S_ISDIR(st.st_mode)) {
        rc = import_dir(im, depth, out);
        size = rc == 0 ? out->tsize : 0;
    } else if (S_ISLNK(st.st_mode)) {
        rc = import_symlink(im, &st, out, &size);
    } else {
        return fog_errf(FOG_ERR_UNSUPPORTED, "%s: not a file, folder or symlink", path_of(im));
    }
    if (rc == 0) {
        fog__imp_entry(im, out, size);
    }
    return rc;
}
