/* cmd_read.c: reading content back: cat, get and ls of CID[/path] from the local store.
 * Each opens the repository for reading (readers run beside each other), resolves the path
 * through directories and HAMT shards, then streams: nothing is loaded whole.
 * When a block is not local, the command turns to the daemon if one runs (apiclient.h): cat
 * streams the rest from /api/v0/cat (from the byte where the local read stopped), ls asks
 * /api/v0/ls, get has the daemon fetch the whole DAG under the root CID into the shared
 * repository through /api/v0/refs (a progress line on a terminal, one summary line otherwise)
 * and then exports locally. Without a daemon the local not-found error stands, with a hint.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiclient.h"
#include "fog/names.h"
#include "fog/unixfs.h"

/* The local failure kept while the daemon is tried (its detail line would be overwritten). */
typedef struct {
    int rc;
    char detail[512];
} local_err;

static void keep_err(local_err *e, int rc)
{
    e->rc = rc;
    snprintf(e->detail, sizeof e->detail, "%s", fog_err_detail(rc));
}

/* No daemon: the local error, and how to get the block. */
static int not_local(const local_err *e)
{
    fprintf(stderr, "error: %s\n", e->detail);
    fprintf(stderr, "hint: the content is not in the local repository; start the daemon "
                    "('fog daemon') to fetch it from the network\n");
    return CLI_FAIL;
}

/* "timeout=30s" (or NULL) for the API's query from --timeout, validated by the daemon. */
static const char *timeout_query(cli_args *a, char *buf, size_t cap)
{
    const char *t = cli_value(a, "timeout");
    if (t == NULL) {
        return NULL;
    }
    snprintf(buf, cap, "timeout=%s", t);
    return buf;
}

typedef struct {
    fog_store *s;
    fog_store_view *v;
    fog_blocksource src;
    fog_cid cid;
} read_ctx;

/* Opens the repository and resolves path. CLI_FAIL (printed) when the repository cannot be
 * opened; a negative fog_err (not printed) when resolving failed; 0 on success. */
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
    }
    return rc;
}

static void read_close(read_ctx *r)
{
    fog_store_view_end(r->v);
    fog_store_close(r->s);
}

typedef struct {
    uint64_t written;
    bool any;
} cat_out;

static int cat_write(void *ctx, const uint8_t *p, size_t len)
{
    cat_out *o = ctx;
    int rc = cli_write_stdout(NULL, p, len);
    if (rc == 0) {
        o->written += len;
    }
    return rc;
}

static int stream_stdout(void *ud, const uint8_t *p, size_t len)
{
    (void)ud;
    return cli_write_stdout(NULL, p, len);
}

/* The rest of a cat from the daemon: bytes [offset, offset+length). */
static int cat_remote(const char *repo, cli_args *a, const local_err *e, uint64_t offset,
                      uint64_t length)
{
    char q[160], tq[96];
    const char *t = timeout_query(a, tq, sizeof tq);
    int n = snprintf(q, sizeof q, "offset=%" PRIu64, offset);
    if (length != UINT64_MAX) {
        n += snprintf(q + n, sizeof q - (size_t)n, "&length=%" PRIu64, length);
    }
    if (t != NULL) {
        snprintf(q + n, sizeof q - (size_t)n, "&%s", t);
    }
    const char *args[1] = {a->pos[0]};
    int rc = cli_api_stream(repo, "cat", args, 1, q, stream_stdout, NULL);
    return rc == CLI_API_NO_DAEMON ? not_local(e) : rc;
}

/* A name path argument ("NAME@N/path", "/ipns/NAME/path") replaced by the /ipfs/ path it
 * resolves to, in buf (cmd_name.c). */
static int name_arg(const char *repo, cli_args *a, char *buf, size_t cap)
{
    if (!fog_name_path_is(a->pos[0])) {
        return CLI_OK;
    }
    int rc = cli_name_path(repo, a->pos[0], buf, cap);
    if (rc == CLI_OK) {
        a->pos[0] = buf;
    }
    return rc;
}

static int run_cat(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_cat, a, 1, 1);
    uint64_t offset = 0, length = UINT64_MAX;
    char named[4096];
    if (rc != 0 || (rc = cli_u64(a, "offset", &offset)) != 0 ||
        (rc = cli_u64(a, "length", &length)) != 0 ||
        (rc = name_arg(repo, a, named, sizeof named)) != CLI_OK) {
        return rc;
    }
    read_ctx r;
    cat_out o = {0, false};
    rc = read_open(repo, a->pos[0], &r);
    if (rc == CLI_FAIL) {
        return CLI_FAIL;
    }
    if (rc == 0) {
        rc = fog_unixfs_cat(&r.src, &r.cid, offset, length, cat_write, &o);
        read_close(&r);
    }
    if (rc == FOG_ERR_CANCELLED) {
        return CLI_OK; /* the reader closed the pipe (cat | head) */
    }
    if (rc != FOG_ERR_NOT_FOUND) {
        return rc < 0 ? cli_fail(rc) : CLI_OK;
    }
    local_err e;
    keep_err(&e, rc);
    return cat_remote(repo, a, &e, offset + o.written,
                      length == UINT64_MAX ? length : length - o.written);
}
static const cli_opt cat_opts[] = {
    {"offset", 'o', OPT_VALUE, "N", "start at byte N"},
    {"length", 'l', OPT_VALUE, "N", "write at most N bytes"},
    {"timeout", 0, OPT_VALUE, "DURATION", "fetching: give up on a block after this (30s, 2m)"},
};
const cli_cmd cli_cmd_cat = {"cat", "[options] CID[/path]", "write a file's bytes to stdout",
                             "Blocks that are not local are fetched through the daemon.",
                             cat_opts, 3, run_cat};

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

/* The progress of a daemon fetch (refs lines) and its failure line. */
typedef struct {
    cli_progress prog;
    uint64_t blocks;
    char err[512];
} fetch_prog;

static bool refs_line(void *ud, json_t *v)
{
    fetch_prog *f = ud;
    const char *err = json_string_value(json_object_get(v, "Err"));
    if (err != NULL && err[0] != '\0') {
        snprintf(f->err, sizeof f->err, "%s", err);
        return false;
    }
    json_int_t size = json_integer_value(json_object_get(v, "Size"));
    f->blocks++;
    cli_progress_update(&f->prog, f->prog.done + (uint64_t)(size > 0 ? size : 0));
    return true;
}

/* Has the daemon bring the DAG under cid into the repository (refs fetches every block). */
static int get_fetch(const char *repo, cli_args *a, const char *cid, const local_err *e)
{
    char q[128], tq[96];
    const char *t = timeout_query(a, tq, sizeof tq);
    snprintf(q, sizeof q, "recursive=true%s%s", t != NULL ? "&" : "", t != NULL ? t : "");
    fetch_prog f;
    memset(&f, 0, sizeof f);
    cli_progress_start(&f.prog, !cli_has(a, "quiet"), 0, "fetching");
    const char *args[1] = {cid};
    int rc = cli_api_call(repo, "refs", args, 1, q, refs_line, &f, NULL);
    cli_progress_end(&f.prog);
    if (rc == CLI_API_NO_DAEMON) {
        return not_local(e);
    }
    if (rc == CLI_OK && f.err[0] != '\0') {
        return cli_failf("%s", f.err);
    }
    if (rc == CLI_OK && !f.prog.on && !cli_has(a, "quiet")) {
        char h[32];
        double secs = (double)(cli_now_ms() - f.prog.start_ms) / 1000.0;
        fprintf(stderr, "fetched %" PRIu64 " blocks (%s) in %.1f s\n", f.blocks + 1,
                cli_human_bytes(f.prog.done, h, sizeof h), secs);
    }
    return rc;
}

/* Resolves the path and checks that every block below it is local: 0, CLI_FAIL (printed), or
 * a negative fog_err (not printed; *root gets the CID to fetch when known). */
static int get_check(const char *repo, const char *path, fog_cid *root, bool *resolved)
{
    read_ctx r;
    int rc = read_open(repo, path, &r);
    *resolved = rc == 0;
    if (rc != 0) {
        return rc;
    }
    *root = r.cid;
    rc = fog_dag_walk(&r.src, &r.cid, NULL, NULL, NULL, NULL);
    read_close(&r);
    return rc;
}

/* The CID at the start of path ("CID/a", "/ipfs/CID/a") as text, into buf. */
static const char *path_root(const char *path, char *buf, size_t cap)
{
    const char *p = strncmp(path, "/ipfs/", 6) == 0 ? path + 6 : path;
    size_t n = strcspn(p, "/");
    snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return buf;
}

static int run_get(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_get, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    const char *out = cli_value(a, "output");
    if (out == NULL) {
        out = base_name(a->pos[0]);
        if (strncmp(a->pos[0], "/ipfs/", 6) == 0 && strchr(a->pos[0] + 6, '/') == NULL) {
            out = base_name(a->pos[0] + 6);
        }
    }
    if (access(out, F_OK) == 0) {
        return cli_failf("%s already exists; choose another name with -o", out);
    }
    char named[4096];
    if ((rc = name_arg(repo, a, named, sizeof named)) != CLI_OK) {
        return rc;
    }
    fog_cid root;
    bool resolved = false;
    rc = get_check(repo, a->pos[0], &root, &resolved);
    if (rc == FOG_ERR_NOT_FOUND) {
        local_err e;
        keep_err(&e, rc);
        char buf[FOG_CID_STR_MAX];
        const char *cid = resolved ? fog_cid_str(&root) : path_root(a->pos[0], buf, sizeof buf);
        snprintf(buf, sizeof buf, "%s", cid);
        if ((rc = get_fetch(repo, a, buf, &e)) != CLI_OK) {
            return rc;
        }
    } else if (rc != 0) {
        return rc == CLI_FAIL ? CLI_FAIL : cli_fail(rc);
    }
    read_ctx r;
    if ((rc = read_open(repo, a->pos[0], &r)) != 0) {
        return rc == CLI_FAIL ? CLI_FAIL : cli_fail(rc);
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
    {"timeout", 0, OPT_VALUE, "DURATION", "fetching: give up on a block after this (30s, 2m)"},
};
const cli_cmd cli_cmd_get = {"get", "[options] CID[/path]",
                             "write a file or folder to disk",
                             "Names that would escape the output folder are refused. Content that "
                             "is not local is\nfetched into the repository through the daemon "
                             "first.",
                             get_opts, 3, run_get};

static int check_entry(void *ctx, const fog_unixfs_entry *e)
{
    (void)ctx;
    (void)e;
    return 0;
}

static int print_entry(void *ctx, const fog_unixfs_entry *e)
{
    (void)ctx;
    bool dir = e->type == FOG_UNIXFS_DIRECTORY || e->type == FOG_UNIXFS_HAMT;
    printf("%s %llu %s%s\n", fog_cid_str(&e->cid), (unsigned long long)e->size, e->name,
           dir ? "/" : "");
    return 0;
}

/* ls through the daemon: the same lines from kubo's JSON. */
static int ls_remote(const char *repo, cli_args *a, const local_err *e)
{
    char tq[96];
    const char *t = timeout_query(a, tq, sizeof tq);
    const char *args[1] = {a->pos[0]};
    json_t *v = NULL;
    int rc = cli_api_call(repo, "ls", args, 1, t, NULL, NULL, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return not_local(e);
    }
    if (rc != CLI_OK) {
        return rc;
    }
    json_t *links = json_object_get(json_array_get(json_object_get(v, "Objects"), 0), "Links");
    size_t i;
    json_t *l;
    json_array_foreach(links, i, l) {
        json_int_t type = json_integer_value(json_object_get(l, "Type"));
        printf("%s %" PRIu64 " %s%s\n", json_string_value(json_object_get(l, "Hash")),
               (uint64_t)json_integer_value(json_object_get(l, "Size")),
               json_string_value(json_object_get(l, "Name")), type == 1 ? "/" : "");
    }
    json_decref(v);
    return CLI_OK;
}

static int run_ls(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_ls, a, 1, 1);
    char named[4096];
    if (rc != 0 || (rc = name_arg(repo, a, named, sizeof named)) != CLI_OK) {
        return rc;
    }
    read_ctx r;
    rc = read_open(repo, a->pos[0], &r);
    if (rc == CLI_FAIL) {
        return CLI_FAIL;
    }
    if (rc == 0) {
        /* A dry pass first, so that a block missing halfway is found before a line is printed
         * (the daemon then lists it all); local listings are cheap. */
        rc = fog_unixfs_ls(&r.src, &r.cid, check_entry, NULL);
        if (rc == 0) {
            rc = fog_unixfs_ls(&r.src, &r.cid, print_entry, NULL);
        }
        read_close(&r);
    }
    if (rc != FOG_ERR_NOT_FOUND) {
        return rc < 0 ? cli_fail(rc) : CLI_OK;
    }
    local_err e;
    keep_err(&e, rc);
    return ls_remote(repo, a, &e);
}
static const cli_opt ls_opts[] = {
    {"timeout", 0, OPT_VALUE, "DURATION", "fetching: give up on a block after this (30s, 2m)"},
};
const cli_cmd cli_cmd_ls = {"ls", "[options] CID[/path]",
                            "list a folder: CID, size and name per entry",
                            "Blocks that are not local are fetched through the daemon.", ls_opts,
                            1, run_ls};
