/* sjtalign score: the probability of every score level for each response. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const char *const HELP =
    "usage: sjtalign score --model MODEL --instrument FILE --data FILE --out FILE [options]\n\n"
    "Scores every response with one forward pass: the model's distribution over\n"
    "the score after \"score: \" (renormalised over the instrument's levels). Writes\n"
    "the input columns, then score (the expected score), score_mode (the most\n"
    "probable level) and p_<k> for every level k. Beside the CSV, FILE.json records\n"
    "provenance: the model directory, its weights_sha256 and the sha256 of its\n"
    "config.json, the instrument's and the data's sha256, and the mean probability\n"
    "mass the model put on valid score levels (near 1 for a trained scorer).\n\n"
    "  --model MODEL      model directory (sft, ppo or dpo output)\n"
    "  --instrument FILE  instrument.json\n"
    "  --data FILE        responses CSV\n"
    "  --out FILE         scores CSV ('-' for stdout; then no provenance file)\n"
    "  --batch N          responses per forward pass (default 64)\n" ALIGN_COLUMN_HELP;

enum { OPT_MODEL = 1, OPT_INSTRUMENT, OPT_DATA, OPT_OUT, OPT_BATCH, OPT_HELP };

static int output_names(const sj_table *t, const sja_codec *c, char ***names, size_t *n)
{
    size_t L = (size_t)c->n_levels;
    *n = t->n_cols + 2 + L;
    *names = sj_calloc(*n, sizeof **names);
    if (!*names)
        return 1;
    for (size_t i = 0; i < t->n_cols; i++)
        (*names)[i] = sj_strdup(t->names[i]);
    (*names)[t->n_cols] = sj_strdup("score");
    (*names)[t->n_cols + 1] = sj_strdup("score_mode");
    for (size_t k = 0; k < L; k++)
        (*names)[t->n_cols + 2 + k] = sj_asprintf("p_%d", c->score_min + (int)k);
    for (size_t i = t->n_cols; i < *n; i++)
        for (size_t j = 0; j < t->n_cols; j++)
            if (strcmp((*names)[i], t->names[j]) == 0) {
                fprintf(stderr,
                        "sjtalign: error: %s: input column '%s' has the name of an output "
                        "column; rename it (e.g. with --score for a human score column)\n",
                        t->path, t->names[j]);
                return 2;
            }
    return 0;
}

static sj_status write_provenance(const char *out, const sja_model *m, const char *instrument,
                                  const char *data, const double *mass, size_t n, double seconds,
                                  sj_error *err)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "command", "score");
    cJSON_AddStringToObject(doc, "sjtalign_version", SJ_VERSION);
    cJSON *mj = cJSON_AddObjectToObject(doc, "model");
    cJSON_AddStringToObject(mj, "path", m->path);
    cJSON_AddStringToObject(mj, "weights_sha256", m->weights_sha256);
    char *cfg = sj_path_join(m->path, "config.json");
    sja_provenance_add_file(mj, "config", cfg);
    free(cfg);
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(m->ck->config, "provenance");
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(prov, "stage");
    if (cJSON_IsString(stage))
        cJSON_AddStringToObject(mj, "stage", stage->valuestring);
    sja_provenance_add_file(doc, "instrument", instrument);
    sja_provenance_add_file(doc, "data", data);
    double total = 0.0, lowest = 1.0;
    for (size_t i = 0; i < n; i++) {
        total += mass[i];
        lowest = mass[i] < lowest ? mass[i] : lowest;
    }
    cJSON_AddNumberToObject(doc, "n_responses", (double)n);
    sj_json_add_number(doc, "mean_valid_mass", n ? total / (double)n : NAN);
    sj_json_add_number(doc, "min_valid_mass", n ? lowest : NAN);
    cJSON_AddStringToObject(doc, "method",
                            m->codec.single_token_levels
                                ? "next-token distribution after 'score: ' (one token per level)"
                                : "exact probability of each level's tokens and terminator");
    sj_json_add_number(doc, "seconds", seconds);
    char *path = sj_asprintf("%s.json", out);
    sj_status st = sj_json_write(path, doc, err);
    free(path);
    cJSON_Delete(doc);
    return st;
}

int cmd_score(int argc, char **argv)
{
    static const struct option options[] = {{"model", required_argument, 0, OPT_MODEL},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"data", required_argument, 0, OPT_DATA},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"batch", required_argument, 0, OPT_BATCH},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *model = NULL, *instrument = NULL, *data_path = NULL, *out = NULL;
    long batch = 64;
    align_common a = {0};
    int c;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("score", c, optarg, &a);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_MODEL:
            model = optarg;
            break;
        case OPT_INSTRUMENT:
            instrument = optarg;
            break;
        case OPT_DATA:
            data_path = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_BATCH:
            if (cli_long("score", "--batch", optarg, 1, 4096, &batch))
                return 2;
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("score");
        }
    }
    if (optind < argc)
        return cli_usage_error("score", "unexpected argument '%s'", argv[optind]);
    if (cli_require("score", "--model", model) ||
        cli_require("score", "--instrument", instrument) ||
        cli_require("score", "--data", data_path) || cli_require("score", "--out", out))
        return 2;
    align_apply_threads(&a);
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    a.cols.score = a.cols.score ? a.cols.score : "score";
    int rc = align_load_data(instrument, data_path, &a, SJ_NEED_TEXT, &ins, &data);
    if (rc)
        return rc;
    const sj_table *t = data->table;
    size_t n = t->n_rows;
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(model, ins, &err);
    if (!m)
        rc = cli_fail(&err);
    char **names = NULL;
    size_t n_names = 0;
    if (!rc)
        rc = output_names(t, &m->codec, &names, &n_names);
    int L = m ? m->codec.n_levels : 0;
    sja_seq *prompts = sj_calloc(n, sizeof *prompts);
    double *probs = malloc(n * (size_t)(L ? L : 1) * sizeof *probs);
    double *mass = malloc(n * sizeof *mass);
    if (!rc && (!prompts || !probs || !mass)) {
        fprintf(stderr, "sjtalign: error: out of memory\n");
        rc = 1;
    }
    double t0 = sj_now();
    for (size_t i = 0; !rc && i < n; i++)
        if (sja_encode_prompt(&m->codec, ins, data->item_index[i],
                              sj_table_cell(t, i, (size_t)data->col_text), m->codec.max_completion,
                              &prompts[i], &err) != SJ_OK) {
            sj_error_prefix(&err, "%s:%ld: ", t->path, t->row_line[i]);
            rc = cli_fail(&err);
        }
    if (!rc) {
        sj_progress bar;
        sj_progress_start(&bar, "score", (long)n);
        if (a.quiet)
            bar.quiet = 1;
        sj_status st = sja_score_levels(m->ck->model, &m->codec, prompts, n, (int)batch, probs,
                                        mass, &bar, &err);
        sj_progress_finish(&bar, NULL);
        if (st != SJ_OK)
            rc = cli_fail(&err);
    }
    double seconds = sj_now() - t0;
    sj_csv_writer w;
    if (!rc && sj_csv_open(&w, out, (const char *const *)names, n_names, &err) != SJ_OK)
        rc = cli_fail(&err);
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < t->n_cols; j++)
                sj_csv_cell(&w, sj_table_cell(t, i, j));
            const double *p = probs + i * (size_t)L;
            sj_csv_cell_number(&w, sja_expected_score(p, L, m->codec.score_min));
            sj_csv_cell_integer(&w, m->codec.score_min + sja_mode_level(p, L));
            for (int k = 0; k < L; k++)
                sj_csv_cell_number(&w, p[k]);
        }
        if (sj_csv_close(&w, &err) != SJ_OK)
            rc = cli_fail(&err);
    }
    if (!rc && strcmp(out, "-") != 0 &&
        write_provenance(out, m, instrument, data_path, mass, n, seconds, &err) != SJ_OK)
        rc = cli_fail(&err);
    if (!rc && !a.quiet)
        fprintf(stderr, "sjtalign score: %zu responses in %.2f s\n", n, seconds);
    for (size_t i = 0; prompts && i < n; i++)
        sja_seq_free(&prompts[i]);
    free(prompts);
    free(probs);
    free(mass);
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}
