/* test_store.c: the repository and block store on a real LMDB in temporary directories.
 * Every test gets a fresh directory under /tmp (removed afterwards). Expected values come from
 * the specs or from independent reasoning: the peer ID layout of libp2p peer-ids.md (identity
 * multihash 00 24 of the PublicKey pb 08 01 12 20 <pub>), kubo's padded base64 PrivKey decoded
 * with OpenSSL (not fog's decoder), and gc results compared with a reachability model computed
 * by a plain recursion over an adjacency matrix. The large-batch test runs in a child process so
 * that its peak RSS can be read from wait4; it prints the throughput and size figures.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/store.h"
#include "testlib.h"

#define TOY_CODEC 0x300000u /* multicodec private-use range: a codec only these tests know */
#define MIB (1024u * 1024u)

/* ---- temporary repositories ---- */

typedef struct {
    char root[64]; /* the mkdtemp directory */
    char repo[128];
} tmp_repo;

static int setup(void **state)
{
    tmp_repo *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return -1;
    }
    if (!tl_mkdtemp(t->root, sizeof t->root, "store")) {
        free(t);
        return -1;
    }
    snprintf(t->repo, sizeof t->repo, "%s/a/repo", t->root); /* init must create parents */
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tmp_repo *t = *state;
    tl_rm_rf(t->root);
    free(t);
    return 0;
}

static fog_store *init_open(tmp_repo *t, int mode)
{
    assert_int_equal(fog_repo_init(t->repo, NULL, 0), 0);
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, mode), 0);
    assert_non_null(s);
    return s;
}

/* ---- blocks for the tests ---- */

typedef struct {
    fog_cid cid;
    size_t len;
    uint8_t data[4096];
} blk;

static void make_raw(blk *b, uint32_t tag, size_t len)
{
    assert_true(len <= sizeof b->data && len >= 4);
    for (size_t i = 0; i < len; i++) {
        b->data[i] = (uint8_t)(tag * 31u + i * 7u);
    }
    memcpy(b->data, &tag, 4);
    b->len = len;
    assert_int_equal(fog_cid_of(&b->cid, 1, FOG_MC_RAW, FOG_MC_SHA2_256, b->data, len), 0);
}

/* Toy codec: a link count byte, then (length byte, CID bytes) per link, then a tag. */
static void make_toy(blk *b, const fog_cid *const *links, size_t n, uint32_t tag, uint64_t mh)
{
    size_t o = 0;
    b->data[o++] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        b->data[o++] = (uint8_t)links[i]->len;
        memcpy(&b->data[o], links[i]->bytes, links[i]->len);
        o += links[i]->len;
    }
    memcpy(&b->data[o], &tag, 4);
    b->len = o + 4;
    assert_int_equal(fog_cid_of(&b->cid, 1, TOY_CODEC, mh, b->data, b->len), 0);
}

static int toy_links(const fog_cid *c, fog_slice data, fog_cid_fn emit, void *emit_ctx)
{
    if (c->codec != TOY_CODEC) {
        return 0; /* raw and anything else: no links */
    }
    fog_reader r;
    fog_reader_init(&r, data.p, data.len);
    uint8_t n = 0;
    fog_reader_u8(&r, &n);
    for (uint8_t i = 0; i < n && r.err == 0; i++) {
        uint8_t len = 0;
        fog_slice cb = {0};
        fog_cid link;
        fog_reader_u8(&r, &len);
        fog_reader_bytes(&r, len, &cb);
        if (r.err < 0 || fog_cid_from_bytes(&link, cb.p, cb.len) < 0) {
            return FOG_ERR_PROTO;
        }
        int rc = emit(emit_ctx, &link);
        if (rc != 0) {
            return rc;
        }
    }
    return r.err;
}

static int failing_links(const fog_cid *c, fog_slice data, fog_cid_fn emit, void *emit_ctx)
{
    (void)data;
    (void)emit;
    (void)emit_ctx;
    return c->codec == TOY_CODEC ? fog_errf(FOG_ERR_PROTO, "toy node is broken") : 0;
}

static void put(fog_store *s, const blk *b)
{
    assert_int_equal(fog_store_put(s, &b->cid, b->data, b->len), 0);
}

/* ---- repository lifecycle ---- */

static void test_store_init_open_close(void **state)
{
    tmp_repo *t = *state;
    char peer[64];
    assert_int_equal(fog_repo_init(t->repo, peer, sizeof peer), 0);
    assert_true(strncmp(peer, "12D3KooW", 8) == 0); /* Ed25519 identity peer IDs all start so */
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_WRITE), 0);
    assert_string_equal(fog_store_peer_id(s), peer);
    assert_string_equal(fog_store_path(s), t->repo);
    fog_store_close(s);
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    assert_string_equal(fog_store_peer_id(s), peer);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.pins, 0);
    assert_int_equal(st.content_bytes, 0);
    fog_store_close(s);
    fog_store_close(NULL);
}

static void test_store_init_twice_exists(void **state)
{
    tmp_repo *t = *state;
    char first[64], second[64] = "";
    assert_int_equal(fog_repo_init(t->repo, first, sizeof first), 0);
    assert_int_equal(fog_repo_init(t->repo, second, sizeof second), FOG_ERR_EXISTS);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_EXISTS), t->repo));
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    assert_string_equal(fog_store_peer_id(s), first); /* the identity was not replaced */
    fog_store_close(s);
}

static void test_store_open_missing_no_repo(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = (fog_store *)1;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), FOG_ERR_NO_REPO);
    assert_null(s);
    char want[256];
    snprintf(want, sizeof want, "no fog repository at %s (run 'fog init')", t->repo);
    assert_string_equal(fog_err_detail(FOG_ERR_NO_REPO), want);
    /* An existing but empty directory holds no repository either. */
    assert_int_equal(fog_store_open(&s, t->root, FOG_STORE_WRITE), FOG_ERR_NO_REPO);
}

/* Runs fn in a child process (another process, as another fog command would be) and returns
 * its exit status: 0 means fn returned true. */
static int in_child(bool (*fn)(const char *repo), const char *repo)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(fn(repo) ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static bool child_read_locked(const char *repo)
{
    fog_store *c = NULL;
    return fog_store_open(&c, repo, FOG_STORE_READ) == FOG_ERR_LOCKED;
}

/* A second writer beside the first: it writes a block that the parent then sees, and an
 * exclusive open is refused meanwhile. */
static bool child_writes_beside(const char *repo)
{
    fog_store *c = NULL, *x = NULL;
    static const uint8_t data[] = "written by a second process";
    fog_cid cid;
    bool ok = fog_store_open(&c, repo, FOG_STORE_WRITE) == 0 &&
              fog_store_open(&x, repo, FOG_STORE_EXCLUSIVE) == FOG_ERR_LOCKED &&
              fog_cid_of(&cid, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, sizeof data) == 0 &&
              fog_store_put(c, &cid, data, sizeof data) == 0;
    fog_store_close(c);
    return ok;
}

static void test_store_lock_conflicts(void **state)
{
    tmp_repo *t = *state;
    fog_store *e = init_open(t, FOG_STORE_EXCLUSIVE);
    fog_store *x = NULL;
    assert_int_equal(fog_store_open(&x, t->repo, FOG_STORE_WRITE), FOG_ERR_LOCKED);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_LOCKED), "is locked by another process"));
    assert_non_null(strstr(fog_err_detail(FOG_ERR_LOCKED), t->repo));
    assert_int_equal(fog_store_open(&x, t->repo, FOG_STORE_READ), FOG_ERR_LOCKED);
    assert_int_equal(in_child(child_read_locked, t->repo), 0); /* other processes too */
    fog_store_close(e);

    /* Writers share the repository with readers and with each other; exclusive waits. */
    fog_store *w = NULL;
    assert_int_equal(fog_store_open(&w, t->repo, FOG_STORE_WRITE), 0);
    assert_int_equal(in_child(child_writes_beside, t->repo), 0);
    static const uint8_t data[] = "written by a second process";
    fog_cid cid;
    assert_int_equal(fog_cid_of(&cid, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, sizeof data), 0);
    assert_int_equal(fog_store_has(w, &cid), 1);
    assert_int_equal(fog_store_open(&x, t->repo, FOG_STORE_EXCLUSIVE), FOG_ERR_LOCKED);
    fog_gc_stats gs;
    assert_int_equal(fog_store_gc(w, toy_links, &gs), FOG_ERR_INVALID); /* gc needs exclusive */
    fog_store_close(w);

    fog_store *r1 = NULL, *r2 = NULL;
    assert_int_equal(fog_store_open(&r1, t->repo, FOG_STORE_READ), 0);
    assert_int_equal(fog_store_open(&r2, t->repo, FOG_STORE_READ), 0);
    assert_int_equal(fog_store_open(&x, t->repo, FOG_STORE_EXCLUSIVE), FOG_ERR_LOCKED);
    fog_store_close(r1);
    fog_store_close(r2);
    assert_int_equal(fog_store_open(&x, t->repo, FOG_STORE_EXCLUSIVE), 0); /* locks released */
    fog_store_close(x);
}

static void test_store_read_only_rejects_writes(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_READ);
    blk b;
    make_raw(&b, 1, 100);
    assert_int_equal(fog_store_put(s, &b.cid, b.data, b.len), FOG_ERR_INVALID);
    assert_int_equal(fog_store_pin_add(s, &b.cid, FOG_PIN_DIRECT), FOG_ERR_INVALID);
    fog_store_batch *bt = NULL;
    assert_int_equal(fog_store_batch_begin(s, &bt), FOG_ERR_INVALID);
    assert_int_equal(fog_store_has(s, &b.cid), 0);
    fog_store_close(s);
}

static void test_store_config_identity(void **state)
{
    tmp_repo *t = *state;
    char peer[64];
    assert_int_equal(fog_repo_init(t->repo, peer, sizeof peer), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/config", t->repo);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    const char *pid_text = NULL, *key_text = NULL;
    assert_int_equal(json_unpack(root, "{s:{s:s,s:s}}", "Identity", "PeerID", &pid_text,
                                 "PrivKey", &key_text),
                     0);
    assert_string_equal(pid_text, peer);
    assert_non_null(json_object_get(root, "Version"));

    /* Peer ID: base58btc of the identity multihash (00, length 36) of PublicKey pb 08 01 12 20. */
    uint8_t id[64];
    int n = fog_base_decode(FOG_BASE58BTC, pid_text, strlen(pid_text), id, sizeof id);
    assert_int_equal(n, 38);
    static const uint8_t id_prefix[6] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
    assert_memory_equal(id, id_prefix, sizeof id_prefix);

    /* PrivKey: kubo's padded standard base64, decoded here by OpenSSL, of 08 01 12 40 seed pub. */
    size_t klen = strlen(key_text);
    assert_int_equal(klen % 4, 0);
    assert_int_equal(klen, 92); /* 68 bytes -> 23 groups of 4 characters, one '=' */
    assert_int_equal(key_text[klen - 1], '=');
    uint8_t pb[128];
    int m = EVP_DecodeBlock(pb, (const unsigned char *)key_text, (int)klen);
    assert_int_equal(m, 69); /* EVP_DecodeBlock counts the padding as a zero byte */
    static const uint8_t pb_prefix[4] = {0x08, 0x01, 0x12, 0x40};
    assert_memory_equal(pb, pb_prefix, 4);
    assert_memory_equal(pb + 4 + 32, id + 6, 32); /* the public halves agree */
    uint8_t pub[32], secret[64];
    fog_ed25519_from_seed(pb + 4, pub, secret);
    assert_memory_equal(pub, id + 6, 32);
    json_decref(root);

    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    uint8_t got[64];
    fog_store_identity_secret(s, got);
    assert_memory_equal(got, pb + 4, 64);
    fog_store_close(s);
}

/* A config whose key was written the way kubo writes it (padded base64 from OpenSSL here) of
 * the Ed25519 key in libp2p's peer-id-key-vectors.csv opens; a PeerID of another key is refused. */
static void test_store_config_kubo_key(void **state)
{
    tmp_repo *t = *state;
    char own_peer[64];
    assert_int_equal(fog_repo_init(t->repo, own_peer, sizeof own_peer), 0);
    static const char priv_hex[] = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e1"
                                   "48ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6"
                                   "010f0e42d474fce27e";
    static const char pub_hex[] = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42"
                                  "d474fce27e";
    uint8_t priv[68], id[38] = {0x00, 0x24};
    assert_int_equal(fog_hex_decode(priv_hex, strlen(priv_hex), priv, sizeof priv), 68);
    assert_int_equal(fog_hex_decode(pub_hex, strlen(pub_hex), id + 2, 36), 36);
    char key_b64[128], peer[64];
    assert_int_equal(EVP_EncodeBlock((unsigned char *)key_b64, priv, 68), 92);
    assert_true(fog_base_encode(FOG_BASE58BTC, id, sizeof id, peer, sizeof peer) > 0);

    char path[256];
    snprintf(path, sizeof path, "%s/config", t->repo);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    json_t *ident = json_object_get(root, "Identity");
    json_object_set_new(ident, "PrivKey", json_string(key_b64));
    json_object_set_new(ident, "PeerID", json_string(peer));
    assert_int_equal(json_dump_file(root, path, 0), 0);
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    assert_string_equal(fog_store_peer_id(s), peer);
    uint8_t secret[64];
    fog_store_identity_secret(s, secret);
    assert_memory_equal(secret, priv + 4, 64);
    fog_store_close(s);

    json_object_set_new(ident, "PeerID", json_string(own_peer)); /* valid, but another key's */
    assert_int_equal(json_dump_file(root, path, 0), 0);
    json_decref(root);
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), FOG_ERR_STORE);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_STORE), "PeerID"));
}

/* ---- blocks ---- */

static void test_store_put_get_has_delete_size(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk b;
    make_raw(&b, 7, 3000);
    assert_int_equal(fog_store_has(s, &b.cid), 0);
    put(s, &b);
    put(s, &b); /* again: left as is */
    assert_int_equal(fog_store_has(s, &b.cid), 1);
    size_t size = 0;
    assert_int_equal(fog_store_size(s, &b.cid, &size), 0);
    assert_int_equal(size, 3000);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_buf_append(&out, "x", 1), 0);
    assert_int_equal(fog_store_get(s, &b.cid, &out), 0);
    assert_int_equal(out.len, 3001); /* appended */
    assert_memory_equal(out.p + 1, b.data, b.len);

    assert_int_equal(fog_store_delete(s, &b.cid), 0);
    assert_int_equal(fog_store_has(s, &b.cid), 0);
    assert_int_equal(fog_store_delete(s, &b.cid), FOG_ERR_NOT_FOUND);
    fog_buf_reset(&out);
    assert_int_equal(fog_store_get(s, &b.cid, &out), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&b.cid)));
    assert_int_equal(fog_store_size(s, &b.cid, &size), FOG_ERR_NOT_FOUND);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.content_bytes, 0);
    fog_buf_clear(&out);
    fog_store_close(s);
}

static void test_store_put_hash_mismatch(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk a, b;
    make_raw(&a, 1, 500);
    make_raw(&b, 2, 500);
    assert_int_equal(fog_store_put(s, &a.cid, b.data, b.len), FOG_ERR_HASH_MISMATCH);
    assert_int_equal(fog_store_put(s, &a.cid, a.data, a.len - 1), FOG_ERR_HASH_MISMATCH);
    assert_int_equal(fog_store_has(s, &a.cid), 0);
    fog_store_close(s);
}

static void test_store_identity_cid(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    static const uint8_t text[] = "hello identity";
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_IDENTITY, text, sizeof text), 0);
    assert_int_equal(fog_store_has(s, &c), 1);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_store_get(s, &c, &out), 0);
    assert_int_equal(out.len, sizeof text);
    assert_memory_equal(out.p, text, sizeof text);
    assert_int_equal(fog_store_put(s, &c, text, sizeof text), 0);
    assert_int_equal(fog_store_put(s, &c, text, sizeof text - 1), FOG_ERR_HASH_MISMATCH);
    fog_store_view *v = NULL;
    fog_slice sl;
    assert_int_equal(fog_store_view_begin(s, &v), 0);
    assert_int_equal(fog_store_view_get(v, &c, &sl), 0);
    assert_true(fog_slice_eq(sl, fog_slice_make(text, sizeof text)));
    fog_store_view_end(v);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 0); /* nothing stored */
    fog_buf_clear(&out);
    fog_store_close(s);
}

static void test_store_v0_v1_one_entry(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk b;
    make_raw(&b, 9, 200);
    fog_cid v0, v1, raw = b.cid;
    fog_slice d = fog_cid_digest(&raw);
    assert_int_equal(fog_cid_make(&v0, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, d.p, d.len), 0);
    assert_int_equal(fog_cid_make(&v1, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, d.p, d.len), 0);
    assert_int_equal(fog_store_put(s, &v0, b.data, b.len), 0);
    assert_int_equal(fog_store_has(s, &v1), 1);
    assert_int_equal(fog_store_has(s, &raw), 1); /* same multihash, other codec: same entry */
    assert_int_equal(fog_store_put(s, &v1, b.data, b.len), 0);
    assert_int_equal(fog_store_put(s, &raw, b.data, b.len), 0);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 1);
    assert_int_equal(st.content_bytes, 200);
    assert_int_equal(fog_store_delete(s, &v1), 0);
    assert_int_equal(fog_store_has(s, &v0), 0);
    fog_store_close(s);
}

static void test_store_view_lends_bytes(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk a, b;
    make_raw(&a, 1, 4000);
    make_raw(&b, 2, 10);
    put(s, &a);
    fog_store_view *v = NULL;
    assert_int_equal(fog_store_view_begin(s, &v), 0);
    put(s, &b); /* after the snapshot: the view does not see it */
    fog_slice sl;
    assert_int_equal(fog_store_view_get(v, &a.cid, &sl), 0);
    assert_true(fog_slice_eq(sl, fog_slice_make(a.data, a.len)));
    assert_int_equal(fog_store_view_get(v, &b.cid, &sl), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&b.cid)));
    fog_store_view_end(v);
    fog_store_view_end(NULL);
    assert_int_equal(fog_store_view_begin(s, &v), 0);
    assert_int_equal(fog_store_view_get(v, &b.cid, &sl), 0);
    fog_store_view_end(v);
    fog_store_close(s);
}

typedef struct {
    size_t n;
    uint64_t bytes;
    size_t stop_after;
} each_ctx;

static int count_block(void *ctx, fog_slice mh, fog_slice data)
{
    each_ctx *e = ctx;
    fog_cid c;
    /* Keys are multihashes: a v0 CID is exactly a sha2-256 multihash. */
    assert_int_equal(fog_cid_from_bytes(&c, mh.p, mh.len), 0);
    assert_int_equal(fog_cid_verify(&c, data.p, data.len), 0);
    e->n++;
    e->bytes += data.len;
    return e->n == e->stop_after ? 42 : 0;
}

static void test_store_each_block_and_stat(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    uint64_t want = 0;
    for (uint32_t i = 0; i < 10; i++) {
        blk b;
        make_raw(&b, i, 100 + 300 * i);
        put(s, &b);
        want += b.len;
        if (i % 3 == 0) {
            assert_int_equal(fog_store_pin_add(s, &b.cid, FOG_PIN_DIRECT), 0);
        }
    }
    each_ctx e = {0};
    assert_int_equal(fog_store_each_block(s, count_block, &e), 0);
    assert_int_equal(e.n, 10);
    assert_int_equal(e.bytes, want);
    each_ctx stop = {.stop_after = 3};
    assert_int_equal(fog_store_each_block(s, count_block, &stop), 42);
    assert_int_equal(stop.n, 3);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 10);
    assert_int_equal(st.content_bytes, want);
    assert_int_equal(st.pins, 4); /* i = 0, 3, 6, 9 */
    assert_true(st.repo_bytes >= want);
    fog_store_close(s);
}

/* ---- batches ---- */

static void fill_mib(uint8_t *p, uint32_t tag)
{
    for (size_t i = 0; i < MIB; i += 4) {
        uint32_t w = tag * 2654435761u ^ (uint32_t)i;
        memcpy(&p[i], &w, 4);
    }
}

/* fog_store_copy_lent reads the bytes a view lent from the data file: a 1 MiB block (overflow
 * pages), a slice of it at an odd offset and a small block come back equal to the data put;
 * a block put after the view began does not disturb the view's copies; an identity CID's
 * digest (not in the map) is copied as it is. */
static void test_store_copy_lent(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    uint8_t *big = malloc(MIB), *out = malloc(MIB);
    assert_non_null(big);
    assert_non_null(out);
    fill_mib(big, 5);
    fog_cid bc;
    assert_int_equal(fog_cid_of(&bc, 1, FOG_MC_RAW, FOG_MC_SHA2_256, big, MIB), 0);
    assert_int_equal(fog_store_put(s, &bc, big, MIB), 0);
    blk a, b;
    make_raw(&a, 1, 3000);
    make_raw(&b, 2, 4000);
    put(s, &a);
    fog_store_view *v = NULL;
    assert_int_equal(fog_store_view_begin(s, &v), 0);
    put(s, &b);
    fog_slice sl;
    assert_int_equal(fog_store_view_get(v, &bc, &sl), 0);
    memset(out, 0, MIB);
    assert_int_equal(fog_store_copy_lent(s, sl, out), 0);
    assert_memory_equal(out, big, MIB);
    memset(out, 0, MIB);
    assert_int_equal(fog_store_copy_lent(s, fog_slice_make(sl.p + 4097, 70001), out), 0);
    assert_memory_equal(out, big + 4097, 70001);
    assert_int_equal(fog_store_view_get(v, &a.cid, &sl), 0);
    assert_int_equal(fog_store_copy_lent(s, sl, out), 0);
    assert_memory_equal(out, a.data, a.len);
    fog_cid id;
    assert_int_equal(fog_cid_of(&id, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"tiny", 4),
                     0);
    assert_int_equal(fog_store_view_get(v, &id, &sl), 0);
    assert_int_equal(fog_store_copy_lent(s, sl, out), 0);
    assert_memory_equal(out, "tiny", 4);
    assert_int_equal(fog_store_copy_lent(s, fog_slice_make(NULL, 0), out), 0);
    fog_store_view_end(v);
    free(big);
    free(out);
    fog_store_close(s);
}

static void test_store_batch_commit_persists(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    uint8_t *data = malloc(MIB);
    assert_non_null(data);
    enum { N = 20 }; /* 20 MiB: more than two intermediate commits */
    fog_cid cids[N];
    fog_store_batch *b = NULL;
    assert_int_equal(fog_store_batch_begin(s, &b), 0);
    for (uint32_t i = 0; i < N; i++) {
        fill_mib(data, i);
        assert_int_equal(fog_cid_of(&cids[i], 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, MIB), 0);
        assert_int_equal(fog_store_batch_put(b, &cids[i], data, MIB), 0);
    }
    assert_int_equal(fog_store_batch_put(b, &cids[0], data, MIB), 0); /* present: skipped */
    /* Other writes wait for the batch; reads work meanwhile. */
    blk x;
    make_raw(&x, 99, 50);
    assert_int_equal(fog_store_put(s, &x.cid, x.data, x.len), FOG_ERR_INVALID);
    assert_int_equal(fog_store_has(s, &cids[0]), 1); /* committed by an intermediate commit */
    assert_int_equal(fog_store_batch_pin(b, &cids[N - 1], FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_batch_commit(b), 0);
    put(s, &x); /* the writer is free again */
    fog_store_close(s);

    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    for (uint32_t i = 0; i < N; i++) {
        fog_buf out;
        fog_buf_init(&out);
        assert_int_equal(fog_store_get(s, &cids[i], &out), 0);
        fill_mib(data, i);
        assert_int_equal(out.len, MIB);
        assert_memory_equal(out.p, data, MIB);
        fog_buf_clear(&out);
    }
    int kind = 0;
    assert_int_equal(fog_store_pin_get(s, &cids[N - 1], &kind), 0);
    assert_int_equal(kind, FOG_PIN_RECURSIVE);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, N + 1);
    assert_int_equal(st.content_bytes, (uint64_t)N * MIB + 50);
    assert_int_equal(st.pins, 1);
    fog_store_close(s);
    free(data);
}

/* The batch's verdict per put: new when the key was absent, already stored when the store held
 * it (from a single put, an earlier put of the same batch, or before an intermediate commit);
 * identity CIDs count in neither. */
static void test_store_batch_stats_dedup(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk a, b, x;
    make_raw(&a, 1, 100);
    make_raw(&b, 2, 300);
    make_raw(&x, 3, 50);
    put(s, &x);
    fog_cid id;
    assert_int_equal(fog_cid_of(&id, 1, FOG_MC_RAW, FOG_MC_IDENTITY, a.data, 8), 0);
    fog_store_batch *bt = NULL;
    fog_store_batch_stats st;
    assert_int_equal(fog_store_batch_begin(s, &bt), 0);
    fog_store_batch_get_stats(bt, &st);
    assert_int_equal(st.new_blocks + st.new_bytes + st.old_blocks + st.old_bytes, 0);
    assert_int_equal(fog_store_batch_put(bt, &a.cid, a.data, a.len), 0);
    assert_int_equal(fog_store_batch_put(bt, &a.cid, a.data, a.len), 0);
    assert_int_equal(fog_store_batch_put(bt, &x.cid, x.data, x.len), 0);
    assert_int_equal(fog_store_batch_put(bt, &id, a.data, 8), 0);
    assert_int_equal(fog_store_batch_put(bt, &b.cid, b.data, b.len), 0);
    /* Past FOG_STORE_BATCH_BYTES the batch commits and goes on: the first block is then found
     * in the committed part. */
    uint8_t *data = malloc(MIB);
    assert_non_null(data);
    enum { N = 9 };
    fog_cid first;
    for (uint32_t i = 0; i < N; i++) {
        fog_cid c;
        fill_mib(data, 100 + i);
        assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, MIB), 0);
        assert_int_equal(fog_store_batch_put(bt, &c, data, MIB), 0);
        if (i == 0) {
            first = c;
        }
    }
    fill_mib(data, 100);
    assert_int_equal(fog_store_batch_put(bt, &first, data, MIB), 0);
    fog_store_batch_get_stats(bt, &st);
    assert_int_equal(st.new_blocks, 2 + N);
    assert_int_equal(st.new_bytes, a.len + b.len + (uint64_t)N * MIB);
    assert_int_equal(st.old_blocks, 3);
    assert_int_equal(st.old_bytes, a.len + x.len + MIB);
    assert_int_equal(fog_store_batch_commit(bt), 0);
    fog_repo_stat rs;
    assert_int_equal(fog_store_stat(s, &rs), 0);
    assert_int_equal(rs.content_bytes, x.len + st.new_bytes); /* the counter agrees */
    /* A later batch finds them all stored. */
    assert_int_equal(fog_store_batch_begin(s, &bt), 0);
    assert_int_equal(fog_store_batch_put(bt, &b.cid, b.data, b.len), 0);
    assert_int_equal(fog_store_batch_put(bt, &first, data, MIB), 0);
    fog_store_batch_get_stats(bt, &st);
    assert_int_equal(st.new_blocks + st.new_bytes, 0);
    assert_int_equal(st.old_blocks, 2);
    assert_int_equal(st.old_bytes, b.len + MIB);
    assert_int_equal(fog_store_batch_commit(bt), 0);
    free(data);
    fog_store_close(s);
}

static void test_store_batch_abort_leaves_no_pins(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_EXCLUSIVE);
    uint8_t *data = malloc(MIB);
    assert_non_null(data);
    fog_store_batch *b = NULL;
    assert_int_equal(fog_store_batch_begin(s, &b), 0);
    fog_cid c;
    for (uint32_t i = 0; i < 12; i++) {
        fill_mib(data, 1000 + i);
        assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, MIB), 0);
        assert_int_equal(fog_store_batch_put(b, &c, data, MIB), 0);
        assert_int_equal(fog_store_batch_pin(b, &c, FOG_PIN_DIRECT), 0);
    }
    fog_store_batch_abort(b);
    fog_store_batch_abort(NULL);
    fog_store_close(s);

    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_EXCLUSIVE), 0);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.pins, 0);
    /* A batch commits once it holds MORE than FOG_STORE_BATCH_BYTES: the first 8 MiB / 1 MiB + 1
     * blocks went out in an intermediate commit; the rest was rolled back with the pins. */
    uint64_t flushed = FOG_STORE_BATCH_BYTES / MIB + 1;
    assert_true(flushed < 12);
    assert_int_equal(st.blocks, flushed);
    assert_int_equal(st.content_bytes, st.blocks * MIB);
    fog_gc_stats gs;
    assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
    assert_int_equal(gs.blocks_removed, st.blocks);
    assert_int_equal(gs.bytes_removed, st.blocks * MIB);
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.content_bytes, 0);
    fog_store_close(s);
    free(data);
}

/* ---- pins ---- */

typedef struct {
    size_t n;
    fog_cid cids[8];
    int kinds[8];
} pin_ctx;

static int collect_pin(void *ctx, const fog_cid *c, int kind)
{
    pin_ctx *p = ctx;
    assert_true(p->n < 8);
    p->cids[p->n] = *c;
    p->kinds[p->n] = kind;
    p->n++;
    return 0;
}

static void test_store_pins(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_WRITE);
    blk a, b;
    make_raw(&a, 1, 64);
    make_raw(&b, 2, 64);
    fog_cid v0, v1;
    fog_slice d = fog_cid_digest(&b.cid);
    assert_int_equal(fog_cid_make(&v0, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, d.p, d.len), 0);
    assert_int_equal(fog_cid_make(&v1, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, d.p, d.len), 0);

    assert_int_equal(fog_store_pin_add(s, &a.cid, FOG_PIN_DIRECT), 0);
    assert_int_equal(fog_store_pin_add(s, &v0, FOG_PIN_RECURSIVE), 0);
    int kind = -1;
    assert_int_equal(fog_store_pin_get(s, &v1, &kind), 0);
    assert_int_equal(kind, FOG_PIN_RECURSIVE); /* the v0 pin is found by its v1 name */
    assert_int_equal(fog_store_pin_get(s, &b.cid, &kind), 0);
    assert_int_equal(kind, 0); /* raw codec: another CID, not pinned */
    assert_int_equal(fog_store_pin_add(s, &v1, FOG_PIN_DIRECT), FOG_ERR_EXISTS);
    assert_int_equal(fog_store_pin_add(s, &a.cid, FOG_PIN_RECURSIVE), 0); /* upgrade */
    assert_int_equal(fog_store_pin_add(s, &a.cid, FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_pin_add(s, &a.cid, 7), FOG_ERR_INVALID);

    pin_ctx p = {0};
    assert_int_equal(fog_store_pin_list(s, collect_pin, &p), 0);
    assert_int_equal(p.n, 2);
    for (size_t i = 0; i < p.n; i++) {
        assert_int_equal(p.cids[i].version, 1);
        assert_int_equal(p.kinds[i], FOG_PIN_RECURSIVE);
        assert_true(fog_cid_eq(&p.cids[i], &a.cid) || fog_cid_eq(&p.cids[i], &v1));
    }
    assert_false(fog_cid_eq(&p.cids[0], &p.cids[1]));

    assert_int_equal(fog_store_pin_rm(s, &v1), 0); /* removed through the other name */
    assert_int_equal(fog_store_pin_rm(s, &v0), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), "not pinned"));
    assert_int_equal(fog_store_pin_get(s, &v0, &kind), 0);
    assert_int_equal(kind, 0);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.pins, 1);
    fog_store_close(s);
}

/* ---- gc ---- */

/* Root r -> (a -> l1, l2), l3, and an inlined (identity) node -> ilink; m -> (missing, l2);
 * d direct; dpb pinned under its CIDv0; x and y (-> l1) unpinned. */
typedef struct {
    blk l1, l2, l3, ilink, d, x, y, a, r, m, missing, dpb, inl;
    fog_cid dpb_v0;
} gc_fix;

static void gc_fixture(fog_store *s, gc_fix *f)
{
    make_raw(&f->l1, 1, 1000);
    make_raw(&f->l2, 2, 1100);
    make_raw(&f->l3, 3, 1200);
    make_raw(&f->ilink, 4, 1300);
    make_raw(&f->d, 5, 1400);
    make_raw(&f->x, 6, 1500);
    make_raw(&f->missing, 7, 100);
    make_raw(&f->dpb, 8, 700);
    const fog_cid *al[] = {&f->l1.cid, &f->l2.cid};
    make_toy(&f->a, al, 2, 10, FOG_MC_SHA2_256);
    const fog_cid *il[] = {&f->ilink.cid};
    make_toy(&f->inl, il, 1, 11, FOG_MC_IDENTITY);
    const fog_cid *rl[] = {&f->a.cid, &f->l3.cid, &f->inl.cid};
    make_toy(&f->r, rl, 3, 12, FOG_MC_SHA2_256);
    const fog_cid *yl[] = {&f->l1.cid};
    make_toy(&f->y, yl, 1, 13, FOG_MC_SHA2_256);
    const fog_cid *ml[] = {&f->missing.cid, &f->l2.cid};
    make_toy(&f->m, ml, 2, 14, FOG_MC_SHA2_256);
    fog_slice dd = fog_cid_digest(&f->dpb.cid);
    assert_int_equal(fog_cid_make(&f->dpb_v0, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, dd.p, dd.len), 0);
    const blk *stored[] = {&f->l1, &f->l2, &f->l3, &f->ilink, &f->d, &f->x,
                           &f->a,  &f->r,  &f->y,  &f->m,     &f->dpb};
    for (size_t i = 0; i < sizeof stored / sizeof stored[0]; i++) {
        put(s, stored[i]);
    }
    assert_int_equal(fog_store_pin_add(s, &f->r.cid, FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_pin_add(s, &f->m.cid, FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_pin_add(s, &f->d.cid, FOG_PIN_DIRECT), 0);
    assert_int_equal(fog_store_pin_add(s, &f->dpb_v0, FOG_PIN_RECURSIVE), 0);
}

static void test_store_gc_keeps_pinned(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_EXCLUSIVE);
    gc_fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    gc_fixture(s, f);
    fog_gc_stats gs;
    assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
    assert_int_equal(gs.blocks_removed, 2);
    assert_int_equal(gs.bytes_removed, f->x.len + f->y.len);
    assert_int_equal(gs.blocks_kept, 9);
    assert_int_equal(fog_store_has(s, &f->x.cid), 0);
    assert_int_equal(fog_store_has(s, &f->y.cid), 0);
    const blk *kept[] = {&f->l1, &f->l2, &f->l3, &f->ilink, &f->d, &f->a, &f->r, &f->m, &f->dpb};
    uint64_t kept_bytes = 0;
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        assert_int_equal(fog_store_has(s, &kept[i]->cid), 1);
        kept_bytes += kept[i]->len;
    }
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, 9);
    assert_int_equal(st.content_bytes, kept_bytes);

    assert_int_equal(fog_store_gc(s, toy_links, NULL), 0);
    assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
    assert_int_equal(gs.blocks_removed, 0);
    assert_int_equal(gs.blocks_kept, 9);

    /* Unpinning the root frees what only it held; m still holds l2. */
    assert_int_equal(fog_store_pin_rm(s, &f->r.cid), 0);
    assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
    assert_int_equal(gs.blocks_removed, 5); /* r, a, l1, l3, ilink */
    assert_int_equal(fog_store_has(s, &f->l2.cid), 1);
    assert_int_equal(fog_store_has(s, &f->l1.cid), 0);
    free(f);
    fog_store_close(s);
}

static void test_store_gc_links_error_deletes_nothing(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_EXCLUSIVE);
    blk x, leaf, root;
    make_raw(&x, 1, 100);
    make_raw(&leaf, 2, 100);
    const fog_cid *rl[] = {&leaf.cid};
    make_toy(&root, rl, 1, 3, FOG_MC_SHA2_256);
    put(s, &x);
    put(s, &leaf);
    put(s, &root);
    assert_int_equal(fog_store_pin_add(s, &root.cid, FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_gc(s, failing_links, NULL), FOG_ERR_PROTO);
    const char *why = fog_err_detail(FOG_ERR_PROTO);
    assert_non_null(strstr(why, fog_cid_str(&root.cid)));
    assert_non_null(strstr(why, "toy node is broken"));
    assert_int_equal(fog_store_has(s, &x.cid), 1);
    assert_int_equal(fog_store_has(s, &leaf.cid), 1);
    fog_store_close(s);
}

/* The same bytes read as raw have no links, read as toy they have: gc must walk both forms. The
 * raw CID sorts first among the pins (codec 0x55 before 0x300000's first varint byte 0x80). */
static void test_store_gc_walks_each_codec(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_EXCLUSIVE);
    blk leaf, node;
    make_raw(&leaf, 1, 300);
    const fog_cid *links[] = {&leaf.cid};
    make_toy(&node, links, 1, 2, FOG_MC_SHA2_256);
    fog_cid as_raw;
    fog_slice d = fog_cid_digest(&node.cid);
    assert_int_equal(fog_cid_make(&as_raw, 1, FOG_MC_RAW, FOG_MC_SHA2_256, d.p, d.len), 0);
    put(s, &leaf);
    put(s, &node);
    assert_int_equal(fog_store_pin_add(s, &as_raw, FOG_PIN_RECURSIVE), 0);
    assert_int_equal(fog_store_pin_add(s, &node.cid, FOG_PIN_RECURSIVE), 0);
    fog_gc_stats gs;
    assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
    assert_int_equal(gs.blocks_removed, 0);
    assert_int_equal(fog_store_has(s, &leaf.cid), 1);
    fog_store_close(s);
}

/* A DAG of toy and raw nodes with random links, pins and missing blocks; gc's result is
 * compared with reachability computed by plain recursion over the adjacency matrix. */
enum { MODEL_N = 80 };

typedef struct {
    uint64_t rng;
    bool edge[MODEL_N][MODEL_N];
    bool is_raw[MODEL_N], stored[MODEL_N], keep[MODEL_N];
    int pin[MODEL_N];
    blk b[MODEL_N];
} model;

static uint32_t rnd(model *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return (uint32_t)(m->rng >> 32);
}

static void model_mark(model *m, int i)
{
    if (m->keep[i]) {
        return;
    }
    m->keep[i] = true;
    if (!m->stored[i]) {
        return; /* a missing block: its links are unknown */
    }
    for (int j = 0; j < MODEL_N; j++) {
        if (m->edge[i][j]) {
            model_mark(m, j);
        }
    }
}

/* Builds nodes from the last to the first so that links point to higher indices (a DAG). */
static void model_build(model *m)
{
    for (int i = MODEL_N - 1; i >= 0; i--) {
        m->is_raw[i] = rnd(m) % 3 == 0;
        m->stored[i] = rnd(m) % 10 != 0;
        const fog_cid *links[8];
        size_t n = 0;
        for (int j = i + 1; j < MODEL_N && !m->is_raw[i] && n < 8; j++) {
            if (rnd(m) % 8 == 0) {
                m->edge[i][j] = true;
                links[n++] = &m->b[j].cid;
            }
        }
        if (m->is_raw[i]) {
            make_raw(&m->b[i], (uint32_t)i, 50 + rnd(m) % 500);
        } else {
            make_toy(&m->b[i], links, n, (uint32_t)i, FOG_MC_SHA2_256);
        }
        uint32_t p = rnd(m) % 10;
        m->pin[i] = p == 0 ? FOG_PIN_RECURSIVE : p == 1 ? FOG_PIN_DIRECT : 0;
    }
}

static void test_store_gc_matches_model(void **state)
{
    tmp_repo *t = *state;
    fog_store *s = init_open(t, FOG_STORE_EXCLUSIVE);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        model *m = calloc(1, sizeof *m);
        assert_non_null(m);
        m->rng = seed * 0x9e3779b97f4a7c15u;
        model_build(m);
        fog_store_batch *b = NULL;
        assert_int_equal(fog_store_batch_begin(s, &b), 0);
        for (int i = 0; i < MODEL_N; i++) {
            if (m->stored[i]) {
                assert_int_equal(fog_store_batch_put(b, &m->b[i].cid, m->b[i].data, m->b[i].len),
                                 0);
            }
            if (m->pin[i] != 0) {
                assert_int_equal(fog_store_batch_pin(b, &m->b[i].cid, m->pin[i]), 0);
            }
        }
        assert_int_equal(fog_store_batch_commit(b), 0);
        for (int i = 0; i < MODEL_N; i++) {
            if (m->pin[i] == FOG_PIN_RECURSIVE) {
                model_mark(m, i);
            }
        }
        for (int i = 0; i < MODEL_N; i++) {
            m->keep[i] |= m->pin[i] == FOG_PIN_DIRECT;
        }
        fog_gc_stats gs;
        assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
        uint64_t kept = 0;
        for (int i = 0; i < MODEL_N; i++) {
            int want = m->stored[i] && m->keep[i];
            assert_int_equal(fog_store_has(s, &m->b[i].cid), want);
            kept += (uint64_t)want;
        }
        assert_int_equal(gs.blocks_kept, kept);
        /* Clear the pins for the next round; gc then empties the store. */
        for (int i = 0; i < MODEL_N; i++) {
            if (m->pin[i] != 0) {
                assert_int_equal(fog_store_pin_rm(s, &m->b[i].cid), 0);
            }
        }
        assert_int_equal(fog_store_gc(s, toy_links, &gs), 0);
        assert_int_equal(gs.blocks_removed, kept);
        free(m);
    }
    fog_store_close(s);
}

/* ---- a large import: memory, size on disk, throughput ---- */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    double put_s;
    double total_s;
    uint64_t file_size;
    uint64_t file_disk;
    int rc;
} big_result;

/* Runs in the child: n MiB blocks through one batch; the put time excludes hashing. */
static big_result big_import(const char *repo, uint32_t n)
{
    big_result res = {0};
    fog_store *s = NULL;
    uint8_t *data = malloc(MIB);
    fog_store_batch *b = NULL;
    if (data == NULL || (res.rc = fog_store_open(&s, repo, FOG_STORE_WRITE)) < 0 ||
        (res.rc = fog_store_batch_begin(s, &b)) < 0) {
        res.rc = res.rc < 0 ? res.rc : FOG_ERR_NOMEM;
        fog_store_close(s);
        free(data);
        return res;
    }
    double t0 = now_s();
    fog_cid c;
    for (uint32_t i = 0; i < n && res.rc == 0; i++) {
        fill_mib(data, 5000 + i);
        res.rc = fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, MIB);
        double t1 = now_s();
        res.rc = res.rc < 0 ? res.rc : fog_store_batch_put(b, &c, data, MIB);
        res.put_s += now_s() - t1;
    }
    double t2 = now_s();
    int rc = res.rc == 0 ? fog_store_batch_pin(b, &c, FOG_PIN_DIRECT) : res.rc;
    rc = rc == 0 ? fog_store_batch_commit(b) : (fog_store_batch_abort(b), rc);
    res.put_s += now_s() - t2;
    res.total_s = now_s() - t0;
    res.rc = rc;
    fog_store_close(s);
    free(data);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/blocks/data.mdb", repo);
    if (res.rc == 0 && stat(path, &st) == 0) {
        res.file_size = (uint64_t)st.st_size;
        res.file_disk = (uint64_t)st.st_blocks * 512u;
    }
    return res;
}

static void test_store_batch_large_import(void **state)
{
    tmp_repo *t = *state;
    assert_int_equal(fog_repo_init(t->repo, NULL, 0), 0);
    const char *env = getenv("FOG_STORE_BENCH_MIB"); /* 1024 for the full figure */
    uint32_t n = env != NULL ? (uint32_t)strtoul(env, NULL, 10) : 96;
    n = n == 0 ? 96 : n;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        big_result res = big_import(t->repo, n);
        _exit(write(fds[1], &res, sizeof res) == (ssize_t)sizeof res ? 0 : 1);
    }
    close(fds[1]);
    big_result res;
    assert_int_equal(read(fds[0], &res, sizeof res), (ssize_t)sizeof res);
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(res.rc, 0);
    double content = (double)n * MIB;
    print_message("store: %u x 1 MiB through a batch: put+commit %.0f MB/s (with hashing %.0f "
                  "MB/s), data.mdb st_size %.4fx, st_blocks*512 %.4fx of content, peak RSS "
                  "%ld KiB\n",
                  n, content / res.put_s / 1e6, content / res.total_s / 1e6,
                  (double)res.file_size / content, (double)res.file_disk / content,
                  ru.ru_maxrss);
    assert_true((double)res.file_size <= 1.02 * content);
    assert_true((double)res.file_disk <= 1.02 * content);
#ifndef SANITIZED
    assert_true(ru.ru_maxrss < 32 * 1024); /* KiB */
#endif
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    fog_repo_stat st;
    assert_int_equal(fog_store_stat(s, &st), 0);
    assert_int_equal(st.blocks, n);
    assert_int_equal(st.content_bytes, (uint64_t)n * MIB);
    assert_int_equal(st.pins, 1);
    assert_true(st.repo_bytes >= st.content_bytes);
    fog_store_close(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store_init_open_close),
        T(test_store_init_twice_exists),
        T(test_store_open_missing_no_repo),
        T(test_store_lock_conflicts),
        T(test_store_read_only_rejects_writes),
        T(test_store_config_identity),
        T(test_store_config_kubo_key),
        T(test_store_put_get_has_delete_size),
        T(test_store_put_hash_mismatch),
        T(test_store_identity_cid),
        T(test_store_v0_v1_one_entry),
        T(test_store_view_lends_bytes),
        T(test_store_copy_lent),
        T(test_store_each_block_and_stat),
        T(test_store_batch_commit_persists),
        T(test_store_batch_stats_dedup),
        T(test_store_batch_abort_leaves_no_pins),
        T(test_store_pins),
        T(test_store_gc_keeps_pinned),
        T(test_store_gc_links_error_deletes_nothing),
        T(test_store_gc_walks_each_codec),
        T(test_store_gc_matches_model),
        T(test_store_batch_large_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
