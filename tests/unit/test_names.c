/* test_names.c: publishing a name (fog/names.h) on a real repository: the first publication is
 * version 1 with sequence 0 and no prev; the next links the previous version and raises the
 * sequence; the same value without a message keeps the head; the record validates for the key's
 * name and carries the head link; a current record whose version node is missing or damaged is
 * refused with distinct errors; staging pins the new head and unpins the old one, and a stored
 * record never links a missing version node. Also name paths ("NAME@N/rest", "/ipns/...").
 */
#include "testlib.h"

#include <string.h>

#include "fog/crypto.h"
#include "fog/ipns.h"
#include "fog/names.h"
#include "fog/store.h"
#include "fog/version.h"

#define NOW_NS 1800000000000000000LL /* 2027-01-15 */

typedef struct {
    tl_repo r;
    fog_store *st;
    uint8_t secret[64];
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    uint8_t rkey[FOG_NAME_KEY_MAX];
    size_t rkey_len;
} fixture;

static int setup(void **state)
{
    fixture *t = calloc(1, sizeof *t);
    if (t == NULL || !tl_repo_make(&t->r, "names", true)) {
        free(t);
        return -1;
    }
    t->st = t->r.st;
    uint8_t pub[32], seed[32];
    memset(seed, 7, sizeof seed);
    fog_ed25519_from_seed(seed, pub, t->secret);
    fog_peer_id_ed25519(pub, t->id);
    t->rkey_len = fog_name_key(t->id, sizeof t->id, t->rkey);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fixture *t = *state;
    tl_repo_done(&t->r);
    free(t);
    return 0;
}

static fog_cid raw_cid(const char *text)
{
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)text,
                                strlen(text)),
                     0);
    return c;
}

/* Publishes target (with msg) over what the store holds, commits, returns the publication. */
static void publish(fixture *t, const fog_cid *target, const char *msg,
                    fog_name_publication *out)
{
    fog_buf rec = {0}, ver = {0};
    uint64_t received = 0;
    fog_ipns_record cur;
    if (fog_store_record_get(t->st, fog_slice_make(t->rkey, t->rkey_len), &received, &rec) ==
            0 &&
        fog_ipns_parse(&cur, rec.p, rec.len) == 0 && cur.has_version) {
        assert_int_equal(fog_store_get(t->st, &cur.version, &ver), 0);
    }
    fog_name_publish_in in = {.secret = t->secret, .target = *target, .size = 42, .msg = msg,
                              .now_ns = NOW_NS, .lifetime_ns = FOG_IPNS_LIFETIME_NS,
                              .ttl_ns = FOG_IPNS_TTL_NS,
                              .cur_record = fog_slice_make(rec.p, rec.len),
                              .cur_version = fog_slice_make(ver.p, ver.len)};
    assert_int_equal(fog_name_publication_make(out, &in), 0);
    fog_store_batch *b = NULL;
    assert_int_equal(fog_store_batch_begin(t->st, &b), 0);
    assert_int_equal(fog_name_publication_stage(b, out, fog_slice_make(t->rkey, t->rkey_len),
                                                true, (uint64_t)(NOW_NS / 1000000)),
                     0);
    assert_int_equal(fog_store_batch_commit(b), 0);
    fog_buf_clear(&rec);
    fog_buf_clear(&ver);
}

static int pin_kind(fixture *t, const fog_cid *c)
{
    int kind = -1;
    assert_int_equal(fog_store_pin_get(t->st, c, &kind), 0);
    return kind;
}

static void test_names_publish_chain(void **state)
{
    fixture *t = *state;
    fog_cid a = raw_cid("a"), b = raw_cid("b");
    fog_name_publication p1, p2, p3;
    publish(t, &a, "first", &p1);
    assert_int_equal(p1.n, 1);
    assert_int_equal(p1.sequence, 0);
    assert_false(p1.has_old_head);
    char want[6 + FOG_CID_STR_MAX];
    snprintf(want, sizeof want, "/ipfs/%s", fog_cid_str(&a));
    assert_string_equal(p1.value, want);

    /* The record validates for the name and links the version node, which holds the target. */
    fog_ipns_record rec;
    assert_int_equal(fog_ipns_parse(&rec, p1.record.p, p1.record.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, t->id, sizeof t->id,
                                       fog_ipns_time_from_ns(NOW_NS + 1000)),
                     0);
    assert_true(rec.has_version && fog_cid_eq(&rec.version, &p1.head));
    fog_version v;
    assert_int_equal(fog_version_decode(&v, p1.version_block.p, p1.version_block.len), 0);
    assert_true(fog_cid_eq(&v.root, &a) && !v.has_prev && v.size == 42);
    assert_int_equal(v.time, (uint64_t)(NOW_NS / 1000000000LL));
    assert_int_equal(pin_kind(t, &p1.head), FOG_PIN_RECURSIVE);

    publish(t, &b, NULL, &p2);
    assert_int_equal(p2.n, 2);
    assert_int_equal(p2.sequence, 1);
    assert_true(p2.has_old_head && fog_cid_eq(&p2.old_head, &p1.head));
    assert_int_equal(fog_version_decode(&v, p2.version_block.p, p2.version_block.len), 0);
    assert_true(v.has_prev && fog_cid_eq(&v.prev, &p1.head) && fog_cid_eq(&v.root, &b));
    assert_int_equal(pin_kind(t, &p2.head), FOG_PIN_RECURSIVE);
    assert_int_equal(pin_kind(t, &p1.head), 0); /* the newer head's pin covers it */
    assert_int_equal(fog_store_has(t->st, &p1.head), 1);

    /* Same value, no message: the record is renewed, the history does not grow. */
    publish(t, &b, NULL, &p3);
    assert_int_equal(p3.sequence, 2);
    assert_int_equal(p3.n, 2);
    assert_true(fog_cid_eq(&p3.head, &p2.head));
    assert_int_equal(p3.version_block.len, 0);
    assert_int_equal(pin_kind(t, &p2.head), FOG_PIN_RECURSIVE);
    fog_name_publication_clear(&p1);
    fog_name_publication_clear(&p2);
    fog_name_publication_clear(&p3);
    /* A message makes a version even for the same value. */
    publish(t, &b, "again", &p1);
    assert_int_equal(p1.n, 3);
    fog_name_publication_clear(&p1);
}

static void test_names_current_version_problems(void **state)
{
    fixture *t = *state;
    fog_cid a = raw_cid("a");
    fog_name_publication p1, p2;
    publish(t, &a, NULL, &p1);
    fog_name_publish_in in = {.secret = t->secret, .target = a, .now_ns = NOW_NS,
                              .lifetime_ns = FOG_IPNS_LIFETIME_NS, .ttl_ns = FOG_IPNS_TTL_NS,
                              .cur_record = fog_slice_make(p1.record.p, p1.record.len)};
    assert_int_equal(fog_name_publication_make(&p2, &in), FOG_ERR_NOT_FOUND);
    fog_name_publication_clear(&p2);
    uint8_t damaged[256];
    assert_true(p1.version_block.len <= sizeof damaged);
    memcpy(damaged, p1.version_block.p, p1.version_block.len);
    damaged[p1.version_block.len - 1] ^= 1;
    in.cur_version = fog_slice_make(damaged, p1.version_block.len);
    assert_int_equal(fog_name_publication_make(&p2, &in), FOG_ERR_PROTO);
    fog_name_publication_clear(&p2);
    /* An unreadable current record starts over (sequence 0, version 1). */
    in.cur_record = fog_slice_make("junk", 4);
    in.cur_version = fog_slice_make(NULL, 0);
    assert_int_equal(fog_name_publication_make(&p2, &in), 0);
    assert_int_equal(p2.n, 1);
    assert_int_equal(p2.sequence, 0);
    fog_name_publication_clear(&p2);
    fog_name_publication_clear(&p1);
}

static void test_names_paths(void **state)
{
    (void)state;
    fog_name_path np;
    assert_true(fog_name_path_is("docs@2/a/b"));
    assert_true(fog_name_path_is("/ipns/k51abc"));
    assert_false(fog_name_path_is("bafyabc/dir@x"));
    assert_false(fog_name_path_is("/ipfs/bafyabc"));
    assert_int_equal(fog_name_path_parse("docs@12/a/b", &np), 0);
    assert_string_equal(np.name, "docs");
    assert_true(np.has_version);
    assert_int_equal(np.version, 12);
    assert_string_equal(np.rest, "/a/b");
    assert_int_equal(fog_name_path_parse("/ipns/k51xyz", &np), 0);
    assert_string_equal(np.name, "k51xyz");
    assert_false(np.has_version);
    assert_string_equal(np.rest, "");
    assert_int_equal(fog_name_path_parse("/ipns/k51xyz@3", &np), 0);
    assert_int_equal(np.version, 3);
    assert_int_equal(fog_name_path_parse("docs@0", &np), FOG_ERR_INVALID);
    assert_int_equal(fog_name_path_parse("docs@", &np), FOG_ERR_INVALID);
    assert_int_equal(fog_name_path_parse("docs@1x/a", &np), FOG_ERR_INVALID);
    assert_int_equal(fog_name_path_parse("@1", &np), FOG_ERR_INVALID);
    assert_int_equal(fog_name_path_parse("/ipns/", &np), FOG_ERR_INVALID);
    assert_int_equal(fog_name_path_parse("d@99999999999999999999999", &np), FOG_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_publish_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_current_version_problems, setup, teardown),
        cmocka_unit_test(test_names_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
