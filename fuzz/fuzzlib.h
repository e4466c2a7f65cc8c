/* fuzzlib.h: what every libFuzzer target here repeats (header-only).
 * CHECK states a property the target proves on each input: when it does not hold the process
 * aborts, which libFuzzer reports as a crash and keeps as a reproducer. The prototype of the
 * entry point is declared here so that -Wmissing-prototypes stays quiet in each target.
 */
#ifndef FOG_FUZZLIB_H
#define FOG_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
