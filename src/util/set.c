/* set.c: a set of short byte strings (at most 65535 bytes each) by open addressing with linear
 * probing, kept at most half full. The hash is FNV-1a: keys here are already cryptographic
 * digests or CIDs, so spreading them needs nothing stronger, and a peer choosing colliding keys
 * costs only probe length, never correctness.
 */
#include "fog/util.h"

#include <stdlib.h>
#include <string.h>

void fog_set_init(fog_set *s)
{
    s->slots = NULL;
    s->cap = 0;
    s->count = 0;
}

void fog_set_clear(fog_set *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i]);
    }
    free(s->slots);
    fog_set_init(s);
}

static uint64_t fnv1a(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3u;
    }
    return h;
}

static bool slot_eq(const uint8_t *slot, const uint8_t *key, size_t len)
{
    size_t n = (size_t)slot[0] << 8 | slot[1];
    return n == len && memcmp(slot + 2, key, len) == 0;
}

static size_t probe(uint8_t *const *slots, size_t cap, const uint8_t *key, size_t len)
{
    size_t i = (size_t)fnv1a(key, len) & (cap - 1);
    while (slots[i] != NULL && !slot_eq(slots[i], key, len)) {
        i = (i + 1) & (cap - 1);
    }
    return i;
}

static int grow(fog_set *s)
{
    size_t cap = s->cap == 0 ? 64 : s->cap * 2;
    uint8_t **slots = calloc(cap, sizeof *slots);
    if (slots == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        uint8_t *e = s->slots[i];
        if (e != NULL) {
            size_t n = (size_t)e[0] << 8 | e[1];
            slots[probe(slots, cap, e + 2, n)] = e;
        }
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

int fog_set_add(fog_set *s, const uint8_t *key, size_t len)
{
    if (len > 0xffff) {
        return FOG_ERR_LIMIT;
    }
    if ((s->count + 1) * 2 > s->cap) {
        int rc = grow(s);
        if (rc < 0) {
            return rc;
        }
    }
    size_t i = probe(s->slots, s->cap, key, len);
    if (s->slots[i] != NULL) {
        return 0;
    }
    uint8_t *e = malloc(len + 2);
    if (e == NULL) {
        return FOG_ERR_NOMEM;
    }
    e[0] = (uint8_t)(len >> 8);
    e[1] = (uint8_t)len;
    memcpy(e + 2, key, len);
    s->slots[i] = e;
    s->count++;
    return 1;
}

bool fog_set_has(const fog_set *s, const uint8_t *key, size_t len)
{
    if (s->cap == 0 || len > 0xffff) {
        return false;
    }
    return s->slots[probe(s->slots, s->cap, key, len)] != NULL;
}
