/* test_keystore.c: a repository's named keys (src/store/keystore.c) on a real repository in a
 * temporary directory: make, read back, list order, remove, rename, names, file modes, and the
 * passphrase-sealed export round trip with a wrong passphrase, a damaged file and bad limits.
 */
#include "testlib.h"

#include <string.h>
#include <sys/stat.h>

#include "fog/crypto.h"
#include "fog/keystore.h"
#include "fog/mf.h"
#include "fog/store.h"

typedef tl_repo tmp_repo;

/* The key's secret signs, and its ID is the peer ID of its public half. */
static void check_key(const fog_key *k)
{
    uint8_t sig[64], id[38];
    fog_ed25519_sign(k->secret, (const uint8_t *)"m", 1, sig);
    assert_int_equal(fog_ed25519_verify(k->secret + 32, (const uint8_t *)"m", 1, sig), 0);
    fog_peer_id_ed25519(k->secret + 32, id);
    assert_memory_equal(id, k->id, sizeof id);
}

static void test_keystore_gen_get_list(void **state)
{
    tmp_repo *t = *state;
    fog_key a, b, got;
    assert_int_equal(fog_key_gen(t->repo, "zeta", &a), 0);
    assert_int_equal(fog_key_gen(t->repo, "alpha-key", &b), 0);
    check_key(&a);
    assert_memory_not_equal(a.secret, b.secret, 64);
    assert_int_equal(fog_key_gen(t->repo, "zeta", &got), FOG_ERR_EXISTS);
    assert_int_equal(fog_key_get(t->repo, "zeta", &got), 0);
    assert_memory_equal(got.secret, a.secret, 64);
    assert_int_equal(fog_key_get(t->repo, "nope", &got), FOG_ERR_NOT_FOUND);
    /* self is the identity: the config's peer ID */
    fog_store *s = NULL;
    assert_int_equal(fog_store_open(&s, t->repo, FOG_STORE_READ), 0);
    char self_id[64];
    assert_int_equal(fog_key_get(t->repo, "self", &got), 0);
    assert_true(fog_peer_id_format(got.id, sizeof got.id, self_id, sizeof self_id) > 0);
    assert_string_equal(self_id, fog_store_peer_id(s));
    fog_store_close(s);
    fog_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(fog_key_list(t->repo, &keys, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(keys[0].name, "self");
    assert_string_equal(keys[1].name, "alpha-key");
    assert_string_equal(keys[2].name, "zeta");
    fog_key_list_free(keys, n);
    /* owner-only files */
    struct stat st;
    char ks[256];
    snprintf(ks, sizeof ks, "%s/keystore", t->repo);
    assert_int_equal(stat(ks, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_keystore_names(void **state)
{
    tmp_repo *t = *state;
    fog_key k;
    char long_name[FOG_KEY_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(fog_key_gen(t->repo, "self", &k), FOG_ERR_INVALID);
    assert_int_equal(fog_key_gen(t->repo, "", &k), FOG_ERR_INVALID);
    assert_int_equal(fog_key_gen(t->repo, "a/b", &k), FOG_ERR_INVALID);
    assert_int_equal(fog_key_gen(t->repo, "tab\there", &k), FOG_ERR_INVALID);
    assert_int_equal(fog_key_gen(t->repo, "a space", &k), FOG_ERR_INVALID);
    assert_int_equal(fog_key_gen(t->repo, long_name, &k), FOG_ERR_INVALID);
    long_name[FOG_KEY_NAME_MAX] = '\0';
    assert_int_equal(fog_key_gen(t->repo, long_name, &k), 0);
    assert_int_equal(fog_key_rm(t->repo, "self"), FOG_ERR_INVALID);
}

static void test_keystore_rm_rename(void **state)
{
    tmp_repo *t = *state;
    fog_key a, b, got;
    assert_int_equal(fog_key_gen(t->repo, "a", &a), 0);
    assert_int_equal(fog_key_gen(t->repo, "b", &b), 0);
    assert_int_equal(fog_key_rename(t->repo, "a", "b", false), FOG_ERR_EXISTS);
    assert_int_equal(fog_key_rename(t->repo, "a", "self", false), FOG_ERR_INVALID);
    assert_int_equal(fog_key_rename(t->repo, "missing", "c", false), FOG_ERR_NOT_FOUND);
    assert_int_equal(fog_key_rename(t->repo, "a", "c", false), 0);
    assert_int_equal(fog_key_get(t->repo, "a", &got), FOG_ERR_NOT_FOUND);
    assert_int_equal(fog_key_get(t->repo, "c", &got), 0);
    assert_memory_equal(got.secret, a.secret, 64);
    assert_int_equal(fog_key_rename(t->repo, "c", "b", true), 0); /* replaces b */
    assert_int_equal(fog_key_get(t->repo, "b", &got), 0);
    assert_memory_equal(got.secret, a.secret, 64);
    assert_int_equal(fog_key_rm(t->repo, "b"), 0);
    assert_int_equal(fog_key_rm(t->repo, "b"), FOG_ERR_NOT_FOUND);
    fog_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(fog_key_list(t->repo, &keys, &n), 0);
    assert_int_equal(n, 1); /* self */
    fog_key_list_free(keys, n);
}

static void test_keystore_export_import(void **state)
{
    tmp_repo *t = *state;
    fog_key a, got;
    uint8_t file[FOG_KEY_EXPORT_LEN], again[FOG_KEY_EXPORT_LEN];
    assert_int_equal(fog_key_gen(t->repo, "a", &a), 0);
    assert_int_equal(fog_key_export(t->repo, "a", "pw", 2, file), 0);
    assert_int_equal(fog_key_export(t->repo, "a", "pw", 2, again), 0);
    assert_memory_not_equal(file, again, sizeof file); /* fresh salt and nonce */
    for (size_t i = 0; i + 32 <= sizeof file; i++) { /* the seed is not in clear */
        assert_memory_not_equal(file + i, a.secret, 32);
    }
    assert_int_equal(fog_key_import(t->repo, "b", file, sizeof file, "px", 2, &got),
                     FOG_ERR_AUTH);
    assert_int_equal(fog_key_import(t->repo, "a", file, sizeof file, "pw", 2, &got),
                     FOG_ERR_EXISTS);
    assert_int_equal(fog_key_import(t->repo, "b", file, sizeof file - 1, "pw", 2, &got),
                     FOG_ERR_PROTO);
    uint8_t bad[FOG_KEY_EXPORT_LEN];
    memcpy(bad, file, sizeof bad);
    bad[sizeof bad - 20] ^= 1; /* a flipped bit of the sealed key */
    assert_int_equal(fog_key_import(t->repo, "b", bad, sizeof bad, "pw", 2, &got), FOG_ERR_AUTH);
    memcpy(bad, file, sizeof bad);
    bad[12] = 0xff; /* a memory limit of terabytes: refused before any work */
    assert_int_equal(fog_key_import(t->repo, "b", bad, sizeof bad, "pw", 2, &got), FOG_ERR_PROTO);
    memcpy(bad, file, sizeof bad);
    bad[0] = 'X';
    assert_int_equal(fog_key_import(t->repo, "b", bad, sizeof bad, "pw", 2, &got), FOG_ERR_PROTO);
    assert_int_equal(fog_key_import(t->repo, "b", file, sizeof file, "pw", 2, &got), 0);
    assert_memory_equal(got.secret, a.secret, 64);
    assert_int_equal(fog_key_get(t->repo, "b", &got), 0);
    assert_memory_equal(got.secret, a.secret, 64);
    check_key(&got);
    /* self can be exported (and imported under another name) */
    assert_int_equal(fog_key_export(t->repo, "self", "", 0, file), 0);
    assert_int_equal(fog_key_import(t->repo, "me", file, sizeof file, "", 0, &got), 0);
    fog_key self;
    assert_int_equal(fog_key_get(t->repo, "self", &self), 0);
    assert_memory_equal(got.secret, self.secret, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keystore_gen_get_list, tl_repo_setup_closed,
                                        tl_repo_teardown),
        cmocka_unit_test_setup_teardown(test_keystore_names, tl_repo_setup_closed,
                                        tl_repo_teardown),
        cmocka_unit_test_setup_teardown(test_keystore_rm_rename, tl_repo_setup_closed,
                                        tl_repo_teardown),
        cmocka_unit_test_setup_teardown(test_keystore_export_import, tl_repo_setup_closed,
                                        tl_repo_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
