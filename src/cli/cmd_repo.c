/* cmd_repo.c: init, gc, pins and the repository's own health: repo stat (with what the pins
 * reference and what dedup saved, see below), repo verify. */
#include "cli.h"

#include <stdlib.h>
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

/* ---- What the pins reference, and what dedup saved ---------------------------------------
 * "Referenced" is what the pinned content would occupy if nothing were shared: the cumulative
 * size (kubo's `ipfs object stat` CumulativeSize) of every distinct pinned DAG, a DAG reached
 * from several pins (a folder pinned by `fog add` and by a name's history) counted once. A
 * dag-pb node counts its own length plus its links' Tsize (which importers set to each child's
 * cumulative size) and is not descended, so an added tree costs one block read however big it
 * is; a raw block counts its length; a node of another codec (DAG-CBOR version nodes of a
 * name's history, say), or a dag-pb node with a link without Tsize, counts its length and its
 * links are followed, each distinct block once over all pins (one seen set). A direct pin counts
 * its one block, unless counted already. The stored
 * content bytes count every block once, so referenced - stored is what content addressing saved
 * between and inside the pinned DAGs (negative when unpinned blocks remain: then no saving is
 * shown). Tsize comes from the blocks themselves and is summed saturating.
 */
typedef struct {
    fog_store_view *v;
    fog_set seen;     /* nodes counted, over all pins */
    uint64_t referenced;
    uint64_t counted; /* pins whose DAG is in referenced */
    uint64_t partial; /* pins left out: a block of their DAG is missing or unreadable */
} refs_ctx;

typedef fog_cid_vec cid_stack;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int stack_push(void *ctx, const fog_cid *c)
{
    return fog_cid_vec_push(ctx, c);
}

/* A dag-pb node's length plus its links' Tsize into *out; false when a link has none or the
 * block does not decode (the caller then follows the links). */
static bool pb_cumulative(fog_slice block, uint64_t *out)
{
    fog_pbnode n;
    if (fog_pbnode_decode(&n, block.p, block.len) < 0) {
        return false;
    }
    uint64_t sum = block.len;
    bool all = true;
    for (size_t i = 0; i < n.n_links && all; i++) {
        all = n.links[i].has_tsize;
        sum = sat_add(sum, n.links[i].tsize);
    }
    fog_pbnode_clear(&n);
    *out = sum;
    return all;
}

/* The cumulative size of the DAG under root (the rules above) not counted yet (seen) into *out,
 * depth first with an explicit stack, reading blocks lent by v. */
static int dag_size(fog_store_view *v, fog_set *seen, const fog_cid *root, uint64_t *out)
{
    cid_stack st = {NULL, 0, 0};
    uint64_t sum = 0;
    int rc = stack_push(&st, root);
    while (rc == 0 && st.n > 0) {
        fog_cid c = st.items[--st.n];
        fog_slice mh = fog_cid_mh(&c);
        fog_slice block;
        uint64_t size;
        if ((rc = fog_set_add(seen, mh.p, mh.len)) <= 0) {
            continue; /* 0: counted already; < 0: the loop ends with the error */
        }
        if ((rc = fog_store_view_get(v, &c, &block)) < 0) {
            break;
        }
        if (c.codec == FOG_MC_DAG_PB && pb_cumulative(block, &size)) {
            sum = sat_add(sum, size); /* its Tsize stands for everything below it */
            continue;
        }
        sum = sat_add(sum, block.len);
        rc = fog_dag_links(&c, block, stack_push, &st);
    }
    fog_cid_vec_clear(&st);
    *out = sum;
    return rc;
}

/* Errors that say the repository or the machine failed, not that one pinned DAG is incomplete
 * or unreadable: these stop repo stat. */
static bool fatal_err(int rc)
{
    return rc == FOG_ERR_NOMEM || rc == FOG_ERR_IO || rc == FOG_ERR_STORE ||
           rc == FOG_ERR_STORE_FULL;
}

static int pin_referenced(void *ctx, const fog_cid *c, int kind)
{
    refs_ctx *r = ctx;
    fog_slice block = {0};
    uint64_t size = 0;
    fog_slice mh = fog_cid_mh(c);
    int rc = kind == FOG_PIN_RECURSIVE ? dag_size(r->v, &r->seen, c, &size)
             : fog_set_has(&r->seen, mh.p, mh.len) ? 0
                                                   : fog_store_view_get(r->v, c, &block);
    if (rc == 0) {
        r->referenced = sat_add(r->referenced, kind == FOG_PIN_RECURSIVE ? size : block.len);
        r->counted++;
    } else if (!fatal_err(rc)) {
        r->partial++; /* a missing or unreadable block: this pin is left out, the rest count */
        rc = 0;
    }
    return rc;
}

/* Sums what every pin references (see above) into *r. */
static int pins_referenced(fog_store *s, refs_ctx *r)
{
    int rc = fog_store_view_begin(s, &r->v);
    if (rc < 0) {
        return rc;
    }
    fog_set_init(&r->seen);
    /* pin_list reads in its own transaction beside the view: the store opens LMDB with
     * MDB_NOTLS, which lets one thread hold several read transactions. */
    rc = fog_store_pin_list(s, pin_referenced, r);
    fog_set_clear(&r->seen);
    fog_store_view_end(r->v);
    r->v = NULL;
    return rc;
}

static void print_dedup(const fog_repo_stat *st, const refs_ctx *r)
{
    char b[32];
    printf("referenced:     %llu (%s) by %llu pin%s\n", (unsigned long long)r->referenced,
           cli_human_bytes(r->referenced, b, sizeof b), (unsigned long long)r->counted,
           r->counted == 1 ? "" : "s");
    if (r->partial > 0) {
        printf("                (%llu pin%s left out: missing or unreadable blocks)\n",
               (unsigned long long)r->partial, r->partial == 1 ? "" : "s");
    }
    if (r->referenced > st->content_bytes) {
        uint64_t saved = r->referenced - st->content_bytes;
        printf("saved by dedup: %llu (%s, %.1f%%)\n", (unsigned long long)saved,
               cli_human_bytes(saved, b, sizeof b),
               100.0 * (double)saved / (double)r->referenced);
    } else {
        printf("saved by dedup: 0\n");
    }
}

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
    refs_ctx r = {0};
    rc = fog_store_stat(s, &st);
    if (rc == 0) {
        rc = pins_referenced(s, &r);
    }
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
    print_dedup(&st, &r);
    return CLI_OK;
}
const cli_cmd cli_cmd_repo_stat = {
    "repo stat", "", "blocks, bytes, overhead, pins and what dedup saved",
    "content bytes: every stored block once. referenced: per pin, the cumulative size of its\n"
    "DAG (a dag-pb node's length plus its links' Tsize; other codecs are followed; a direct\n"
    "pin counts one block), summed over the pins. saved by dedup: referenced - content bytes,\n"
    "when positive.",
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
