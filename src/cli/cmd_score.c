/* sjtalign score: the probability of every score level for each response. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"
#include "interrupt.h"
#include "sjtalign/dist.h"

static const cli_option SCORE_OPTIONS[] = {
    {"model", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED,
     "model directory (sft, ppo or dpo output)"},
    ALIGN_OPT_INSTRUMENT,
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "responses CSV"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "scores CSV, or - for standard output (then no\nprovenance file)"},
    {"batch", CLI_INT, "N", "64", 1, 4096, NULL, 0, "responses per forward pass"},
    {"allow-any-model", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "score with a model that sft, ppo or dpo did not\nmake (a pre-trained base model, a reward "
     "model),\nwith a warning"},
    {"allow-unknown-items", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "score responses to items the model was never\ntrained on, flagged unknown_item in the ood "
     "column"},
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
             "probable level), p_<k> for every level k, and ood: empty for a response like\n"
             "those the model was trained on, else the reasons it is not, joined by ';':\n"
             "unknown_item (the model never trained on the item), long (more words than 1.5\n"
             "times the longest training response) and truncated (the prompt was shortened\n"
             "to fit the model's context).\n\n"
             "Only a scorer scores: a model folder that sft, ppo or dpo wrote (they record\n"
             "the items and the longest response they trained on), not a pre-trained base\n"
             "model or a reward model (exit 2 unless --allow-any-model). A response to an\n"
             "item the model never trained on is exit 2 unless --allow-unknown-items.\n\n"
             "Beside the CSV, FILE.json records provenance: the model directory, its\n"
             "weights_sha256 and the sha256 of its config.json, the instrument's and the\n"
             "data's sha256, the mean probability mass the model put on valid score levels\n"
             "(near 1 for a trained scorer) and the count of each ood reason.\n"
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

/* ---- responses outside the training distribution ------------------------------------------ */

#define N_OOD_REASONS SJA_N_OOD_REASONS
#define OOD_REASONS SJA_OOD_REASONS

/* What the model was trained on, and the responses found outside it. */
typedef struct {
    int checked; /* the model records its training data */
    sja_training training;
    int allow_unknown;
    size_t n_ood;
    size_t n_reason[N_OOD_REASONS];
    /* Responses to unknown items, refused: how many, the first one's line,
     * the distinct items (pointers to the instrument's ids). */
    size_t n_refused;
    long first_line;
    const char **unknown;
    size_t n_unknown;
} ood_check;

static void ood_check_free(ood_check *o)
{
    sja_training_free(&o->training);
    free(o->unknown);
}

/* Notes a refused response; -1 when out of memory. */
static int note_refused(ood_check *o, const char *item_id, long line)
{
    if (o->n_refused++ == 0)
        o->first_line = line;
    for (size_t i = 0; i < o->n_unknown; i++)
        if (o->unknown[i] == item_id)
            return 0;
    const char **grown = realloc(o->unknown, (o->n_unknown + 1) * sizeof *grown);
    if (!grown)
        return -1;
    o->unknown = grown;
    o->unknown[o->n_unknown++] = item_id;
    return 0;
}

/* "'A', 'B', 'C' and 4 more": as many ids as fit in buf. */
static void join_ids(const char *const *ids, size_t n, char *buf, size_t cap)
{
    size_t used = 0, shown = 0;
    buf[0] = '\0';
    for (; shown < n && shown < 8; shown++) {
        int w = snprintf(buf + used, cap - used, "%s'%.40s'", shown ? ", " : "", ids[shown]);
        if (w < 0 || (size_t)w >= cap - used - 24)
            break;
        used += (size_t)w;
    }
    if (shown < n)
        snprintf(buf + used, cap - used, " and %zu more", n - shown);
}

/* Counts the ood reasons of a written row. */
static void count_ood(unsigned char flags, ood_check *o)
{
    for (int k = 0; k < N_OOD_REASONS; k++)
        o->n_reason[k] += (flags >> k) & 1u;
    o->n_ood += flags != 0;
}

/* On success, how many responses lay outside the training distribution. */
static void report_ood(const ood_check *o, size_t n)
{
    if (o->n_ood == 0)
        return;
    char why[320] = "", longest[64];
    snprintf(longest, sizeof longest, "longer than 1.5 x its longest training response (%ld words)",
             o->training.max_response_words);
    const char *what[N_OOD_REASONS] = {"on items it never trained on", longest,
                                       "shortened to fit its context"};
    size_t used = 0;
    for (int k = 0; k < N_OOD_REASONS; k++)
        if (o->n_reason[k] && used < sizeof why)
            used += (size_t)snprintf(why + used, sizeof why - used, "%s%zu %s", used ? ", " : "",
                                     o->n_reason[k], what[k]);
    fprintf(stderr,
            "sjtalign score: %zu of %zu responses out of the training distribution (%s); the "
            "ood column names the reasons\n",
            o->n_ood, n, why);
}

/* The probability mass the model put on valid score levels, summed over
 * the responses as they stream past. */
typedef struct {
    size_t n;
    double total;
    double lowest;
} mass_summary;

/* What scoring reads: the instrument, the model with what it was trained
 * on, and the responses stream with its item and text columns. */
typedef struct {
    sj_instrument *ins;
    sja_model *m;
    sj_csv_stream *in;
    const sj_table *t;
    long col_item, col_text;
    ood_check ood;
} score_inputs;

static void add_ood_provenance(cJSON *doc, const ood_check *o)
{
    cJSON *j = cJSON_AddObjectToObject(doc, "ood");
    cJSON_AddBoolToObject(j, "training_recorded", o->checked);
    if (o->checked) {
        cJSON_AddNumberToObject(j, "training_items", (double)o->training.n_items);
        cJSON_AddNumberToObject(j, "long_above_words",
                                1.5 * (double)o->training.max_response_words);
    }
    cJSON_AddNumberToObject(j, "responses", (double)o->n_ood);
    for (int k = 0; k < N_OOD_REASONS; k++)
        cJSON_AddNumberToObject(j, OOD_REASONS[k], (double)o->n_reason[k]);
}

static sj_status write_provenance(const char *out, const score_inputs *s, const char *instrument,
                                  const char *data, const mass_summary *mass, double seconds,
                                  sj_error *err)
{
    const sja_model *m = s->m;
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
    add_ood_provenance(doc, &s->ood);
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
 * (the stream's window moves on), their prompts and ood reasons. */
enum { SCORE_CHUNK = 4096 };

typedef struct {
    size_t n;
    size_t n_cols;
    int n_levels;
    char **cells;
    sja_seq *prompts;
    unsigned char *ood;
    double *probs;
    double *mass;
} score_chunk;

static int chunk_init(score_chunk *c, size_t n_cols, int n_levels)
{
    c->n_cols = n_cols;
    c->n_levels = n_levels;
    c->cells = sj_calloc(SCORE_CHUNK * n_cols, sizeof *c->cells);
    c->prompts = sj_calloc(SCORE_CHUNK, sizeof *c->prompts);
    c->ood = sj_calloc(SCORE_CHUNK, sizeof *c->ood);
    c->probs = malloc(SCORE_CHUNK * (size_t)n_levels * sizeof *c->probs);
    c->mass = malloc(SCORE_CHUNK * sizeof *c->mass);
    return c->cells && c->prompts && c->ood && c->probs && c->mass ? 0 : -1;
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
    free(c->ood);
    free(c->probs);
    free(c->mass);
}

/* Adds a row to the chunk. A response to an item the model never trained
 * on is noted, not added, unless allowed; once one is, the rest of the
 * rows are only checked, so the refusal can say how many there are. */
static int chunk_add(score_chunk *c, score_inputs *s, size_t row, sj_error *err)
{
    const sj_table *t = s->t;
    const char *item = sj_table_cell(t, row, (size_t)s->col_item);
    long idx = sj_instrument_find_item(s->ins, item);
    if (idx < 0) {
        sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], s->col_item + 1,
                    "unknown item '%.60s': the instrument %s has no such item", item, s->ins->id);
        return cli_fail(err);
    }
    const char *id = s->ins->items[idx].id;
    if (s->ood.checked && !s->ood.allow_unknown && !sja_training_has_item(&s->ood.training, id) &&
        note_refused(&s->ood, id, t->row_line[row]) != 0) {
        fprintf(stderr, "sjtalign score: error: out of memory\n");
        return 1;
    }
    if (s->ood.n_refused)
        return 0;
    size_t at = c->n;
    const char *text = sj_table_cell(t, row, (size_t)s->col_text);
    sj_status st = sja_encode_prompt(&s->m->codec, s->ins, (size_t)idx, text,
                                     s->m->codec.max_completion, &c->prompts[at], err);
    if (st == SJ_OK)
        c->ood[at] = sja_response_ood(s->ood.checked ? &s->ood.training : NULL, s->ins, (size_t)idx,
                                      text, &c->prompts[at]);
    c->n++; /* so that chunk_clear frees the prompt */
    if (st != SJ_OK) {
        sj_error_prefix(err, "%s:%ld: ", t->path, t->row_line[row]);
        return cli_fail(err);
    }
    for (size_t j = 0; j < c->n_cols; j++)
        c->cells[at * c->n_cols + j] = sj_strdup(sj_table_cell(t, row, j));
    return 0;
}

static int chunk_flush(score_chunk *c, sja_model *m, int batch, sj_csv_writer *w,
                       mass_summary *mass, ood_check *ood, sj_progress *bar, sj_error *err)
{
    int L = c->n_levels;
    /* The progress bar counts responses across chunks. */
    long done_before = bar->done;
    sj_progress chunk_bar = *bar;
    chunk_bar.quiet = 1;
    /* under MPI the ranks share the chunk's batches; rank 0 gets every row */
    if (sja_score_levels_ranks(m->ck->model, &m->codec, c->prompts, c->n, batch, 0, c->probs,
                               c->mass, &chunk_bar, err) != SJ_OK)
        return cli_fail(err);
    for (size_t i = 0; w && i < c->n; i++) {
        for (size_t j = 0; j < c->n_cols; j++)
            sj_csv_cell(w, c->cells[i * c->n_cols + j]);
        sja_score_cells(w, &m->codec, c->probs + i * (size_t)L, c->ood[i]);
        count_ood(c->ood[i], ood);
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

/* The refusal of responses to items the model never trained on. */
static int refuse_unknown_items(const score_inputs *s, sj_error *err)
{
    const ood_check *o = &s->ood;
    char unknown[400], known[400];
    join_ids(o->unknown, o->n_unknown, unknown, sizeof unknown);
    join_ids((const char *const *)o->training.items, o->training.n_items, known, sizeof known);
    sj_error_at(err, SJ_ERR_INPUT, s->t->path, o->first_line, s->col_item + 1,
                "item '%.60s' is not one the model %s was trained on (it trained on %s); %zu "
                "row%s answer%s items it never trained on (%s); --allow-unknown-items scores "
                "them, flagged unknown_item in the ood column",
                o->unknown[0], s->m->path, known, o->n_refused, o->n_refused == 1 ? "" : "s",
                o->n_refused == 1 ? "s" : "", unknown);
    return cli_fail(err);
}

/* Streams every row through the model into the writer (NULL on ranks
 * other than 0, which score their share and write nothing), a chunk at a
 * time. */
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
        rc = chunk_add(&chunk, s, row, err);
        if (!rc && chunk.n == SCORE_CHUNK)
            rc = chunk_flush(&chunk, s->m, batch, w, mass, &s->ood, &bar, err);
    }
    if (!rc && next < 0)
        rc = cli_fail(err);
    if (!rc && s->ood.n_refused)
        rc = refuse_unknown_items(s, err);
    if (!rc && chunk.n > 0)
        rc = chunk_flush(&chunk, s->m, batch, w, mass, &s->ood, &bar, err);
    if (!rc && mass->n == 0) {
        sj_error_at(err, SJ_ERR_INPUT, s->t->path, 2, 0, "no data rows after the header");
        rc = cli_fail(err);
    }
    /* After an error the message is the last line, not a progress line. */
    if (!rc)
        sj_progress_finish(&bar, NULL);
    chunk_free(&chunk);
    return rc;
}

/* 1 when the model is a scorer (made by sft, ppo or dpo), else 0 with what
 * the folder is, from its provenance, in `what`. */
static int is_scorer(const sja_model *m, char *what, size_t cap)
{
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(m->ck->config, "provenance");
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(prov, "stage");
    const cJSON *command = cJSON_GetObjectItemCaseSensitive(prov, "command");
    const char *name = cJSON_IsString(stage) ? stage->valuestring : NULL;
    if (name && (!strcmp(name, "sft") || !strcmp(name, "ppo") || !strcmp(name, "dpo")))
        return 1;
    if (cJSON_IsString(command) && strcmp(command->valuestring, "pretrain") == 0)
        snprintf(what, cap, "a pre-trained base model (made by pretrain)");
    else if (name && strcmp(name, "reward") == 0)
        snprintf(what, cap, "a reward model (made by reward)");
    else if (name)
        snprintf(what, cap, "a model of the stage '%.40s'", name);
    else
        snprintf(what, cap, "a model whose config.json records no training stage");
    return 0;
}

/* Only a scorer scores, unless --allow-any-model; reads what it was
 * trained on. */
static int check_model(const cli_args *c, score_inputs *s, sj_error *err)
{
    char what[128];
    const char *path = s->m->path;
    if (!is_scorer(s->m, what, sizeof what)) {
        if (!cli_flag(c, "allow-any-model")) {
            sj_error_set(err, SJ_ERR_INPUT,
                         "%s is %s, not a scorer: only models made by sft, ppo or dpo score "
                         "responses (--allow-any-model scores with it anyway)",
                         path, what);
            return cli_fail(err);
        }
        fprintf(stderr,
                "sjtalign score: warning: %s is %s, not a scorer (made by sft, ppo or dpo); "
                "scoring with it as --allow-any-model asks\n",
                path, what);
    }
    int found = 0;
    if (sja_training_read(s->m, &s->ood.training, &found, err) != SJ_OK)
        return cli_fail(err);
    s->ood.checked = found;
    s->ood.allow_unknown = cli_flag(c, "allow-unknown-items");
    if (!found)
        fprintf(stderr,
                "sjtalign score: warning: %s does not record what it was trained on (made by an "
                "earlier sjtalign, or not by sft, ppo or dpo): responses to items it never "
                "trained on and unusually long ones cannot be told apart\n",
                path);
    return 0;
}

static int open_inputs(const cli_args *c, score_inputs *s, sj_error *err)
{
    memset(s, 0, sizeof *s);
    if (!(s->ins = sj_instrument_load(cli_text(c, "instrument"), err)) ||
        !(s->m = sja_model_load(cli_text(c, "model"), s->ins, err)))
        return cli_fail(err);
    int rc = check_model(c, s, err);
    if (rc)
        return rc;
    if (!(s->in = sj_csv_stream_open(cli_text(c, "data"), err)))
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
    ood_check_free(&s->ood);
}

/* Rank 0 opens the output (its temporary); the other ranks learn whether
 * it could, so that all go on or all stop. */
static int open_output(const char *out, char **names, size_t n_names, sj_csv_writer *w,
                       sj_error *err)
{
    sj_status st = SJ_OK;
    if (sj_dist_is_root())
        st = sj_csv_open(w, out, (const char *const *)names, n_names, err);
    /* Ctrl-C, or mpirun stopping the job, leaves no temporary */
    if (st == SJ_OK && sj_dist_is_root())
        cli_discard_on_signal(w->file.tmp_path);
    if (sj_dist_agree(st, err) == SJ_OK)
        return 0;
    cli_discard_on_signal(NULL);
    if (st == SJ_OK && sj_dist_is_root())
        sj_csv_abort(w);
    return cli_fail(err);
}

/* Writes the scores CSV (replaced only when complete) and its provenance. */
static int write_scores(const cli_args *c, score_inputs *s, sj_error *err)
{
    const char *out = cli_text(c, "out");
    size_t n_names = 0;
    char **names = sja_score_header(s->t, &s->m->codec, NULL, 0, &n_names, err);
    int rc = names ? 0 : cli_fail(err);
    sj_csv_writer w;
    int root = sj_dist_is_root();
    if (!rc && (rc = open_output(out, names, n_names, &w, err)) == 0) {
        mass_summary mass = {0, 0.0, 1.0};
        double t0 = sj_now();
        rc = score_rows(s, (int)cli_int(c, "batch"), cli_flag(c, "quiet"), root ? &w : NULL, &mass,
                        err);
        double seconds = sj_now() - t0;
        if (rc && root)
            sj_csv_abort(&w);
        else if (root && sj_csv_close(&w, err) != SJ_OK)
            rc = cli_fail(err);
        cli_discard_on_signal(NULL);
        if (!rc && root && strcmp(out, "-") != 0 &&
            write_provenance(out, s, cli_text(c, "instrument"), cli_text(c, "data"), &mass, seconds,
                             err) != SJ_OK)
            rc = cli_fail(err);
        if (!rc)
            report_ood(&s->ood, mass.n);
        if (!rc && !cli_flag(c, "quiet"))
            fprintf(stderr, "sjtalign score: %zu responses in %.2f s\n", mass.n, seconds);
    }
    sja_score_header_free(names, n_names);
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
