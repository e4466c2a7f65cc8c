/* cmd_car.c: moving DAGs in and out as CAR v1 files: car export, car import.
 * Import verifies every block against its CID before it is stored; a bad CAR changes nothing
 * (the car layer rolls back what it added) and pins nothing.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fog/car.h"
#include "fog/unixfs.h"

typedef struct {
    int fd;
} fd_ctx;

static int write_fd(void *ctx, const uint8_t *p, size_t len)
{
    fd_ctx *f = ctx;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == EPIPE ? FOG_ERR_CANCELLED
                                  : fog_errf(FOG_ERR_IO, "writing the CAR: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_fd(void *ctx, uint8_t *p, size_t cap)
{
    fd_ctx *f = ctx;
    for (;;) {
        ssize_t n = read(f->fd, p, cap);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fog_errf(FOG_ERR_IO, "reading the CAR: %s", strerror(errno));
        }
        return (int)n;
    }
}

static int run_car_export(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_car_export, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    const char *out = cli_value(a, "output");
    if (out == NULL && isatty(1)) {
        return cli_failf("refusing to write a CAR to a terminal: redirect stdout or use -o FILE");
    }
    fog_store *s;
    if (cli_open(repo, FOG_STORE_READ, &s) != 0) {
        return CLI_FAIL;
    }
    fog_store_view *v = NULL;
    fog_blocksource src;
    fog_cid root;
    fd_ctx f = {1};
    rc = fog_store_view_begin(s, &v);
    if (rc == 0) {
        fog_blocksource_from_view(&src, v);
        rc = fog_unixfs_resolve(&src, a->pos[0], &root);
    }
    if (rc == 0 && out != NULL) {
        f.fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (f.fd < 0) {
            rc = fog_errf(FOG_ERR_IO, "%s: %s", out, strerror(errno));
        }
    }
    if (rc == 0) {
        rc = fog_car_export(&src, &root, 1, write_fd, &f);
    }
    if (out != NULL && f.fd >= 0 && f.fd != 1) {
        if (fsync(f.fd) != 0 && rc == 0) {
            rc = fog_errf(FOG_ERR_IO, "%s: %s", out, strerror(errno));
        }
        close(f.fd);
        if (rc < 0) {
            unlink(out); /* no half-written archive left behind */
        }
    }
    fog_store_view_end(v);
    fog_store_close(s);
    return rc < 0 && rc != FOG_ERR_CANCELLED ? cli_fail(rc) : CLI_OK;
}
static const cli_opt car_export_opts[] = {
    {"output", 'o', OPT_VALUE, "FILE", "write to FILE instead of stdout"},
};
const cli_cmd cli_cmd_car_export = {"car export", "[options] CID[/path]",
                                    "write a DAG as a CAR v1 (blocks in depth-first order)", NULL,
                                    car_export_opts, 1, run_car_export};

static int import_one(fog_store *s, const char *path, bool pin, bool quiet)
{
    fd_ctx f = {0};
    if (strcmp(path, "-") != 0 && (f.fd = open(path, O_RDONLY)) < 0) {
        return fog_errf(FOG_ERR_IO, "%s: %s", path, strerror(errno));
    }
    fog_car_import_stats st = {0};
    fog_cid *roots = NULL;
    size_t n_roots = 0;
    int rc = fog_car_import(s, read_fd, &f, pin, &st, &roots, &n_roots);
    if (f.fd != 0) {
        close(f.fd);
    }
    if (rc == 0 && !quiet) {
        printf("imported %llu blocks (%llu new) from %s\n", (unsigned long long)st.blocks,
               (unsigned long long)(st.blocks - st.blocks_present), path);
        for (size_t i = 0; i < n_roots; i++) {
            printf("%s root %s\n", pin ? "pinned" : "unpinned", fog_cid_str(&roots[i]));
        }
    }
    free(roots);
    return rc;
}

static int run_car_import(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_car_import, a, 0, CLI_MAX_POS);
    if (rc != 0) {
        return rc;
    }
    if (a->n_pos == 0) {
        if (isatty(0)) {
            return cli_need_pos(&cli_cmd_car_import, a, 1, CLI_MAX_POS);
        }
        a->pos[a->n_pos++] = "-";
    }
    bool pin = !cli_has(a, "no-pin") && cli_bool(a, "pin-roots", true);
    fog_store *s;
    if (cli_open(repo, FOG_STORE_WRITE, &s) != 0) {
        return CLI_FAIL;
    }
    for (size_t i = 0; i < a->n_pos && rc == 0; i++) {
        rc = import_one(s, a->pos[i], pin, cli_has(a, "quiet"));
    }
    fog_store_close(s);
    return rc < 0 ? cli_fail(rc) : CLI_OK;
}
static const cli_opt car_import_opts[] = {
    {"no-pin", 0, OPT_FLAG, NULL, "do not pin the roots"},
    {"pin-roots", 0, OPT_BOOL, NULL, "pin the roots (default true; kubo's spelling)"},
    {"quiet", 'q', OPT_FLAG, NULL, "print nothing on success"},
};
const cli_cmd cli_cmd_car_import = {
    "car import", "[options] FILE...", "import CAR v1 files (every block verified)",
    "With no FILE (or FILE -) reads standard input. Roots are pinned recursively unless "
    "--no-pin.\nA CAR with a block that does not match its CID is rejected whole.",
    car_import_opts, 3, run_car_import};
