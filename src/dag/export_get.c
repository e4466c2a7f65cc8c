/* export_get.c: writing a UnixFS file, symlink or directory tree to disk (fog_unixfs_get).
 * Safety comes first, because every name is chosen by whoever made the DAG:
 * - An entry name that is empty, ".", "..", or holds '/' or a NUL byte is refused with
 *   FOG_ERR_PROTO before anything is created for it (ipfs/specs src/unixfs.md, "Restricted
 *   Names"), so no name can point outside its directory.
 * - Everything below out_path is created relative to an open directory descriptor (openat,
 *   mkdirat, symlinkat) with O_NOFOLLOW, and every file with O_CREAT|O_EXCL: nothing existing
 *   is ever opened, truncated or followed. So a symlink the DAG itself wrote (symlink "a" ->
 *   "/etc", then a second entry "a" in a malformed directory) cannot redirect a later write;
 *   the second "a" fails with FOG_ERR_EXISTS. The price: out_path must not exist yet
 *   (FOG_ERR_EXISTS), the same rule the CLI applies before calling.
 * - Symlink targets are written as they are: they are data, never resolved or followed.
 * Files get mode 0666 and folders 0777, minus the umask, as kubo's `ipfs get` does; UnixFS mode
 * and mtime are not applied. File bytes are streamed through the cat walk straight into the
 * file descriptor. On an error the partial tree stays on disk for the caller to inspect or
 * remove. Events: entry() once per file, symlink and folder when it is complete, with the path
 * as written on disk (out_path joined with the entry names) and its byte size (0 for folders);
 * progress() with the file bytes written so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fog/unixfs.h"

#include "internal.h"

typedef struct {
    fog__exp *x;
    const fog_import_events *ev;
    fog_buf path; /* on-disk path of the current item, NUL-terminated (not counted in len) */
    uint64_t bytes_done;
    unsigned depth; /* folder levels below out_path */
} get_ctx;

typedef struct {
    get_ctx *g;
    int fd;
} fd_arg;

static const char *cur_path(const get_ctx *g)
{
    return (const char *)g->path.p;
}

static int io_fail(const get_ctx *g, const char *what)
{
    int e = errno;
    return fog_errf(e == EEXIST ? FOG_ERR_EXISTS : FOG_ERR_IO, "cannot %s %s: %s", what,
                    cur_path(g), strerror(e));
}

static void done(get_ctx *g, const fog_cid *c, uint64_t size)
{
    if (g->ev != NULL && g->ev->entry != NULL) {
        g->ev->entry(g->ev->ctx, cur_path(g), c, size);
    }
}

static int fd_write(void *ctx, const uint8_t *p, size_t len)
{
    fd_arg *a = ctx;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(a->fd, p + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return io_fail(a->g, "write");
        }
        off += (size_t)w;
    }
    a->g->bytes_done += len;
    if (a->g->ev != NULL && a->g->ev->progress != NULL) {
        a->g->ev->progress(a->g->ev->ctx, a->g->bytes_done);
    }
    return 0;
}

static int put_file(get_ctx *g, int dirfd, const char *name, fog__exp_node *n)
{
    uint64_t size = 0;
    int rc = fog__exp_file_size(n, &size);
    if (rc < 0) {
        return rc;
    }
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        return io_fail(g, "create");
    }
    fog_cid c = n->cid;
    fd_arg a = {g, fd};
    rc = fog__exp_cat(g->x, n, 0, UINT64_MAX, fd_write, &a);
    if (close(fd) != 0 && rc == 0) {
        rc = io_fail(g, "close");
    }
    if (rc == 0) {
        done(g, &c, size);
    }
    return rc;
}

static int put_symlink(get_ctx *g, int dirfd, const char *name, const fog__exp_node *n)
{
    fog_slice t = n->fs.has_data ? n->fs.data : fog_slice_make(NULL, 0);
    if (t.len == 0 || memchr(t.p, 0, t.len) != NULL) {
        return fog_errf(FOG_ERR_PROTO, "symlink %s (%s): empty target or a NUL byte in it",
                        cur_path(g), fog_cid_str(&n->cid));
    }
    char *target = malloc(t.len + 1);
    if (target == NULL) {
        return FOG_ERR_NOMEM;
    }
    memcpy(target, t.p, t.len);
    target[t.len] = '\0';
    int rc = symlinkat(target, dirfd, name) == 0 ? 0 : io_fail(g, "create symlink");
    free(target);
    if (rc == 0) {
        done(g, &n->cid, t.len);
    }
    return rc;
}

static int get_entry(fog__exp *x, void *arg, const char *name, size_t name_len, const fog_cid *c,
                     const fog__exp_link *l);

static int put_dir(get_ctx *g, int dirfd, const char *name, fog__exp_node *n)
{
    if (g->depth >= FOG_UNIXFS_MAX_DEPTH) {
        return fog_errf(FOG_ERR_LIMIT, "folders nested deeper than %d levels at %s",
                        FOG_UNIXFS_MAX_DEPTH, cur_path(g));
    }
    if (mkdirat(dirfd, name, 0777) != 0) {
        return io_fail(g, "create folder");
    }
    fd_arg a = {g, openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (a.fd < 0) {
        return io_fail(g, "open folder");
    }
    fog_cid c = n->cid;
    g->depth++;
    int rc = fog__exp_dir_each(g->x, n, get_entry, &a);
    g->depth--;
    close(a.fd); /* read-only descriptor: nothing to flush */
    if (rc == 0) {
        done(g, &c, 0);
    }
    return rc;
}

static int put_node(get_ctx *g, int dirfd, const char *name, const fog_cid *c)
{
    fog__exp_node n;
    int rc = fog__exp_load(g->x, c, &n);
    if (rc < 0) {
        fog__exp_node_clear(&n);
        return rc;
    }
    switch (n.raw ? FOG_UNIXFS_FILE : n.kind) {
    case FOG_UNIXFS_FILE:
    case FOG_UNIXFS_RAW:
        rc = put_file(g, dirfd, name, &n);
        break;
    case FOG_UNIXFS_DIRECTORY:
    case FOG_UNIXFS_HAMT:
        rc = put_dir(g, dirfd, name, &n);
        break;
    case FOG_UNIXFS_SYMLINK:
        rc = put_symlink(g, dirfd, name, &n);
        break;
    default:
        rc = fog_errf(FOG_ERR_UNSUPPORTED, "%s (%s) is a UnixFS Metadata node", cur_path(g),
                      fog_cid_str(c));
        break;
    }
    fog__exp_node_clear(&n);
    return rc;
}

static bool name_safe(const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return false;
    }
    return memchr(name, '/', len) == NULL && memchr(name, '\0', len) == NULL;
}

static int get_entry(fog__exp *x, void *arg, const char *name, size_t name_len, const fog_cid *c,
                     const fog__exp_link *l)
{
    (void)x;
    (void)l;
    fd_arg *a = arg;
    get_ctx *g = a->g;
    if (!name_safe(name, name_len)) {
        char ex[72];
        fog__exp_excerpt(name, name_len, ex);
        return fog_errf(FOG_ERR_PROTO, "refusing unsafe entry name \"%s\" (%zu bytes) in %s", ex,
                        name_len, cur_path(g));
    }
    size_t mark = g->path.len;
    int rc = fog_buf_u8(&g->path, '/');
    if (rc == 0) {
        rc = fog_buf_append(&g->path, name, name_len);
    }
    if (rc == 0 && (rc = fog_buf_u8(&g->path, '\0')) == 0) {
        g->path.len--; /* keep the NUL after len */
        rc = put_node(g, a->fd, cur_path(g) + mark + 1, c);
    }
    g->path.len = mark;
    g->path.p[mark] = '\0';
    return rc;
}

int fog_unixfs_get(const fog_blocksource *src, const fog_cid *c, const char *out_path,
                   const fog_import_events *ev)
{
    fog__exp x;
    fog__exp_init(&x, src);
    get_ctx g;
    memset(&g, 0, sizeof g);
    g.x = &x;
    g.ev = ev;
    int rc = fog_buf_str(&g.path, out_path);
    if (rc == 0) {
        rc = put_node(&g, AT_FDCWD, out_path, c);
    }
    fog_buf_clear(&g.path);
    return rc;
}
