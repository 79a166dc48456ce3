/* Seeded random numbers through GSL. */
#include "sjtalign/util.h"

#include <string.h>

gsl_rng *sj_rng_new(uint64_t seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        return NULL;
    /* MT19937 takes an unsigned long; fold the high half in so seeds that
     * differ only above bit 32 still give different streams. */
    unsigned long folded = (unsigned long)(seed ^ (seed >> 32));
    gsl_rng_set(rng, folded);
    return rng;
}

uint64_t sj_seed_derive(uint64_t seed, const char *component)
{
    /* FNV-1a over the component name, mixed with the seed by SplitMix64's
     * finaliser: cheap, deterministic and well spread. */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *)component; *c; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (h | 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sj_rng_free(gsl_rng *rng)
{
    if (rng)
        gsl_rng_free(rng);
}
