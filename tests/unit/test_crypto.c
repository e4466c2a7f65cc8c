/* test_crypto.c: the crypto wrappers against published values: SHA-256 and SHA-512 of "abc"
 * (FIPS 180-2 examples), BLAKE2b-256 of "abc" (as b2sum -l 256 prints it), incremental hashing
 * equal to one-shot, Ed25519 signatures (RFC 8032 test 1: empty message), and ChaCha20-Poly1305
 * (libcrypto) against RFC 8439 section 2.8.2's tag and against libsodium's independent
 * implementation for every length class Noise uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "fog/crypto.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
    assert_int_equal(fog_hex_decode(s, strlen(s), out, n), (int)n);
}

static void test_crypto_hashes(void **state)
{
    (void)state;
    uint8_t want[64], got[64];
    const uint8_t abc[] = {'a', 'b', 'c'};
    fog_sha256(abc, 3, got);
    unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(got, want, 32);
    fog_sha512(abc, 3, got);
    unhex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
          want, 64);
    assert_memory_equal(got, want, 64);
    fog_blake2b_256(abc, 3, got);
    unhex("bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319", want, 32);
    assert_memory_equal(got, want, 32);
}

static void test_crypto_sha256_incremental(void **state)
{
    (void)state;
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    uint8_t one[32], parts[32];
    fog_sha256(data, sizeof data, one);
    fog_sha256_ctx c;
    fog_sha256_begin(&c);
    fog_sha256_update(&c, data, 1);
    fog_sha256_update(&c, data + 1, 500);
    fog_sha256_update(&c, data + 501, sizeof data - 501);
    fog_sha256_end(&c, parts);
    assert_memory_equal(one, parts, 32);
}

static void test_crypto_ed25519(void **state)
{
    (void)state;
    uint8_t seed[32], pub[32], secret[64], sig[64], want[64];
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    fog_ed25519_from_seed(seed, pub, secret);
    unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", want, 32);
    assert_memory_equal(pub, want, 32);
    fog_ed25519_sign(secret, NULL, 0, sig);
    unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
          want, 64);
    assert_memory_equal(sig, want, 64);
    assert_int_equal(fog_ed25519_verify(pub, NULL, 0, sig), 0);
    sig[10] ^= 1;
    assert_int_equal(fog_ed25519_verify(pub, NULL, 0, sig), FOG_ERR_AUTH);
    uint8_t pub2[32], secret2[64];
    fog_ed25519_keypair(pub2, secret2);
    const uint8_t msg[] = "fog";
    fog_ed25519_sign(secret2, msg, 3, sig);
    assert_int_equal(fog_ed25519_verify(pub2, msg, 3, sig), 0);
    assert_int_equal(fog_ed25519_verify(pub, msg, 3, sig), FOG_ERR_AUTH);
    fog_memzero(secret2, sizeof secret2);
    for (size_t i = 0; i < sizeof secret2; i++) {
        assert_int_equal(secret2[i], 0);
    }
}

static int setup(void **state)
{
    (void)state;
    return fog_crypto_init();
}

static void test_crypto_chachapoly_rfc8439(void **state)
{
    (void)state;
    static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                             "one tip for the future, sunscreen would be it.";
    size_t len = sizeof pt - 1; /* 114 bytes */
    uint8_t key[32], nonce[12], ad[12], tag[16], out[sizeof pt + 16], back[sizeof pt];
    for (size_t i = 0; i < 32; i++) {
        key[i] = (uint8_t)(0x80 + i);
    }
    unhex("070000004041424344454647", nonce, sizeof nonce);
    unhex("50515253c0c1c2c3c4c5c6c7", ad, sizeof ad);
    unhex("1ae10b594f09e26a7e902ecbd0600691", tag, sizeof tag);
    assert_int_equal(fog_chachapoly_seal(key, nonce, ad, sizeof ad, (const uint8_t *)pt, len, out),
                     0);
    assert_memory_equal(out + len, tag, sizeof tag);
    static const uint8_t ct_start[4] = {0xd3, 0x1a, 0x8d, 0x34};
    assert_memory_equal(out, ct_start, sizeof ct_start);
    assert_int_equal(fog_chachapoly_open(key, nonce, ad, sizeof ad, out, len + 16, back), 0);
    assert_memory_equal(back, pt, len);
    out[len + 3] ^= 1; /* a tag bit */
    assert_int_equal(fog_chachapoly_open(key, nonce, ad, sizeof ad, out, len + 16, back),
                     FOG_ERR_AUTH);
    out[len + 3] ^= 1;
    out[0] ^= 0x80; /* a ciphertext bit */
    assert_int_equal(fog_chachapoly_open(key, nonce, ad, sizeof ad, out, len + 16, back),
                     FOG_ERR_AUTH);
    assert_int_equal(fog_chachapoly_open(key, nonce, ad, sizeof ad, out, 15, back), FOG_ERR_PROTO);
}

static void test_crypto_chachapoly_matches_libsodium(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 1024, 65519};
    static uint8_t pt[65519], a[65535], b[65535];
    uint8_t key[32], nonce[12], ad[32];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        fog_random_bytes(pt, len);
        fog_random_bytes(key, sizeof key);
        fog_random_bytes(nonce, sizeof nonce);
        fog_random_bytes(ad, sizeof ad);
        size_t ad_len = i % 2 ? sizeof ad : 0;
        assert_int_equal(fog_chachapoly_seal(key, nonce, ad, ad_len, pt, len, a), 0);
        crypto_aead_chacha20poly1305_ietf_encrypt(b, NULL, pt, len, ad, ad_len, NULL, nonce, key);
        assert_memory_equal(a, b, len + 16);
        /* In place, as Noise decrypts. */
        assert_int_equal(fog_chachapoly_open(key, nonce, ad, ad_len, a, len + 16, a), 0);
        assert_memory_equal(a, pt, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crypto_hashes),
        cmocka_unit_test(test_crypto_sha256_incremental),
        cmocka_unit_test(test_crypto_ed25519),
        cmocka_unit_test(test_crypto_chachapoly_rfc8439),
        cmocka_unit_test(test_crypto_chachapoly_matches_libsodium),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
