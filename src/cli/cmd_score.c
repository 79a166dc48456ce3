/* sjtalign score: the probability of every score level for each response. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const cli_option SCORE_OPTIONS[] = {
    {"model", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED,
     "model directory (sft, ppo or dpo output)"},
    ALIGN_OPT_INSTRUMENT,
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "responses CSV"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "scores CSV, or - for standard output (then no\nprovenance file)"},
    {"batch", CLI_INT, "N", "64", 1, 4096, NULL, 0, "responses per forward pass"},
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_score = {
    .name = "score",
    .synopsis = "--model MODEL --instrument FILE --data FILE --out FILE|- [options]",
    .about = "Scores every response with one forward pass: the model's distribution over\n"
             "the score after \"score: \" (renormalised over the instrument's levels). Writes\n"
             "the input columns, then score (the expected score), score_mode (the most\n"
             "probable level) and p_<k> for every level k. Beside the CSV, FILE.json records\n"
             "provenance: the model directory, its weights_sha256 and the sha256 of its\n"
             "config.json, the instrument's and the data's sha256, and the mean probability\n"
             "mass the model put on valid score levels (near 1 for a trained scorer).\n"
             "The input is read as a stream, in chunks of 4096 responses, so memory does not\n"
             "grow with the number of responses; every row is scored as given. Only the item\n"
             "and response text columns are read; every column is copied to the output.",
    .options = SCORE_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign score --model runs/demo/sft --instrument data/demo/instrument.json \\\n"
                "    --data data/demo/responses.csv --out runs/demo/scores/sft.csv\n"
                "sjtalign score --model runs/demo/ppo --instrument data/demo/instrument.json \\\n"
                "    --data new_responses.csv --text answer --out - --quiet",
};

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
                        "sjtalign score: error: %s: input column '%s' has the name of an output "
                        "column; rename it in the file (sft, ppo and audit read a human score "
                        "column of any name)\n",
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

/* What scoring reads: the instrument, the model and the responses stream
 * with its item and text columns. */
typedef struct {
    sj_instrument *ins;
    sja_model *m;
    sj_csv_stream *in;
    const sj_table *t;
    long col_item, col_text;
} score_inputs;

static int open_inputs(const cli_args *c, score_inputs *s, sj_error *err)
{
    memset(s, 0, sizeof *s);
    if (!(s->ins = sj_instrument_load(cli_text(c, "instrument"), err)) ||
        !(s->m = sja_model_load(cli_text(c, "model"), s->ins, err)) ||
        !(s->in = sj_csv_stream_open(cli_text(c, "data"), err)))
        return cli_fail(err);
    s->t = sj_csv_stream_table(s->in);
    if ((s->col_item = sj_table_column(s->t, cli_text(c, "item"), err)) < 0 ||
        (s->col_text = sj_table_column(s->t, cli_text(c, "text"), err)) < 0)
        return cli_fail(err);
    return 0;
}

static void close_inputs(score_inputs *s)
{
    sj_csv_stream_close(s->in);
    sja_model_free(s->m);
    sj_instrument_free(s->ins);
}

/* Streams every row through the model into the writer, a chunk at a time. */
static int score_rows(score_inputs *s, int batch, int quiet, sj_csv_writer *w, mass_summary *mass,
                      sj_error *err)
{
    score_chunk chunk = {0};
    sj_progress bar;
    sj_progress_start(&bar, "score", 0);
    if (quiet)
        bar.quiet = 1;
    int rc = 0;
    if (chunk_init(&chunk, s->t->n_cols, s->m->codec.n_levels) != 0) {
        fprintf(stderr, "sjtalign score: error: out of memory\n");
        rc = 1;
    }
    size_t row;
    int next = 0;
    while (!rc && (next = sj_csv_stream_next(s->in, &row)) == 1) {
        rc = chunk_add(&chunk, s->t, row, (size_t)s->col_item, (size_t)s->col_text, s->ins,
                       &s->m->codec, err);
        if (!rc && chunk.n == SCORE_CHUNK)
            rc = chunk_flush(&chunk, s->m, batch, w, mass, &bar, err);
    }
    if (!rc && next < 0)
        rc = cli_fail(err);
    if (!rc && chunk.n > 0)
        rc = chunk_flush(&chunk, s->m, batch, w, mass, &bar, err);
    if (!rc && mass->n == 0) {
        sj_error_at(err, SJ_ERR_INPUT, s->t->path, 2, 0, "no data rows after the header");
        rc = cli_fail(err);
    }
    sj_progress_finish(&bar, NULL);
    chunk_free(&chunk);
    return rc;
}

/* Writes the scores CSV (replaced only when complete) and its provenance. */
static int write_scores(const cli_args *c, score_inputs *s, sj_error *err)
{
    const char *out = cli_text(c, "out");
    char **names = NULL;
    size_t n_names = 0;
    int rc = output_names(s->t, &s->m->codec, &names, &n_names);
    sj_csv_writer w;
    if (!rc && sj_csv_open(&w, out, (const char *const *)names, n_names, err) != SJ_OK) {
        rc = cli_fail(err);
    } else if (!rc) {
        mass_summary mass = {0, 0.0, 1.0};
        double t0 = sj_now();
        rc = score_rows(s, (int)cli_int(c, "batch"), cli_flag(c, "quiet"), &w, &mass, err);
        double seconds = sj_now() - t0;
        if (rc)
            sj_csv_abort(&w);
        else if (sj_csv_close(&w, err) != SJ_OK)
            rc = cli_fail(err);
        if (!rc && strcmp(out, "-") != 0 &&
            write_provenance(out, s->m, cli_text(c, "instrument"), cli_text(c, "data"), &mass,
                             seconds, err) != SJ_OK)
            rc = cli_fail(err);
        if (!rc && !cli_flag(c, "quiet"))
            fprintf(stderr, "sjtalign score: %zu responses in %.2f s\n", mass.n, seconds);
    }
    for (size_t i = 0; names && i < n_names; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* FILE.json, written beside the scores, must not be an input either. */
static int check_provenance_path(const cli_args *c)
{
    const char *out = cli_text(c, "out");
    if (strcmp(out, "-") == 0)
        return 0;
    char *json = sj_asprintf("%s.json", out);
    char *what = sj_asprintf("--out %s also writes its provenance to %s", out, json);
    int rc = json && what ? cmd_check_derived_output(c, what, json, 0) : 1;
    free(json);
    free(what);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_score, argc, argv, &c);
    if (rc >= 0)
        return rc;
    rc = check_provenance_path(&c);
    sj_error err;
    sj_error_clear(&err);
    score_inputs s = {0};
    if (!rc)
        rc = open_inputs(&c, &s, &err);
    if (!rc)
        rc = write_scores(&c, &s, &err);
    close_inputs(&s);
    cli_args_free(&c);
    return rc;
}
