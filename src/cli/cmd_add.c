/* cmd_add.c: `fog add`: files and folders into the repository as UnixFS DAGs.
 * Settings start from an IPIP-499 profile (unixfs-v1-2025 by default) and kubo's flags override
 * single values: --cid-version 1 turns raw leaves on unless --raw-leaves says otherwise. The root
 * of each path is pinned in the same durable commit that stores its last block, so an add is
 * acknowledged (its CID printed) only once everything it names is on disk.
 * When a daemon runs beside the repository, the roots are then announced through it
 * (/api/v0/routing/provide), as kubo announces what its CLI adds: best effort, silent when no
 * daemon runs or its DHT is off, one warning line when the announce fails (the add stands).
 * Unless -q or -Q, a last line on stderr shows what content addressing saved: how many blocks
 * (and bytes) the store took as new and how many it already held, by the store's own verdict
 * at write time (fog_store_batch_stats), so adding a changed folder shows that only the changed
 * blocks and the nodes above them were stored.
 */
#include "cli.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiclient.h"
#include "fog/unixfs.h"

#define PROVIDE_BATCH 16 /* CIDs per routing/provide request (the API's arg limit) */

static const cli_opt add_opts[] = {
    {"recursive", 'r', OPT_FLAG, NULL, "add folders with everything below them"},
    {"quiet", 'q', OPT_FLAG, NULL, "print only CIDs (no dedup line on stderr)"},
    {"quieter", 'Q', OPT_FLAG, NULL, "print only the final root CID (no dedup line)"},
    {"only-hash", 'n', OPT_FLAG, NULL, "compute CIDs only; store nothing (no repository needed)"},
    {"pin", 0, OPT_BOOL, NULL, "pin the added roots (default true)"},
    {"progress", 0, OPT_BOOL, NULL, "progress on a terminal (default true)"},
    {"cid-profile", 0, OPT_VALUE, "P", "unixfs-v1-2025 (default) or unixfs-v0-2015"},
    {"cid-version", 0, OPT_VALUE, "N", "CID version 0 or 1 (1 turns raw leaves on)"},
    {"raw-leaves", 0, OPT_BOOL, NULL, "leaves as raw blocks"},
    {"chunker", 0, OPT_VALUE, "C", "size-N, rabin, rabin-MIN-AVG-MAX or buzhash"},
    {"max-links", 0, OPT_VALUE, "N", "links per file node"},
    {"hidden", 'H', OPT_FLAG, NULL, "include files and folders whose names start with ."},
    {"threads", 0, OPT_VALUE, "N", "hashing threads (default: one per core)"},
};

/* Profile first, then single overrides, in kubo's precedence. */
static int build_opts(cli_args *a, fog_import_opts *o)
{
    const char *profile = cli_value(a, "cid-profile");
    int rc = fog_import_profile(o, profile ? profile : "unixfs-v1-2025");
    if (rc < 0) {
        return cli_failf("unknown --cid-profile \"%s\" (unixfs-v1-2025 or unixfs-v0-2015)",
                         profile);
    }
    uint64_t n = 0;
    if (cli_has(a, "cid-version")) {
        if ((rc = cli_u64(a, "cid-version", &n)) != 0) {
            return rc;
        }
        if (n > 1) {
            return cli_failf("--cid-version must be 0 or 1");
        }
        o->cid_version = (int)n;
        o->raw_leaves = n == 1;
    }
    o->raw_leaves = cli_bool(a, "raw-leaves", o->raw_leaves);
    o->include_hidden = cli_has(a, "hidden");
    if (cli_has(a, "chunker") && (rc = fog_import_set_chunker(o, cli_value(a, "chunker"))) < 0) {
        return cli_fail(rc);
    }
    if (cli_has(a, "max-links")) {
        if ((rc = cli_u64(a, "max-links", &n)) != 0) {
            return rc;
        }
        if (n < 2 || n > 8192) {
            return cli_failf("--max-links must be between 2 and 8192");
        }
        o->max_links = (size_t)n;
    }
    if (cli_has(a, "threads")) {
        if ((rc = cli_u64(a, "threads", &n)) != 0) {
            return rc;
        }
        o->threads = (unsigned)(n > 64 ? 64 : n);
    }
    return 0;
}

typedef struct {
    int mode; /* 0 all lines, 1 CIDs only, 2 root only */
    cli_progress progress;
    uint64_t base; /* bytes of earlier paths, for progress across several */
} add_ctx;

static void on_entry(void *ctx, const char *path, const fog_cid *c, uint64_t size)
{
    (void)size;
    add_ctx *x = ctx;
    if (x->mode == 2) {
        return;
    }
    if (x->progress.on) {
        fprintf(stderr, "\r\033[K");
    }
    if (x->mode == 1) {
        printf("%s\n", fog_cid_str(c));
    } else {
        /* Standard input has no name: kubo shows the CID in its place. */
        const char *cid = fog_cid_str(c);
        printf("added %s %s\n", cid, path[0] != '\0' ? path : cid);
    }
    fflush(stdout);
}

static void on_progress(void *ctx, uint64_t done)
{
    add_ctx *x = ctx;
    cli_progress_update(&x->progress, x->base + done);
}

static int add_one(const char *path, bool recursive, const fog_import_opts *o,
                   const fog_blocksink *sink, const fog_import_events *ev, fog_cid *root)
{
    if (strcmp(path, "-") == 0) {
        return fog_import_fd(0, o, sink, ev, root);
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        return fog_errf(FOG_ERR_NOT_FOUND, "%s: no such file or folder", path);
    }
    if (S_ISDIR(st.st_mode) && !recursive) {
        return fog_errf(FOG_ERR_INVALID, "%s is a folder: add it with -r", path);
    }
    return fog_import_path(path, o, sink, ev, root);
}

static uint64_t total_size(cli_args *a)
{
    uint64_t total = 0;
    for (size_t i = 0; i < a->n_pos; i++) {
        struct stat st;
        if (stat(a->pos[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            return 0; /* unknown: folders and pipes show bytes and rate only */
        }
        total += (uint64_t)st.st_size;
    }
    return total;
}

/* Commits b after a successful add (rc 0), else aborts it; returns the outcome. *st gets what
 * the batch's puts found (read before the commit, which frees b). */
static int end_batch(fog_store_batch *b, int rc, fog_store_batch_stats *st)
{
    memset(st, 0, sizeof *st);
    if (b == NULL) {
        return rc;
    }
    fog_store_batch_get_stats(b, st);
    if (rc == 0) {
        return fog_store_batch_commit(b);
    }
    fog_store_batch_abort(b);
    return rc;
}

/* "N bytes, 1.2 MiB", or "N B" below a KiB. */
static const char *bytes_text(uint64_t n, char *buf, size_t cap)
{
    char h[32];
    if (n < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    } else {
        snprintf(buf, cap, "%llu bytes, %s", (unsigned long long)n,
                 cli_human_bytes(n, h, sizeof h));
    }
    return buf;
}

/* The dedup line: the store's verdict on every block the add wrote (see fog_store_batch_stats).
 * On stderr, so that stdout keeps kubo's "added CID NAME" lines for scripts. */
static void print_dedup(const fog_store_batch_stats *st)
{
    char nb[64], ob[64];
    fprintf(stderr, "added %llu blocks (%s) new, %llu blocks (%s) already stored\n",
            (unsigned long long)st->new_blocks, bytes_text(st->new_bytes, nb, sizeof nb),
            (unsigned long long)st->old_blocks, bytes_text(st->old_bytes, ob, sizeof ob));
}

/* Announces roots[0..n) through the daemon, if one runs (see the top of the file). */
static void provide_roots(const char *repo, const fog_cid *roots, size_t n)
{
    for (size_t i = 0; i < n; i += PROVIDE_BATCH) {
        char text[PROVIDE_BATCH][FOG_CID_STR_MAX];
        const char *args[PROVIDE_BATCH];
        size_t m = n - i < PROVIDE_BATCH ? n - i : PROVIDE_BATCH;
        for (size_t j = 0; j < m; j++) {
            if (fog_cid_format(&roots[i + j], 0, text[j], sizeof text[j]) < 0) {
                text[j][0] = '\0';
            }
            args[j] = text[j];
        }
        char err[512];
        json_t *v = NULL;
        cli_api_capture_errors(err, sizeof err);
        int rc = cli_api_call(repo, "routing/provide", args, m, NULL, NULL, NULL, &v);
        cli_api_capture_errors(NULL, 0);
        json_decref(v);
        if (rc == CLI_API_NO_DAEMON || (rc != CLI_OK && strstr(err, "the DHT is off") != NULL)) {
            return;
        }
        if (rc != CLI_OK) {
            fprintf(stderr, "warning: added, but not announced to the network: %s\n", err);
            return;
        }
    }
}

static int run_add(const char *repo, cli_args *a)
{
    fog_import_opts o;
    int rc = build_opts(a, &o);
    if (rc != 0) {
        return rc;
    }
    if (a->n_pos == 0) {
        if (isatty(0)) {
            return cli_need_pos(&cli_cmd_add, a, 1, CLI_MAX_POS);
        }
        a->pos[a->n_pos++] = "-";
    }
    bool only_hash = cli_has(a, "only-hash");
    add_ctx x = {cli_has(a, "quieter") ? 2 : (cli_has(a, "quiet") ? 1 : 0)};
    cli_progress_start(&x.progress, cli_bool(a, "progress", true), total_size(a), "adding");
    fog_import_events ev = {on_entry, on_progress, &x};
    fog_store *s = NULL;
    fog_store_batch *b = NULL;
    fog_blocksink sink = {NULL, NULL};
    if (!only_hash) {
        if (cli_open(repo, FOG_STORE_WRITE, &s) != 0) {
            return CLI_FAIL;
        }
        if ((rc = fog_store_batch_begin(s, &b)) < 0) {
            fog_store_close(s);
            return cli_fail(rc);
        }
        fog_blocksink_from_batch(&sink, b);
    }
    fog_cid root;
    fog_cid *roots = only_hash ? NULL : calloc(a->n_pos, sizeof *roots);
    bool pin = cli_bool(a, "pin", true);
    bool recursive = cli_has(a, "recursive");
    for (size_t i = 0; i < a->n_pos && rc == 0; i++) {
        rc = add_one(a->pos[i], recursive, &o, &sink, &ev, &root);
        if (rc == 0 && roots != NULL) {
            roots[i] = root;
        }
        x.base = x.progress.done;
        if (rc == 0 && b != NULL && pin) {
            rc = fog_store_batch_pin(b, &root, FOG_PIN_RECURSIVE);
        }
    }
    fog_store_batch_stats st;
    rc = end_batch(b, rc, &st);
    fog_store_close(s);
    cli_progress_end(&x.progress);
    if (rc < 0) {
        free(roots);
        return cli_fail(rc);
    }
    if (!only_hash && x.mode == 0) {
        print_dedup(&st);
    }
    if (x.mode == 2) {
        printf("%s\n", fog_cid_str(&root));
    }
    fflush(stdout);
    if (roots != NULL) {
        provide_roots(repo, roots, a->n_pos);
    }
    free(roots);
    return CLI_OK;
}

const cli_cmd cli_cmd_add = {
    "add", "[options] PATH...", "add files or folders; prints their CIDs (the root last)",
    "With no PATH (or PATH -) reads standard input. Defaults follow the IPIP-499 profile\n"
    "unixfs-v1-2025 (CIDv1, raw leaves, 1 MiB chunks, 1024 links), as helia adds;\n"
    "--cid-profile unixfs-v0-2015 gives kubo's legacy CIDs (Qm...).\n"
    "A last line on stderr (not with -q or -Q) tells how many blocks were new to the\n"
    "repository and how many it already held: unchanged blocks are stored once.",
    add_opts, sizeof add_opts / sizeof add_opts[0], run_add};
