/* fuzz_multibase.c: the multibase decoder on arbitrary input (libFuzzer).
 * Whatever decodes must encode again with the same base and decode to the same bytes. For the
 * case-sensitive bases whose decoders are strict (base58btc, base64, base64url) the re-encoded
 * string must also equal the input: those decoders accept only canonical text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"
#include "fuzzlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t cap = size + 1;
    size_t text_cap = 2 * size + 8;
    uint8_t *out = malloc(cap);
    uint8_t *again = malloc(cap);
    char *text = malloc(text_cap);
    int base = 0;
    int n = -1;
    if (out != NULL && again != NULL && text != NULL) {
        n = fog_multibase_decode(in, size, out, cap, &base);
    }
    if (n >= 0) {
        CHECK((size_t)n <= size);
        int tn = fog_multibase_encode(base, out, (size_t)n, text, text_cap);
        CHECK(tn > 0 && (size_t)tn == strlen(text) && text[0] == (char)base);
        int base2 = 0;
        int n2 = fog_multibase_decode(text, (size_t)tn, again, cap, &base2);
        CHECK(n2 == n && base2 == base);
        CHECK(n == 0 || memcmp(out, again, (size_t)n) == 0);
        if (base == 'z' || base == 'm' || base == 'u') {
            CHECK((size_t)tn == size && memcmp(text, in, size) == 0);
        }
    }
    free(out);
    free(again);
    free(text);
    return 0;
}
