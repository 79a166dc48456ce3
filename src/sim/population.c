/* Settings, persons (θ and groups), item parameters and the graded response
 * model: everything the fast path needs, with no text. */
#include "sjtalign/sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

void sj_sim_config_defaults(sj_sim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n_persons = 2000;
    cfg->n_items = 8;
    cfg->focal_share = 0.3;
    cfg->impact = 0.0;
    cfg->rater_noise = 0.1;
    cfg->n_raters = 1;
    cfg->seed = 1;
}

static void free_bias(sj_sim_config *cfg)
{
    for (size_t i = 0; i < cfg->n_bias; i++)
        free(cfg->bias[i].item);
    free(cfg->bias);
    cfg->bias = NULL;
    cfg->n_bias = 0;
}

void sj_sim_config_free(sj_sim_config *cfg)
{
    free_bias(cfg);
}

static sj_status bias_size_check(const char *item, double size, sj_error *err)
{
    if (!(size >= 0.0 && size <= 1.0))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--bias: SIZE for item %s must be a probability between 0 and 1, "
                            "got %g",
                            item, size);
    return SJ_OK;
}

/* One "ITEM:SIZE" entry (entry is a writable copy). */
static sj_status parse_bias_entry(char *entry, sj_sim_bias *out, sj_error *err)
{
    char *colon = strrchr(entry, ':');
    if (!colon || colon == entry || colon[1] == '\0')
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--bias: expected ITEM:SIZE (for example S03:0.6), got '%s'", entry);
    *colon = '\0';
    double size;
    if (sj_parse_number(colon + 1, &size) != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--bias: SIZE for item %s must be a number, got '%s'", entry,
                            colon + 1);
    if (bias_size_check(entry, size, err) != SJ_OK)
        return SJ_ERR_INPUT;
    out->item = sj_strdup(entry);
    out->size = size;
    return out->item ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
}

sj_status sj_sim_parse_bias(const char *spec, sj_sim_config *cfg, sj_error *err)
{
    free_bias(cfg);
    if (!spec || !*spec)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--bias: expected ITEM:SIZE[,ITEM:SIZE...], got an empty value");
    size_t n = 1;
    for (const char *c = spec; *c; c++)
        n += *c == ',';
    char *copy = sj_strdup(spec);
    cfg->bias = sj_calloc(n, sizeof *cfg->bias);
    if (!copy || !cfg->bias) {
        free(copy);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    sj_status st = SJ_OK;
    char *entry = copy;
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        char *comma = strchr(entry, ',');
        if (comma)
            *comma = '\0';
        st = parse_bias_entry(entry, &cfg->bias[i], err);
        if (st == SJ_OK)
            cfg->n_bias = i + 1;
        entry = comma ? comma + 1 : entry + strlen(entry);
    }
    free(copy);
    if (st != SJ_OK)
        free_bias(cfg);
    return st;
}

static long bias_item_index(const sj_sim_config *cfg, const char *item)
{
    for (size_t k = 0; k < cfg->n_items; k++) {
        char id[32];
        sj_sim_item_id(k, id, sizeof id);
        if (strcmp(id, item) == 0)
            return (long)k;
    }
    return -1;
}

sj_status sj_sim_config_check(const sj_sim_config *cfg, sj_error *err)
{
    if (cfg->n_persons == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "--persons must be at least 1, got 0");
    if (cfg->n_items == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "--items must be at least 1, got 0");
    if (cfg->n_persons > SJ_SIM_MAX_CELLS / cfg->n_items)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--persons × --items must be at most %lu responses, got %zu × %zu",
                            SJ_SIM_MAX_CELLS, cfg->n_persons, cfg->n_items);
    if (!(cfg->focal_share > 0.0 && cfg->focal_share < 1.0))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--focal-share must lie strictly between 0 and 1 (the share of "
                            "persons in the focal group), got %g",
                            cfg->focal_share);
    if (!isfinite(cfg->impact) || fabs(cfg->impact) > 10.0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--impact must be a number between -10 and 10 (focal mean of θ is "
                            "-D), got %g",
                            cfg->impact);
    if (!(cfg->rater_noise >= 0.0 && cfg->rater_noise <= 1.0))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--rater-noise must be a probability between 0 and 1, got %g",
                            cfg->rater_noise);
    if (cfg->n_raters < 1 || cfg->n_raters > SJ_SIM_MAX_RATERS)
        return sj_error_set(err, SJ_ERR_INPUT, "--raters must be between 1 and %d, got %zu",
                            SJ_SIM_MAX_RATERS, cfg->n_raters);
    for (size_t i = 0; i < cfg->n_bias; i++) {
        const sj_sim_bias *b = &cfg->bias[i];
        if (bias_item_index(cfg, b->item) < 0) {
            char last[32];
            sj_sim_item_id(cfg->n_items - 1, last, sizeof last);
            return sj_error_set(err, SJ_ERR_INPUT,
                                "--bias: unknown item '%s' (the %zu simulated items are S01..%s)",
                                b->item, cfg->n_items, last);
        }
        if (bias_size_check(b->item, b->size, err) != SJ_OK)
            return SJ_ERR_INPUT;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->bias[j].item, b->item) == 0)
                return sj_error_set(err, SJ_ERR_INPUT, "--bias: item %s is listed twice", b->item);
    }
    return SJ_OK;
}

/* ---- graded response model ---------------------------------------------- */

static double at_least(const sj_sim_grm *item, double theta, int k)
{
    if (k <= SJ_SIM_SCORE_MIN)
        return 1.0;
    if (k > SJ_SIM_SCORE_MAX)
        return 0.0;
    double z = item->a * (theta - item->b[k - SJ_SIM_SCORE_MIN - 1]);
    return 1.0 / (1.0 + exp(-z));
}

double sj_sim_grm_prob(const sj_sim_grm *item, double theta, int k)
{
    if (k < SJ_SIM_SCORE_MIN || k > SJ_SIM_SCORE_MAX)
        return 0.0;
    return at_least(item, theta, k) - at_least(item, theta, k + 1);
}

int sj_sim_grm_draw(const sj_sim_grm *item, double theta, double u)
{
    int score = SJ_SIM_SCORE_MIN;
    for (int k = SJ_SIM_SCORE_MIN + 1; k <= SJ_SIM_SCORE_MAX; k++)
        score += u < at_least(item, theta, k);
    return score;
}

/* Divides by a power of ten (exact as a double) so the result is the double
 * nearest the decimal, which prints back as that short decimal. */
static double round_to(double x, double scale)
{
    return round(x * scale) / scale;
}

/* Discrimination in [1.2, 2.0]; thresholds spread around a location in
 * [-0.5, 0.5] with gaps of at least 1, so they are always ordered. Rounded
 * to 3 decimals so simulation.json shows exactly the values used. */
static void draw_item_parameters(gsl_rng *rng, sj_sim_grm *grm, size_t n_items)
{
    static const double offset[SJ_SIM_LEVELS - 1] = {-1.4, -0.1, 1.2};
    for (size_t k = 0; k < n_items; k++) {
        grm[k].a = round_to(1.2 + 0.8 * gsl_rng_uniform(rng), 1e3);
        double location = -0.5 + gsl_rng_uniform(rng);
        for (int j = 0; j < SJ_SIM_LEVELS - 1; j++)
            grm[k].b[j] = round_to(location + offset[j] + 0.3 * (gsl_rng_uniform(rng) - 0.5), 1e3);
    }
}

static int assign_groups(gsl_rng *rng, unsigned char *focal, size_t n, double share)
{
    size_t *order = sj_calloc(n, sizeof *order);
    if (!order)
        return -1;
    size_t n_focal = (size_t)llround(share * (double)n);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    gsl_ran_shuffle(rng, order, n, sizeof *order);
    for (size_t i = 0; i < n_focal; i++)
        focal[order[i]] = 1;
    free(order);
    return 0;
}

static void draw_thetas(gsl_rng *rng, double *theta, const unsigned char *focal, size_t n,
                        double impact)
{
    for (size_t i = 0; i < n; i++) {
        double z = gsl_ran_ugaussian(rng);
        theta[i] = round_to((focal[i] ? -impact : 0.0) + z, 1e4);
    }
}

static sj_sim_data *data_alloc(size_t n_persons, size_t n_items, size_t n_raters)
{
    sj_sim_data *d = sj_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    size_t cells = n_persons * n_items;
    d->n_persons = n_persons;
    d->n_items = n_items;
    d->theta = sj_calloc(n_persons, sizeof *d->theta);
    d->focal = sj_calloc(n_persons, sizeof *d->focal);
    d->grm = sj_calloc(n_items, sizeof *d->grm);
    d->bias_size = sj_calloc(n_items, sizeof *d->bias_size);
    d->true_score = sj_calloc(cells, sizeof *d->true_score);
    d->human_score = sj_calloc(cells, sizeof *d->human_score);
    d->n_raters = n_raters;
    if (n_raters > 1)
        d->more_raters = sj_calloc((n_raters - 1) * cells, sizeof *d->more_raters);
    if (!d->theta || !d->focal || !d->grm || !d->bias_size || !d->true_score || !d->human_score ||
        (n_raters > 1 && !d->more_raters)) {
        sj_sim_data_free(d);
        return NULL;
    }
    return d;
}

int sj_sim_rater_score(const sj_sim_data *d, size_t k, size_t c)
{
    if (k <= 1)
        return d->human_score[c];
    return d->more_raters[(k - 2) * d->n_persons * d->n_items + c];
}

/* One rater's scores of every cell, from the rater's own stream: three
 * uniforms per cell in cell order, whatever the scores turn out to be, so
 * rater 1 stays the single rater of earlier versions. */
static int rate_all(sj_sim_data *d, const sj_sim_config *cfg, size_t k, int *out)
{
    char stream[32];
    if (k == 1)
        snprintf(stream, sizeof stream, "sim/rater");
    else
        snprintf(stream, sizeof stream, "sim/rater/%zu", k);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(cfg->seed, stream));
    if (!rng)
        return -1;
    for (size_t p = 0; p < d->n_persons; p++) {
        for (size_t i = 0; i < d->n_items; i++) {
            size_t c = p * d->n_items + i;
            double u_noise = gsl_rng_uniform(rng);
            double u_dir = gsl_rng_uniform(rng);
            double u_bias = gsl_rng_uniform(rng);
            out[c] = sj_sim_rate(d->true_score[c], d->focal[p], d->bias_size[i], cfg->rater_noise,
                                 u_noise, u_dir, u_bias);
        }
    }
    sj_rng_free(rng);
    return 0;
}

static int rate_every_rater(sj_sim_data *d, const sj_sim_config *cfg)
{
    size_t cells = d->n_persons * d->n_items;
    if (rate_all(d, cfg, 1, d->human_score) != 0)
        return -1;
    for (size_t k = 2; k <= d->n_raters; k++)
        if (rate_all(d, cfg, k, d->more_raters + (k - 2) * cells) != 0)
            return -1;
    return 0;
}

sj_sim_data *sj_sim_scores(const sj_sim_config *cfg, sj_error *err)
{
    if (sj_sim_config_check(cfg, err) != SJ_OK)
        return NULL;
    sj_sim_data *d = data_alloc(cfg->n_persons, cfg->n_items, cfg->n_raters);
    gsl_rng *r_items = sj_rng_new(sj_seed_derive(cfg->seed, "sim/items"));
    gsl_rng *r_groups = sj_rng_new(sj_seed_derive(cfg->seed, "sim/groups"));
    gsl_rng *r_theta = sj_rng_new(sj_seed_derive(cfg->seed, "sim/theta"));
    gsl_rng *r_true = sj_rng_new(sj_seed_derive(cfg->seed, "sim/true"));
    if (!d || !r_items || !r_groups || !r_theta || !r_true ||
        assign_groups(r_groups, d->focal, d->n_persons, cfg->focal_share) != 0)
        goto fail;
    draw_item_parameters(r_items, d->grm, d->n_items);
    for (size_t i = 0; i < cfg->n_bias; i++)
        d->bias_size[bias_item_index(cfg, cfg->bias[i].item)] = cfg->bias[i].size;
    draw_thetas(r_theta, d->theta, d->focal, d->n_persons, cfg->impact);
    for (size_t p = 0; p < d->n_persons; p++)
        for (size_t k = 0; k < d->n_items; k++)
            d->true_score[p * d->n_items + k] =
                sj_sim_grm_draw(&d->grm[k], d->theta[p], gsl_rng_uniform(r_true));
    if (rate_every_rater(d, cfg) != 0)
        goto fail;
    goto done;
fail:
    sj_error_set(err, SJ_ERR_WORK, "out of memory simulating %zu persons × %zu items",
                 cfg->n_persons, cfg->n_items);
    sj_sim_data_free(d);
    d = NULL;
done:
    sj_rng_free(r_items);
    sj_rng_free(r_groups);
    sj_rng_free(r_theta);
    sj_rng_free(r_true);
    return d;
}
