/* cmd_read.c: reading content back: cat, get and ls of CID[/path] from the local store.
 * Each opens the repository for reading (readers run beside each other), resolves the path
 * through directories and HAMT shards, then streams: nothing is loaded whole.
 */
#include "cli.h"

#include <string.h>
#include <unistd.h>

#include "fog/unixfs.h"

typedef struct {
    fog_store *s;
    fog_store_view *v;
    fog_blocksource src;
    fog_cid cid;
} read_ctx;

static int read_open(const char *repo, const char *path, read_ctx *r)
{
    memset(r, 0, sizeof *r);
    if (cli_open(repo, FOG_STORE_READ, &r->s) != 0) {
        return CLI_FAIL;
    }
    int rc = fog_store_view_begin(r->s, &r->v);
    if (rc == 0) {
        fog_blocksource_from_view(&r->src, r->v);
        rc = fog_unixfs_resolve(&r->src, path, &r->cid);
    }
    if (rc < 0) {
        fog_store_view_end(r->v);
        fog_store_close(r->s);
        return cli_fail(rc);
    }
    return 0;
}

static void read_close(read_ctx *r)
{
    fog_store_view_end(r->v);
    fog_store_close(r->s);
}

static int run_cat(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_cat, a, 1, 1);
    uint64_t offset = 0, length = UINT64_MAX;
    if (rc != 0 || (rc = cli_u64(a, "offset", &offset)) != 0 ||
        (rc = cli_u64(a, "length", &length)) != 0) {
        return rc;
    }
    read_ctx r;
    if (read_open(repo, a->pos[0], &r) != 0) {
        return CLI_FAIL;
    }
    rc = fog_unixfs_cat(&r.src, &r.cid, offset, length, cli_write_stdout, NULL);
    read_close(&r);
    if (rc == FOG_ERR_CANCELLED) {
        return CLI_OK; /* the reader closed the pipe (cat | head) */
    }
    return rc < 0 ? cli_fail(rc) : CLI_OK;
}
static const cli_opt cat_opts[] = {
    {"offset", 'o', OPT_VALUE, "N", "start at byte N"},
    {"length", 'l', OPT_VALUE, "N", "write at most N bytes"},
};
const cli_cmd cli_cmd_cat = {"cat", "[options] CID[/path]", "write a file's bytes to stdout",
                             NULL, cat_opts, 2, run_cat};

static const char *base_name(const char *path)
{
    const char *end = path + strlen(path);
    while (end > path && end[-1] == '/') {
        end--;
    }
    const char *p = end;
    while (p > path && p[-1] != '/') {
        p--;
    }
    static char name[4096];
    size_t n = (size_t)(end - p);
    if (n >= sizeof name) {
        n = sizeof name - 1;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    return name;
}

static int run_get(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_get, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    read_ctx r;
    if (read_open(repo, a->pos[0], &r) != 0) {
        return CLI_FAIL;
    }
    const char *out = cli_value(a, "output");
    if (out == NULL) {
        out = base_name(a->pos[0]);
        if (strncmp(a->pos[0], "/ipfs/", 6) == 0 && strchr(a->pos[0] + 6, '/') == NULL) {
            out = base_name(a->pos[0] + 6);
        }
    }
    if (access(out, F_OK) == 0) {
        read_close(&r);
        return cli_failf("%s already exists; choose another name with -o", out);
    }
    rc = fog_unixfs_get(&r.src, &r.cid, out, NULL);
    read_close(&r);
    if (rc < 0) {
        return cli_fail(rc);
    }
    if (!cli_has(a, "quiet")) {
        printf("saved %s to %s\n", a->pos[0], out);
    }
    return CLI_OK;
}
static const cli_opt get_opts[] = {
    {"output", 'o', OPT_VALUE, "PATH", "where to write (default: the last path element)"},
    {"quiet", 'q', OPT_FLAG, NULL, "print nothing on success"},
};
const cli_cmd cli_cmd_get = {"get", "[options] CID[/path]",
                             "write a file or folder to disk",
                             "Names that would escape the output folder are refused.",
                             get_opts, 2, run_get};

static int print_entry(void *ctx, const fog_unixfs_entry *e)
{
    (void)ctx;
    bool dir = e->type == FOG_UNIXFS_DIRECTORY || e->type == FOG_UNIXFS_HAMT;
    printf("%s %llu %s%s\n", fog_cid_str(&e->cid), (unsigned long long)e->size, e->name,
           dir ? "/" : "");
    return 0;
}

static int run_ls(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_ls, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    read_ctx r;
    if (read_open(repo, a->pos[0], &r) != 0) {
        return CLI_FAIL;
    }
    rc = fog_unixfs_ls(&r.src, &r.cid, print_entry, NULL);
    read_close(&r);
    return rc < 0 ? cli_fail(rc) : CLI_OK;
}
const cli_cmd cli_cmd_ls = {"ls", "CID[/path]", "list a folder: CID, size and name per entry",
                            NULL, NULL, 0, run_ls};
