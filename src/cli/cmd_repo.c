/* cmd_repo.c: init, gc, pins and the repository's own health: repo stat, repo verify. */
#include "cli.h"

#include <string.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/crypto.h"
#include "fog/unixfs.h"

static int run_init(const char *repo, cli_args *a)
{
    (void)a;
    if (repo == NULL) {
        return cli_failf("no repository path: set $FOG_PATH, $HOME or pass --repo DIR");
    }
    char peer[128];
    int rc = fog_repo_init(repo, peer, sizeof peer);
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("initialized fog repository at %s\npeer identity: %s\n", repo, peer);
    return CLI_OK;
}
const cli_cmd cli_cmd_init = {"init", "", "create a repository (identity key, config, store)",
                              "The repository is --repo DIR, $FOG_PATH or ~/.fog.", NULL, 0,
                              run_init};

static int run_gc(const char *repo, cli_args *a)
{
    bool quiet = cli_has(a, "quiet");
    fog_store *s;
    if (cli_open(repo, FOG_STORE_EXCLUSIVE, &s) != 0) {
        return CLI_FAIL;
    }
    fog_gc_stats st = {0};
    int rc = fog_store_gc(s, fog_dag_links, &st);
    fog_store_close(s);
    if (rc < 0) {
        return cli_fail(rc);
    }
    if (!quiet) {
        char b[32];
        printf("removed %llu blocks (%s), kept %llu\n", (unsigned long long)st.blocks_removed,
               cli_human_bytes(st.bytes_removed, b, sizeof b),
               (unsigned long long)st.blocks_kept);
    }
    return CLI_OK;
}
static const cli_opt gc_opts[] = {{"quiet", 'q', OPT_FLAG, NULL, "print nothing on success"}};
const cli_cmd cli_cmd_gc = {"gc", "[options]", "remove every block that no pin reaches", NULL,
                            gc_opts, 1, run_gc};

static int pin_add_one(fog_store *s, const fog_cid *c, const char *arg, cli_args *a)
{
    (void)arg;
    bool recursive = cli_bool(a, "recursive", true);
    fog_store_view *v = NULL;
    fog_slice block;
    int rc = fog_store_view_begin(s, &v);
    if (rc == 0) {
        fog_blocksource src;
        fog_blocksource_from_view(&src, v);
        rc = recursive ? fog_dag_walk(&src, c, NULL, NULL, NULL, NULL)
                       : fog_store_view_get(v, c, &block);
    }
    fog_store_view_end(v);
    if (rc == 0) {
        rc = fog_store_pin_add(s, c, recursive ? FOG_PIN_RECURSIVE : FOG_PIN_DIRECT);
    }
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("pinned %s %s\n", fog_cid_str(c), recursive ? "recursively" : "directly");
    return CLI_OK;
}

static int run_pin_add(const char *repo, cli_args *a)
{
    return cli_each_cid(&cli_cmd_pin_add, repo, a, pin_add_one);
}
static const cli_opt pin_add_opts[] = {
    {"recursive", 'r', OPT_BOOL, NULL, "pin the whole DAG (default true); =false pins one block"},
};
const cli_cmd cli_cmd_pin_add = {"pin add", "[options] CID...",
                                 "pin content so that gc keeps it",
                                 "A recursive pin needs every block of the DAG in the repository.",
                                 pin_add_opts, 1, run_pin_add};

static int pin_rm_one(fog_store *s, const fog_cid *c, const char *arg, cli_args *a)
{
    (void)a;
    int rc = fog_store_pin_rm(s, c);
    if (rc == FOG_ERR_NOT_FOUND) {
        return cli_failf("%s is not pinned", arg);
    }
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("unpinned %s\n", fog_cid_str(c));
    return CLI_OK;
}

static int run_pin_rm(const char *repo, cli_args *a)
{
    return cli_each_cid(&cli_cmd_pin_rm, repo, a, pin_rm_one);
}
const cli_cmd cli_cmd_pin_rm = {"pin rm", "CID...", "remove pins (gc may then remove the blocks)",
                                NULL, NULL, 0, run_pin_rm};

typedef struct {
    int want; /* 0 = all */
    bool quiet;
} pin_ls_ctx;

static int print_pin(void *ctx, const fog_cid *c, int kind)
{
    pin_ls_ctx *p = ctx;
    if (p->want != 0 && p->want != kind) {
        return 0;
    }
    if (p->quiet) {
        printf("%s\n", fog_cid_str(c));
    } else {
        printf("%s %s\n", fog_cid_str(c), kind == FOG_PIN_RECURSIVE ? "recursive" : "direct");
    }
    return 0;
}

static int run_pin_ls(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_pin_ls, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    pin_ls_ctx p = {0, cli_has(a, "quiet")};
    const char *type = cli_value(a, "type");
    if (type != NULL && strcmp(type, "recursive") == 0) {
        p.want = FOG_PIN_RECURSIVE;
    } else if (type != NULL && strcmp(type, "direct") == 0) {
        p.want = FOG_PIN_DIRECT;
    } else if (type != NULL && strcmp(type, "all") != 0) {
        return cli_failf("--type must be all, recursive or direct, not \"%s\"", type);
    }
    fog_store *s;
    if (cli_open(repo, FOG_STORE_READ, &s) != 0) {
        return CLI_FAIL;
    }
    rc = fog_store_pin_list(s, print_pin, &p);
    fog_store_close(s);
    return rc < 0 ? cli_fail(rc) : CLI_OK;
}
static const cli_opt pin_ls_opts[] = {
    {"type", 't', OPT_VALUE, "T", "all (default), recursive or direct"},
    {"quiet", 'q', OPT_FLAG, NULL, "print CIDs only"},
};
const cli_cmd cli_cmd_pin_ls = {"pin ls", "[options]", "list pins", NULL, pin_ls_opts, 2,
                                run_pin_ls};

static int run_repo_stat(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_repo_stat, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    fog_store *s;
    if (cli_open(repo, FOG_STORE_READ, &s) != 0) {
        return CLI_FAIL;
    }
    fog_repo_stat st;
    rc = fog_store_stat(s, &st);
    fog_store_close(s);
    if (rc < 0) {
        return cli_fail(rc);
    }
    char b1[32], b2[32];
    printf("path:           %s\n", repo);
    printf("blocks:         %llu\n", (unsigned long long)st.blocks);
    printf("content bytes:  %llu (%s)\n", (unsigned long long)st.content_bytes,
           cli_human_bytes(st.content_bytes, b1, sizeof b1));
    printf("repo bytes:     %llu (%s)\n", (unsigned long long)st.repo_bytes,
           cli_human_bytes(st.repo_bytes, b2, sizeof b2));
    if (st.content_bytes > 0) {
        printf("overhead:       %.4fx\n", (double)st.repo_bytes / (double)st.content_bytes);
    }
    printf("pins:           %llu\n", (unsigned long long)st.pins);
    return CLI_OK;
}
const cli_cmd cli_cmd_repo_stat = {"repo stat", "", "blocks, bytes, overhead and pins", NULL,
                                   NULL, 0, run_repo_stat};

typedef struct {
    uint64_t ok, bad, unknown;
} verify_ctx;

static int verify_block(void *ctx, fog_slice mh, fog_slice data)
{
    verify_ctx *v = ctx;
    fog_reader r;
    fog_reader_init(&r, mh.p, mh.len);
    fog_mh m;
    fog_mh_read(&r, &m);
    char hex[2 * FOG_DIGEST_MAX + 1];
    if (r.err != 0 || !fog_reader_done(&r)) {
        fog_hex_encode(mh.p, mh.len < FOG_DIGEST_MAX ? mh.len : FOG_DIGEST_MAX, hex);
        fprintf(stderr, "corrupt: malformed key %s\n", hex);
        v->bad++;
        return 0;
    }
    fog_cid c;
    if (fog_cid_make(&c, 1, FOG_MC_RAW, m.code, m.digest.p, m.digest.len) < 0) {
        v->bad++;
        return 0;
    }
    int rc = fog_cid_verify(&c, data.p, data.len);
    if (rc == FOG_ERR_UNSUPPORTED) {
        v->unknown++;
    } else if (rc < 0) {
        fog_hex_encode(m.digest.p, m.digest.len, hex);
        fprintf(stderr, "corrupt: block with multihash %s (%s) does not match its data\n", hex,
                fog_mc_name(m.code) ? fog_mc_name(m.code) : "?");
        v->bad++;
    } else {
        v->ok++;
    }
    return 0;
}

static int run_repo_verify(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_repo_verify, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    fog_store *s;
    if (cli_open(repo, FOG_STORE_READ, &s) != 0) {
        return CLI_FAIL;
    }
    verify_ctx v = {0};
    rc = fog_store_each_block(s, verify_block, &v);
    fog_store_close(s);
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("verified %llu blocks: %llu ok, %llu corrupt, %llu with an unsupported hash\n",
           (unsigned long long)(v.ok + v.bad + v.unknown), (unsigned long long)v.ok,
           (unsigned long long)v.bad, (unsigned long long)v.unknown);
    if (v.bad > 0) {
        return cli_failf("repository has %llu corrupt blocks", (unsigned long long)v.bad);
    }
    return CLI_OK;
}
const cli_cmd cli_cmd_repo_verify = {"repo verify", "",
                                     "re-hash every block and compare with its multihash", NULL,
                                     NULL, 0, run_repo_verify};
