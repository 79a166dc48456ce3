/* Comparing sjtalign's statistics with values R computed (files written by
 * tests/fixtures/stats/make_fixtures.R). Shared by the test_stats_* tests. */
#ifndef SJTALIGN_STATS_FIXTURE_H
#define SJTALIGN_STATS_FIXTURE_H

#include <math.h>

#include "sjtalign/io.h"
#include "sjtalign/stats.h"

#define STATS_FIXTURES "tests/fixtures/stats/"

/* Largest relative error seen in this process (values above 1e-8 in size,
 * where a relative error means something), printed by the last test. */
static double stats_max_rel_error = 0;
static char stats_max_rel_where[256];

static inline int stats_is_ordinal(const char *name)
{
    return strncmp(name, "olr_", 4) == 0;
}

/* |got - want| <= tol |want| + 1e-9: 1e-6 relative (ordinal models 1e-5);
 * the absolute 1e-9 only matters for statistics within rounding of 0. */
static inline void stats_expect_close(double got, double want, const char *what, const char *where)
{
    double tol = stats_is_ordinal(what) ? 1e-5 : 1e-6;
    double diff = fabs(got - want);
    double rel = want != 0 ? diff / fabs(want) : diff;
    if (fabs(want) > 1e-8 && rel > stats_max_rel_error) {
        stats_max_rel_error = rel;
        snprintf(stats_max_rel_where, sizeof stats_max_rel_where, "%s %s", where, what);
    }
    if (!(diff <= tol * fabs(want) + 1e-9))
        fail_msg("%s %s: got %.17g, R %.17g (relative error %.3g)", where, what, got, want, rel);
}

/* Compares one R value (text: a number, "NA" or a class label) with the
 * JSON member of the same name. A member that is absent is accepted only
 * where R has NA (a statistic that does not apply to the item type). */
static inline void stats_expect_json(const cJSON *obj, const char *name, const char *want,
                                     const char *where)
{
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(obj, name);
    double v;
    if (strcmp(want, "NA") == 0) {
        if (got && !cJSON_IsNull(got))
            fail_msg("%s %s: R has NA, sjtalign %s", where, name, cJSON_PrintUnformatted(got));
        return;
    }
    if (!got || cJSON_IsNull(got))
        fail_msg("%s %s: R has %s, sjtalign has no value", where, name, want);
    if (sj_parse_number(want, &v) == 0) {
        if (cJSON_IsBool(got))
            assert_int_equal(cJSON_IsTrue(got), v != 0);
        else if (!cJSON_IsNumber(got))
            fail_msg("%s %s: expected a number", where, name);
        else
            stats_expect_close(got->valuedouble, v, name, where);
    } else {
        if (!cJSON_IsString(got) || strcmp(got->valuestring, want) != 0)
            fail_msg("%s %s: R has '%s', sjtalign %s", where, name, want,
                     cJSON_PrintUnformatted(got));
    }
}

static inline void stats_report_max_error(void)
{
    printf("max relative error against R (values above 1e-8): %.3g at %s\n", stats_max_rel_error,
           stats_max_rel_where[0] ? stats_max_rel_where : "-");
}

#endif
