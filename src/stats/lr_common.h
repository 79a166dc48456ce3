/* Pieces shared by the binary and the ordinal logistic DIF models (private
 * to the stats module). */
#ifndef SJ_STATS_LR_COMMON_H
#define SJ_STATS_LR_COMMON_H

#include "sjtalign/stats.h"

#include "newton.h"

/* The matching score is centred and scaled before fitting (the models span
 * the same space, so likelihoods are unchanged) to keep Newton's systems
 * well conditioned. */
typedef struct {
    double mean, sd;
} sj_score_scale;

sj_score_scale sj_lr_score_scale(const sj_dif_counts *c);

/* The predictors of one cell (stratum k, group g: 0 reference, 1 focal)
 * in both models: x = (s, g, s*g) with s the scaled matching score. */
void sj_lr_design_row(double x[3], const sj_dif_counts *c, sj_score_scale sc, size_t k, int g);

/* Coefficient whose size (per SD of the matching score, or for the group)
 * can only come from separated data: an odds ratio beyond e^30. */
#define SJ_LR_SEPARATION_BETA 30.0
#define SJ_LR_MAX_ITER 200

/* Records model m's fit: converged/separated flags, log-likelihood and the
 * slopes (s, g, s:g on the scaled score) mapped back to the raw score. */
void sj_lr_record_fit(sj_lr_dif *out, int m, const sj_newton_result *fit, const double *slopes,
                      size_t n_slopes, sj_score_scale sc);
/* From ll_null and ll[] (NaN for failed fits): LR statistics, p-values,
 * Nagelkerke and McFadden R2 per model and their changes; sets `note`. */
void sj_lr_finish(sj_lr_dif *out, double n);

#endif
