/* htab.c: the intrusive chained hash table of src/bitswap (ledgers, wants, peers), keyed by byte
 * strings (binary CIDs, peer IDs). FNV-1a 64 over the key; the table doubles when the load
 * reaches 1, so a lookup costs one hash and about one key comparison. Records own their memory;
 * the table owns only its slot array.
 */
#include "bitswap/internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_key(const uint8_t *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ key[i]) * 0x100000001b3u;
    }
    return h;
}

bs_hnode *fog__bs_htab_find(const bs_htab *t, const uint8_t *key, size_t len)
{
    if (t->cap == 0) {
        return NULL;
    }
    uint64_t h = hash_key(key, len);
    for (bs_hnode *n = t->slots[h & (t->cap - 1)]; n != NULL; n = n->next) {
        if (n->hash == h && n->key_len == len && memcmp(n->key, key, len) == 0) {
            return n;
        }
    }
    return NULL;
}

static int grow(bs_htab *t)
{
    size_t cap = t->cap == 0 ? 16 : t->cap * 2;
    bs_hnode **slots = calloc(cap, sizeof *slots);
    if (slots == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        bs_hnode *n = t->slots[i];
        while (n != NULL) {
            bs_hnode *next = n->next;
            n->next = slots[n->hash & (cap - 1)];
            slots[n->hash & (cap - 1)] = n;
            n = next;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

int fog__bs_htab_add(bs_htab *t, bs_hnode *n, const uint8_t *key, size_t len)
{
    if (t->count >= t->cap) {
        int rc = grow(t);
        if (rc < 0) {
            return rc;
        }
    }
    n->hash = hash_key(key, len);
    n->key = key;
    n->key_len = len;
    bs_hnode **slot = &t->slots[n->hash & (t->cap - 1)];
    n->next = *slot;
    *slot = n;
    t->count++;
    return 0;
}

void fog__bs_htab_del(bs_htab *t, bs_hnode *n)
{
    bs_hnode **p = &t->slots[n->hash & (t->cap - 1)];
    while (*p != NULL && *p != n) {
        p = &(*p)->next;
    }
    if (*p == n) {
        *p = n->next;
        n->next = NULL;
        t->count--;
    }
}

void fog__bs_htab_clear(bs_htab *t)
{
    free(t->slots);
    memset(t, 0, sizeof *t);
}
