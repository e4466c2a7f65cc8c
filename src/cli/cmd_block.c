/* cmd_block.c: single blocks: block get|put|stat|rm, and cid inspect. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fog/dag.h"
#include "fog/mf.h"

/* The one CID argument of cmd in c, and the repository opened for reading in s: 0, or the
 * command's exit status. */
static int cid_and_store(const cli_cmd *cmd, const char *repo, cli_args *a, fog_cid *c,
                         fog_store **s)
{
    int rc = cli_need_pos(cmd, a, 1, 1);
    if (rc != 0 || (rc = cli_parse_cid(a->pos[0], c)) != 0) {
        return rc;
    }
    return cli_open(repo, FOG_STORE_READ, s) != 0 ? CLI_FAIL : 0;
}

static int run_block_get(const char *repo, cli_args *a)
{
    fog_cid c;
    fog_store *s;
    int rc = cid_and_store(&cli_cmd_block_get, repo, a, &c, &s);
    if (rc != 0) {
        return rc;
    }
    fog_store_view *v = NULL;
    fog_slice data;
    rc = fog_store_view_begin(s, &v);
    if (rc == 0 && (rc = fog_store_view_get(v, &c, &data)) == 0) {
        rc = cli_write_stdout(NULL, data.p, data.len);
    }
    fog_store_view_end(v);
    fog_store_close(s);
    return rc < 0 && rc != FOG_ERR_CANCELLED ? cli_fail(rc) : CLI_OK;
}
const cli_cmd cli_cmd_block_get = {"block get", "CID", "write a block's raw bytes to stdout",
                                   NULL, NULL, 0, run_block_get};

/* Reads all of fd into b, refusing more than max bytes. */
static int read_all(int fd, fog_buf *b, size_t max)
{
    for (;;) {
        if (fog_buf_reserve(b, 65536) < 0) {
            return FOG_ERR_NOMEM;
        }
        ssize_t n = read(fd, b->p + b->len, 65536);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fog_errf(FOG_ERR_IO, "reading input: %s", strerror(errno));
        }
        if (n == 0) {
            return 0;
        }
        b->len += (size_t)n;
        if (b->len > max) {
            return fog_errf(FOG_ERR_LIMIT, "block is larger than %zu bytes", max);
        }
    }
}

static int codec_of(const char *name, uint64_t *codec)
{
    if (name == NULL || strcmp(name, "raw") == 0) {
        *codec = FOG_MC_RAW;
    } else if (strcmp(name, "dag-pb") == 0) {
        *codec = FOG_MC_DAG_PB;
    } else if (strcmp(name, "dag-cbor") == 0) {
        *codec = FOG_MC_DAG_CBOR;
    } else {
        return cli_failf("--cid-codec must be raw, dag-pb or dag-cbor, not \"%s\"", name);
    }
    return 0;
}

static int ignore_link(void *ctx, const fog_cid *c)
{
    (void)ctx;
    (void)c;
    return 0;
}

/* Blocks of a structured codec must decode before they are stored. */
static int check_codec(const fog_cid *c, const fog_buf *b)
{
    if (c->codec == FOG_MC_DAG_PB) {
        fog_pbnode n;
        int rc = fog_pbnode_decode(&n, b->p, b->len);
        fog_pbnode_clear(&n);
        return rc;
    }
    return c->codec == FOG_MC_RAW ? 0 : fog_dag_links(c, fog_slice_make(b->p, b->len), ignore_link,
                                                                   NULL);
}

static int run_block_put(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_block_put, a, 0, 1);
    uint64_t codec = FOG_MC_RAW, version = 1;
    if (rc != 0 || (rc = codec_of(cli_value(a, "cid-codec"), &codec)) != 0 ||
        (rc = cli_u64(a, "cid-version", &version)) != 0) {
        return rc;
    }
    int fd = 0;
    if (a->n_pos == 1 && strcmp(a->pos[0], "-") != 0 && (fd = open(a->pos[0], O_RDONLY)) < 0) {
        return cli_failf("%s: %s", a->pos[0], strerror(errno));
    }
    fog_buf b;
    fog_buf_init(&b);
    fog_cid c;
    rc = read_all(fd, &b, FOG_BLOCK_MAX);
    if (fd != 0) {
        close(fd);
    }
    if (rc == 0) {
        rc = fog_cid_of(&c, version, codec, FOG_MC_SHA2_256, b.p, b.len);
    }
    if (rc == 0) {
        rc = check_codec(&c, &b);
    }
    fog_store *s = NULL;
    if (rc == 0 && cli_open(repo, FOG_STORE_WRITE, &s) != 0) {
        fog_buf_clear(&b);
        return CLI_FAIL;
    }
    if (rc == 0) {
        rc = fog_store_put(s, &c, b.p, b.len);
    }
    if (rc == 0 && cli_bool(a, "pin", false)) {
        rc = fog_store_pin_add(s, &c, FOG_PIN_DIRECT);
    }
    fog_store_close(s);
    fog_buf_clear(&b);
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("%s\n", fog_cid_str(&c));
    return CLI_OK;
}
static const cli_opt block_put_opts[] = {
    {"cid-codec", 0, OPT_VALUE, "C", "raw (default), dag-pb or dag-cbor"},
    {"cid-version", 0, OPT_VALUE, "N", "1 (default), or 0 for dag-pb"},
    {"pin", 0, OPT_BOOL, NULL, "pin the block directly (default false)"},
};
const cli_cmd cli_cmd_block_put = {"block put", "[options] [FILE]",
                                   "store one block from FILE or stdin; prints its CID",
                                   "The block is hashed with sha2-256; at most 2 MiB.",
                                   block_put_opts, 3, run_block_put};

static int run_block_stat(const char *repo, cli_args *a)
{
    fog_cid c;
    fog_store *s;
    int rc = cid_and_store(&cli_cmd_block_stat, repo, a, &c, &s);
    if (rc != 0) {
        return rc;
    }
    size_t size = 0;
    rc = fog_store_size(s, &c, &size);
    fog_store_close(s);
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("Key: %s\nSize: %zu\n", fog_cid_str(&c), size);
    return CLI_OK;
}
const cli_cmd cli_cmd_block_stat = {"block stat", "CID", "a block's CID and size", NULL, NULL, 0,
                                    run_block_stat};

static int block_rm_one(fog_store *s, const fog_cid *c, const char *arg, cli_args *a)
{
    (void)a;
    int kind = 0;
    int rc = fog_store_pin_get(s, c, &kind);
    if (rc == 0 && kind != 0) {
        return cli_failf("%s is pinned: unpin it first (fog pin rm)", arg);
    }
    if (rc == 0) {
        rc = fog_store_delete(s, c);
    }
    if (rc == FOG_ERR_NOT_FOUND) {
        return cli_failf("block %s is not in the repository", arg);
    }
    if (rc < 0) {
        return cli_fail(rc);
    }
    printf("removed %s\n", fog_cid_str(c));
    return CLI_OK;
}

static int run_block_rm(const char *repo, cli_args *a)
{
    return cli_each_cid(&cli_cmd_block_rm, repo, a, block_rm_one);
}
const cli_cmd cli_cmd_block_rm = {"block rm", "CID...", "delete blocks (refused while pinned)",
                                  NULL, NULL, 0, run_block_rm};

static void print_form(const char *label, const fog_cid *c, int base)
{
    char s[FOG_CID_STR_MAX];
    if (fog_cid_format(c, base, s, sizeof s) > 0) {
        printf("%-11s%s\n", label, s);
    }
}

static int run_cid_inspect(const char *repo, cli_args *a)
{
    (void)repo;
    int rc = cli_need_pos(&cli_cmd_cid_inspect, a, 1, 1);
    fog_cid c;
    if (rc != 0 || (rc = cli_parse_cid(a->pos[0], &c)) != 0) {
        return rc;
    }
    const char *codec = fog_mc_name(c.codec);
    const char *hash = fog_mc_name(c.mh_code);
    char hex[2 * FOG_DIGEST_MAX + 1];
    fog_slice d = fog_cid_digest(&c);
    fog_hex_encode(d.p, d.len, hex);
    printf("%-11s%s\n", "CID", a->pos[0]);
    printf("%-11s%llu\n", "version", (unsigned long long)c.version);
    printf("%-11s%s (0x%llx)\n", "codec", codec ? codec : "unknown",
           (unsigned long long)c.codec);
    printf("%-11s%s (0x%llx), %zu-byte digest\n", "multihash", hash ? hash : "unknown",
           (unsigned long long)c.mh_code, d.len);
    printf("%-11s%s\n", "digest", hex);
    fog_cid v0, v1;
    if (fog_cid_to_v0(&c, &v0) == 0) {
        print_form("CIDv0", &v0, 0);
    }
    if (fog_cid_to_v1(&c, &v1) == 0) {
        print_form("base32", &v1, FOG_BASE32);
        print_form("base58btc", &v1, FOG_BASE58BTC);
        print_form("base36", &v1, FOG_BASE36);
        print_form("base16", &v1, FOG_BASE16);
    }
    return CLI_OK;
}
const cli_cmd cli_cmd_cid_inspect = {"cid inspect", "CID",
                                     "show a CID's version, codec, hash and other text forms",
                                     "Needs no repository.", NULL, 0, run_cid_inspect};
