/* The full simulation (scores plus texts) and its four output files. */
#include "sjtalign/sim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

void sj_sim_data_free(sj_sim_data *d)
{
    if (!d)
        return;
    if (d->response)
        for (size_t c = 0; c < d->n_persons * d->n_items; c++)
            free(d->response[c]);
    free(d->response);
    free((void *)d->intent);
    sj_instrument_free(d->instrument);
    free(d->theta);
    free(d->focal);
    free(d->grm);
    free(d->bias_size);
    free(d->true_score);
    free(d->human_score);
    free(d->more_raters);
    free(d);
}

sj_status sj_sim_add_texts(sj_sim_data *d, uint64_t seed, sj_error *err)
{
    size_t cells = d->n_persons * d->n_items;
    d->instrument = sj_sim_instrument(d->n_items, err);
    if (!d->instrument)
        return SJ_ERR_WORK;
    d->intent = sj_calloc(cells, sizeof *d->intent);
    d->response = sj_calloc(cells, sizeof *d->response);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "sim/text"));
    if (!d->intent || !d->response || !rng) {
        sj_rng_free(rng);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %zu responses", cells);
    }
    for (size_t p = 0; p < d->n_persons; p++) {
        for (size_t k = 0; k < d->n_items; k++) {
            size_t c = p * d->n_items + k;
            int level = d->true_score[c];
            size_t intent = gsl_rng_uniform_int(rng, sj_sim_n_intents(k, level));
            size_t n_ways = sj_sim_n_phrasings(k, level, intent, d->focal[p]);
            size_t way = gsl_rng_uniform_int(rng, n_ways);
            d->intent[c] = sj_sim_intent_label(k, level, intent);
            d->response[c] = sj_sim_compose(
                rng, sj_sim_phrasing(k, level, intent, d->focal[p], way), d->focal[p]);
            if (!d->response[c]) {
                sj_rng_free(rng);
                return sj_error_set(err, SJ_ERR_WORK, "out of memory writing responses");
            }
        }
    }
    sj_rng_free(rng);
    return SJ_OK;
}

sj_sim_data *sj_sim_run(const sj_sim_config *cfg, sj_error *err)
{
    sj_sim_data *d = sj_sim_scores(cfg, err);
    if (d && sj_sim_add_texts(d, cfg->seed, err) != SJ_OK) {
        sj_sim_data_free(d);
        return NULL;
    }
    return d;
}

/* ---- simulation.json ------------------------------------------------------ */

static cJSON *describe_models(size_t n_raters)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "theta",
                            "reference ~ N(0, 1); focal ~ N(-impact, 1); rounded to 4 decimals");
    cJSON_AddStringToObject(m, "groups",
                            "exactly round(focal_share * persons) persons are focal, chosen by a "
                            "random permutation");
    cJSON_AddStringToObject(m, "true_score",
                            "graded response model: P(X >= k | theta) = 1 / (1 + exp(-a (theta "
                            "- b_k))), k = 1..3; a ~ U(1.2, 2.0), b_k = location + (-1.4, -0.1, "
                            "1.2)_k + U(-0.15, 0.15), location ~ U(-0.5, 0.5), rounded to 3 "
                            "decimals");
    cJSON_AddStringToObject(m, "human_score",
                            "with probability rater_noise the true score moves one step down or "
                            "up (equally likely), clamped to 0..3 so a move past an end is lost; "
                            "then on a biased item a focal-register response is marked down one "
                            "point with probability bias size, never below 0");
    /* Only with several raters, so a one-rater simulation.json is as before. */
    if (n_raters > 1)
        cJSON_AddStringToObject(
            m, "raters",
            "with raters >= 2 each rater scores every response by the human_score "
            "rule with independent draws of its own (rater_k uses the stream "
            "sim/rater/k, rater_1 the single rater's stream sim/rater): the "
            "raters' errors are independent given the true score, and the bias "
            "is applied by each rater independently");
    cJSON_AddStringToObject(m, "register",
                            "every focal person writes in the focal register (collective, "
                            "indirect phrasing), every reference person in the reference "
                            "register (direct, first-person); both express the same intents");
    cJSON_AddStringToObject(m, "response",
                            "an intent is drawn uniformly among the two intents of the item at "
                            "the true score, a phrasing uniformly among its three phrasings in "
                            "the person's register; a subject is put in front, and an opener "
                            "(p = .35), a reason before or after (p = .45) and a closing remark "
                            "(p = .30) are added; texts longer than 230 bytes drop the closing "
                            "remark, then the opener, then the reason");
    cJSON_AddStringToObject(m, "random_streams",
                            "independent MT19937 streams derived from the seed for sim/items, "
                            "sim/groups, sim/theta, sim/true, sim/rater and sim/text, so the "
                            "scores do not depend on whether texts are generated");
    return m;
}

static cJSON *describe_items(const sj_sim_data *d)
{
    cJSON *items = cJSON_CreateArray();
    for (size_t k = 0; k < d->n_items; k++) {
        char id[32];
        sj_sim_item_id(k, id, sizeof id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "item", id);
        cJSON_AddNumberToObject(o, "discrimination", d->grm[k].a);
        cJSON_AddItemToObject(o, "thresholds",
                              cJSON_CreateDoubleArray(d->grm[k].b, SJ_SIM_LEVELS - 1));
        cJSON_AddNumberToObject(o, "bias_size", d->bias_size[k]);
        cJSON_AddItemToArray(items, o);
    }
    return items;
}

cJSON *sj_sim_describe(const sj_sim_config *cfg, const sj_sim_data *d)
{
    size_t n_focal = 0;
    for (size_t p = 0; p < d->n_persons; p++)
        n_focal += d->focal[p];
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "generator", "sjtalign simulate " SJ_VERSION);
    sj_json_add_seed(doc, "seed", cfg->seed);
    cJSON_AddNumberToObject(doc, "persons", (double)cfg->n_persons);
    cJSON_AddNumberToObject(doc, "items", (double)cfg->n_items);
    cJSON_AddNumberToObject(doc, "focal_share", cfg->focal_share);
    cJSON_AddNumberToObject(doc, "impact", cfg->impact);
    cJSON_AddNumberToObject(doc, "rater_noise", cfg->rater_noise);
    /* Only with several raters, so a one-rater simulation.json is as before. */
    if (cfg->n_raters > 1)
        cJSON_AddNumberToObject(doc, "raters", (double)cfg->n_raters);
    cJSON_AddNumberToObject(doc, "score_min", SJ_SIM_SCORE_MIN);
    cJSON_AddNumberToObject(doc, "score_max", SJ_SIM_SCORE_MAX);
    cJSON_AddStringToObject(doc, "reference_group", SJ_SIM_REFERENCE);
    cJSON_AddStringToObject(doc, "focal_group", SJ_SIM_FOCAL);
    cJSON_AddNumberToObject(doc, "n_reference", (double)(d->n_persons - n_focal));
    cJSON_AddNumberToObject(doc, "n_focal", (double)n_focal);
    cJSON *biased = cJSON_AddArrayToObject(doc, "biased_items");
    cJSON *bias = cJSON_AddArrayToObject(doc, "bias");
    for (size_t k = 0; k < d->n_items; k++) {
        if (d->bias_size[k] <= 0.0)
            continue;
        char id[32];
        sj_sim_item_id(k, id, sizeof id);
        cJSON_AddItemToArray(biased, cJSON_CreateString(id));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "item", id);
        cJSON_AddNumberToObject(o, "size", d->bias_size[k]);
        cJSON_AddItemToArray(bias, o);
    }
    cJSON_AddItemToObject(doc, "item_parameters", describe_items(d));
    cJSON_AddItemToObject(doc, "models", describe_models(cfg->n_raters));
    cJSON *files = cJSON_AddObjectToObject(doc, "files");
    cJSON_AddStringToObject(files, "instrument", "instrument.json");
    if (cfg->n_raters > 1)
        cJSON_AddStringToObject(files, "responses",
                                "responses.csv: person_id, group, item_id, response, rater_1 .. "
                                "rater_R");
    else
        cJSON_AddStringToObject(files, "responses",
                                "responses.csv: person_id, group, item_id, response, human_score");
    cJSON_AddStringToObject(files, "truth",
                            "truth.csv: person_id, item_id, theta, intent, true_score");
    return doc;
}

/* ---- files -------------------------------------------------------------------- */

/* P0001, P0002, ...: zero-padded to the width of the largest id (at least
 * four digits) so the ids sort in person order. */
static void person_id(size_t p, size_t n_persons, char *out, size_t n)
{
    char digits[24], widest[24];
    int len = snprintf(digits, sizeof digits, "%zu", p + 1);
    int width = snprintf(widest, sizeof widest, "%zu", n_persons);
    if (width < 4)
        width = 4;
    size_t at = 0;
    out[at++] = 'P';
    for (int i = len; i < width && at + 1 < n; i++)
        out[at++] = '0';
    snprintf(out + at, n - at, "%s", digits);
}

static void write_rows(sj_csv_writer *responses, sj_csv_writer *truth, const sj_sim_data *d)
{
    for (size_t p = 0; p < d->n_persons; p++) {
        char pid[32];
        person_id(p, d->n_persons, pid, sizeof pid);
        for (size_t k = 0; k < d->n_items; k++) {
            size_t c = p * d->n_items + k;
            const char *item = d->instrument->items[k].id;
            sj_csv_cell(responses, pid);
            sj_csv_cell(responses, d->focal[p] ? SJ_SIM_FOCAL : SJ_SIM_REFERENCE);
            sj_csv_cell(responses, item);
            sj_csv_cell(responses, d->response[c]);
            for (size_t r = 1; r <= d->n_raters; r++)
                sj_csv_cell_integer(responses, sj_sim_rater_score(d, r, c));
            sj_csv_cell(truth, pid);
            sj_csv_cell(truth, item);
            sj_csv_cell_number(truth, d->theta[p]);
            sj_csv_cell(truth, d->intent[c]);
            sj_csv_cell_integer(truth, d->true_score[c]);
        }
    }
}

static sj_status write_json(const char *dir, const char *name, cJSON *doc, sj_error *err)
{
    char *path = sj_path_join(dir, name);
    sj_status st = !doc || !path ? sj_error_set(err, SJ_ERR_WORK, "out of memory")
                                 : sj_json_write(path, doc, err);
    free(path);
    cJSON_Delete(doc);
    return st;
}

/* The header of responses.csv: human_score with one rater (as always),
 * rater_1..rater_R with several. Returns the number of columns. */
static size_t responses_columns(size_t n_raters, const char **cols,
                                char names[SJ_SIM_MAX_RATERS][16])
{
    static const char *const lead[] = {"person_id", "group", "item_id", "response"};
    size_t n = 0;
    for (; n < 4; n++)
        cols[n] = lead[n];
    if (n_raters <= 1) {
        cols[n++] = "human_score";
        return n;
    }
    for (size_t r = 0; r < n_raters && r < SJ_SIM_MAX_RATERS; r++) {
        snprintf(names[r], 16, "rater_%zu", r + 1);
        cols[n++] = names[r];
    }
    return n;
}

/* The four files, written into the folder being built. */
static sj_status write_files(const char *dir, const sj_sim_config *cfg, const sj_sim_data *d,
                             sj_error *err)
{
    static const char *const truth_cols[] = {"person_id", "item_id", "theta", "intent",
                                             "true_score"};
    const char *responses_cols[4 + SJ_SIM_MAX_RATERS];
    char rater_names[SJ_SIM_MAX_RATERS][16];
    size_t n_cols = responses_columns(d->n_raters, responses_cols, rater_names);
    char *responses_path = sj_path_join(dir, "responses.csv");
    char *truth_path = sj_path_join(dir, "truth.csv");
    sj_csv_writer responses, truth;
    sj_status st = SJ_ERR_WORK;
    if (!responses_path || !truth_path) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto done;
    }
    if (sj_csv_open(&responses, responses_path, responses_cols, n_cols, err) != SJ_OK)
        goto done;
    if (sj_csv_open(&truth, truth_path, truth_cols, 5, err) != SJ_OK) {
        sj_csv_abort(&responses);
        goto done;
    }
    write_rows(&responses, &truth, d);
    if (sj_csv_close(&responses, err) != SJ_OK) {
        sj_csv_abort(&truth);
        goto done;
    }
    if (sj_csv_close(&truth, err) != SJ_OK)
        goto done;
    if (write_json(dir, "instrument.json", sj_instrument_to_json(d->instrument), err) != SJ_OK ||
        write_json(dir, "simulation.json", sj_sim_describe(cfg, d), err) != SJ_OK)
        goto done;
    st = SJ_OK;
done:
    free(responses_path);
    free(truth_path);
    return st;
}

sj_status sj_sim_write(const char *dir, const sj_sim_config *cfg, const sj_sim_data *d,
                       sj_error *err)
{
    if (!d->instrument || !d->response)
        return sj_error_set(err, SJ_ERR_WORK, "the simulation has no texts to write");
    /* The data set is built beside the folder and swapped in whole: a failure
     * leaves the folder as it was, and a folder holding files simulate did
     * not write (someone's own responses.csv) is refused, never replaced. */
    sj_outdir out;
    sj_status st = sj_outdir_open(&out, dir, "simulate", err);
    if (st != SJ_OK)
        return st;
    st = write_files(out.tmp_dir, cfg, d, err);
    if (st != SJ_OK) {
        sj_outdir_abort(&out);
        return st;
    }
    return sj_outdir_commit(&out, "simulate", err);
}
