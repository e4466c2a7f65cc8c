/* clock.c: the wall clock, read in one place. Cores never call it (DESIGN.md: sans-I/O); the
 * wiring does (the DHT's record validation, the daemon's and the CLI's names code) and hands the
 * time to the cores that need it, such as IPNS validity checks.
 */
#include "fog/util.h"

#include <time.h>

int64_t fog_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
