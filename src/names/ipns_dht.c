/* ipns_dht.c: the IPNS validator in the shape the DHT's value records take (fog/dht.h
 * fog_dht_validator, namespace "ipns"): validation at the wall-clock time the DHT's wiring
 * passes in, selection by boxo's rules. No code of this layer reads a clock.
 */
#include "fog/ipns.h"

static int dht_validate(void *ud, fog_slice key, fog_slice value, uint64_t now_ms)
{
    (void)ud;
    fog_ipns_time now = {.sec = (int64_t)(now_ms / 1000u),
                         .nsec = (uint32_t)(now_ms % 1000u) * 1000000u};
    return fog_ipns_dht_validate(key.p, key.len, value.p, value.len, now);
}

/* Values reach select only after validate accepted them, so a parse failure cannot happen;
 * should it anyway, the first value stands. */
static size_t dht_select(void *ud, fog_slice key, const fog_slice *values, size_t n)
{
    (void)ud;
    size_t best = 0;
    return fog_ipns_dht_select(key.p, key.len, values, n, &best) == 0 ? best : 0;
}

fog_dht_validator fog_ipns_dht_validator(void)
{
    return (fog_dht_validator){.ns = "ipns", .validate = dht_validate, .select = dht_select};
}
