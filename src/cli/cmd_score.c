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
    "mass the model put on valid score levels (near 1 for a trained scorer).\n"
    "The input is read as a stream, in chunks of 4096 responses, so memory does not\n"
    "grow with the number of responses; every row is scored as given.\n\n"
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

/* The probability mass the model put on valid score levels, summed over
 * the responses as they stream past. */
typedef struct {
    size_t n;
    double total;
    double lowest;
} mass_summary;

static sj_status write_provenance(const char *out, const sja_model *m, const char *instrument,
                                  const char *data, const mass_summary *mass, double seconds,
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
    size_t n = mass->n;
    cJSON_AddNumberToObject(doc, "n_responses", (double)n);
    sj_json_add_number(doc, "mean_valid_mass", n ? mass->total / (double)n : NAN);
    sj_json_add_number(doc, "min_valid_mass", n ? mass->lowest : NAN);
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

/* Responses are scored in chunks as they stream in, so memory stays flat
 * however long the input is: each chunk keeps copies of its rows' cells
 * (the stream's window moves on) and its prompts. */
enum { SCORE_CHUNK = 4096 };

typedef struct {
    size_t n;
    size_t n_cols;
    int n_levels;
    char **cells;
    sja_seq *prompts;
    double *probs;
    double *mass;
} score_chunk;

static int chunk_init(score_chunk *c, size_t n_cols, int n_levels)
{
    c->n_cols = n_cols;
    c->n_levels = n_levels;
    c->cells = sj_calloc(SCORE_CHUNK * n_cols, sizeof *c->cells);
    c->prompts = sj_calloc(SCORE_CHUNK, sizeof *c->prompts);
    c->probs = malloc(SCORE_CHUNK * (size_t)n_levels * sizeof *c->probs);
    c->mass = malloc(SCORE_CHUNK * sizeof *c->mass);
    return c->cells && c->prompts && c->probs && c->mass ? 0 : -1;
}

static void chunk_clear(score_chunk *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->n_cols; j++) {
            free(c->cells[i * c->n_cols + j]);
            c->cells[i * c->n_cols + j] = NULL;
        }
        sja_seq_free(&c->prompts[i]);
    }
    c->n = 0;
}

static void chunk_free(score_chunk *c)
{
    chunk_clear(c);
    free(c->cells);
    free(c->prompts);
    free(c->probs);
    free(c->mass);
}

static int chunk_add(score_chunk *c, const sj_table *t, size_t row, size_t col_item,
                     size_t col_text, const sj_instrument *ins, const sja_codec *codec,
                     sj_error *err)
{
    const char *item = sj_table_cell(t, row, col_item);
    long idx = sj_instrument_find_item(ins, item);
    if (idx < 0) {
        sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], (long)col_item + 1,
                    "unknown item '%.60s': the instrument %s has no such item", item, ins->id);
        return cli_fail(err);
    }
    size_t at = c->n;
    if (sja_encode_prompt(codec, ins, (size_t)idx, sj_table_cell(t, row, col_text),
                          codec->max_completion, &c->prompts[at], err) != SJ_OK) {
        sj_error_prefix(err, "%s:%ld: ", t->path, t->row_line[row]);
        return cli_fail(err);
    }
    for (size_t j = 0; j < c->n_cols; j++)
        c->cells[at * c->n_cols + j] = sj_strdup(sj_table_cell(t, row, j));
    c->n++;
    return 0;
}

static int chunk_flush(score_chunk *c, sja_model *m, int batch, sj_csv_writer *w,
                       mass_summary *mass, sj_progress *bar, sj_error *err)
{
    int L = c->n_levels;
    /* The progress bar counts responses across chunks. */
    long done_before = bar->done;
    sj_progress chunk_bar = *bar;
    chunk_bar.quiet = 1;
    if (sja_score_levels(m->ck->model, &m->codec, c->prompts, c->n, batch, c->probs, c->mass,
                         &chunk_bar, err) != SJ_OK)
        return cli_fail(err);
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->n_cols; j++)
            sj_csv_cell(w, c->cells[i * c->n_cols + j]);
        const double *p = c->probs + i * (size_t)L;
        sj_csv_cell_number(w, sja_expected_score(p, L, m->codec.score_min));
        sj_csv_cell_integer(w, m->codec.score_min + sja_mode_level(p, L));
        for (int k = 0; k < L; k++)
            sj_csv_cell_number(w, p[k]);
        mass->total += c->mass[i];
        mass->lowest = c->mass[i] < mass->lowest ? c->mass[i] : mass->lowest;
    }
    mass->n += c->n;
    char status[64];
    snprintf(status, sizeof status, "%zu responses", mass->n);
    sj_progress_update(bar, done_before + (long)c->n, status);
    chunk_clear(c);
    return 0;
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
    sj_columns_defaults(&a.cols);
    sj_error err;
    sj_error_clear(&err);
    sj_instrument *ins = sj_instrument_load(instrument, &err);
    if (!ins)
        return cli_fail(&err);
    int rc = 0;
    sja_model *m = sja_model_load(model, ins, &err);
    sj_csv_stream *in = m ? sj_csv_stream_open(data_path, &err) : NULL;
    if (!m || !in)
        rc = cli_fail(&err);
    const sj_table *t = in ? sj_csv_stream_table(in) : NULL;
    long col_item = -1, col_text = -1;
    if (!rc && ((col_item = sj_table_column(t, a.cols.item, &err)) < 0 ||
                (col_text = sj_table_column(t, a.cols.text, &err)) < 0))
        rc = cli_fail(&err);
    char **names = NULL;
    size_t n_names = 0;
    if (!rc)
        rc = output_names(t, &m->codec, &names, &n_names);
    sj_csv_writer w;
    int writing = 0;
    if (!rc) {
        if (sj_csv_open(&w, out, (const char *const *)names, n_names, &err) != SJ_OK)
            rc = cli_fail(&err);
        else
            writing = 1;
    }
    score_chunk chunk = {0};
    mass_summary mass = {0, 0.0, 1.0};
    sj_progress bar;
    sj_progress_start(&bar, "score", 0);
    if (a.quiet)
        bar.quiet = 1;
    double t0 = sj_now();
    if (!rc && chunk_init(&chunk, t->n_cols, m->codec.n_levels) != 0) {
        fprintf(stderr, "sjtalign: error: out of memory\n");
        rc = 1;
    }
    size_t row;
    int next = 0;
    while (!rc && (next = sj_csv_stream_next(in, &row)) == 1) {
        rc = chunk_add(&chunk, t, row, (size_t)col_item, (size_t)col_text, ins, &m->codec, &err);
        if (!rc && chunk.n == SCORE_CHUNK)
            rc = chunk_flush(&chunk, m, (int)batch, &w, &mass, &bar, &err);
    }
    if (!rc && next < 0)
        rc = cli_fail(&err);
    if (!rc && chunk.n > 0)
        rc = chunk_flush(&chunk, m, (int)batch, &w, &mass, &bar, &err);
    if (!rc && mass.n == 0) {
        sj_error_at(&err, SJ_ERR_INPUT, t->path, 2, 0, "no data rows after the header");
        rc = cli_fail(&err);
    }
    sj_progress_finish(&bar, NULL);
    double seconds = sj_now() - t0;
    if (writing) {
        if (rc)
            sj_csv_abort(&w);
        else if (sj_csv_close(&w, &err) != SJ_OK)
            rc = cli_fail(&err);
    }
    if (!rc && strcmp(out, "-") != 0 &&
        write_provenance(out, m, instrument, data_path, &mass, seconds, &err) != SJ_OK)
        rc = cli_fail(&err);
    if (!rc && !a.quiet)
        fprintf(stderr, "sjtalign score: %zu responses in %.2f s\n", mass.n, seconds);
    chunk_free(&chunk);
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    sj_csv_stream_close(in);
    sja_model_free(m);
    sj_instrument_free(ins);
    return rc;
}
