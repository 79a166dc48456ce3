/* sjtalign pretrain: train the byte-level BPE tokenizer and the base
 * language model on the response texts and/or a text corpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interrupt.h"
#include "align_cli.h"
#include "lm_cli.h"
#include "sjtalign/io.h"

static const cli_option PRETRAIN_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "responses CSV (UTF-8, header row)"},
    CLI_OPT_TEXT,
    {"corpus", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "plain UTF-8 text"},
    {"out", CLI_OUT_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "model directory to write"},
    LM_OPT_DEFAULT_SHAPE(""),
    {"steps", CLI_INT, "N", "300", 1, 100000000, NULL, 0, "optimiser steps"},
    {"batch", CLI_INT, "N", "8", 1, 65536, NULL, 0, "sequences per step"},
    {"lr", CLI_REAL, "X", "0.003", 1e-9, 10, NULL, 0,
     "peak learning rate, warm-up then cosine decay"},
    {"warmup-fraction", CLI_REAL, "X", "0.1", 0, 1, NULL, 0,
     "share of the steps with the warm-up (at most 100 steps;\nnone in runs under 20 steps)"},
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    {"eval-every", CLI_INT, "N", "50", 0, 100000000, NULL, 0,
     "validation loss every N steps, and at the first\nand last"},
    {"save-every", CLI_INT, "N", "100", 0, 100000000, NULL, 0,
     "checkpoint every N steps; 0 = only at the end"},
    CLI_OPT_RESUME,
    CLI_OPT_STOP_AFTER,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_pretrain = {
    .name = "pretrain",
    .synopsis = "(--data FILE [--text COL] | --corpus FILE) --out MODEL [options]",
    .about = "Trains a byte-level BPE tokenizer and a GPT-style language model. Documents are\n"
             "the non-empty response texts of --data (one per row) and/or the paragraphs of\n"
             "--corpus (UTF-8 text; blank lines separate paragraphs, long ones are cut at line\n"
             "ends); give one of them or both. 10% of the documents are held out for the\n"
             "validation loss.\n"
             "Writes the model directory MODEL (config.json, tokenizer.json,\n"
             "model.safetensors, optimizer.safetensors, train_log.jsonl) atomically, and a\n"
             "checkpoint every --save-every steps. Ctrl-C (or SIGTERM) stops at the end of\n"
             "the current step, saves a checkpoint and exits with 130 (143 for SIGTERM); a\n"
             "second Ctrl-C ends the program at once. --resume continues a checkpoint to the\n"
             "same result (bit-identical weights) as an uninterrupted run.",
    .options = PRETRAIN_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign pretrain --data data/demo/responses.csv --out runs/demo/pretrain\n"
                "sjtalign pretrain --corpus notes.txt --data responses.csv --out base \\\n"
                "    --layers 4 --embd 128 --steps 2000 --threads 2",
};

/* A list of documents; texts point into owned buffers. */
typedef struct {
    char **docs;
    size_t *lens;
    size_t n, cap;
} doc_list;

static int add_doc(doc_list *d, const char *text, size_t len)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        char **docs = realloc(d->docs, cap * sizeof *docs);
        if (!docs)
            return -1;
        d->docs = docs;
        size_t *lens = realloc(d->lens, cap * sizeof *lens);
        if (!lens)
            return -1;
        d->lens = lens;
        d->cap = cap;
    }
    if (!(d->docs[d->n] = sj_strndup(text, len)))
        return -1;
    d->lens[d->n++] = len;
    return 0;
}

static void free_docs(doc_list *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->docs[i]);
    free(d->docs);
    free(d->lens);
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return 1;
}

/* Paragraphs (separated by blank lines), cut at line ends beyond 2000 bytes. */
static int split_corpus(doc_list *d, const char *text, size_t len)
{
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        /* paragraph end: "\n\n" (allowing \r) or the end of the text */
        while (end < len) {
            if (text[end] == '\n') {
                size_t k = end + 1;
                while (k < len && (text[k] == '\r' || text[k] == ' ' || text[k] == '\t'))
                    k++;
                if (k >= len || text[k] == '\n')
                    break;
            }
            if (end - start >= 2000 && text[end] == '\n')
                break;
            end++;
        }
        if (!only_space(text + start, end - start) && add_doc(d, text + start, end - start) != 0)
            return -1;
        start = end + 1;
    }
    return 0;
}

static sj_status load_corpus(const char *path, doc_list *d, cJSON *prov, sj_error *err)
{
    char *text;
    size_t len;
    if (sj_read_file(path, &text, &len, err) != SJ_OK) {
        err->status = SJ_ERR_INPUT;
        return SJ_ERR_INPUT;
    }
    sj_status st = SJ_OK;
    if (only_space(text, len))
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: the corpus is empty", path);
    else if (memchr(text, '\0', len) || !sj_utf8_valid(text, len))
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: the corpus is not UTF-8 text", path);
    else if (split_corpus(d, text, len) != 0)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        char sha[65];
        sj_sha256_hex(text, len, sha);
        cJSON_AddStringToObject(prov, "corpus", path);
        cJSON_AddStringToObject(prov, "corpus_sha256", sha);
    }
    free(text);
    return st;
}

static sj_status load_responses(const char *path, const char *col, doc_list *d, cJSON *prov,
                                sj_error *err)
{
    sj_table *t = sj_table_read(path, err);
    if (!t)
        return SJ_ERR_INPUT;
    long c = sj_table_column(t, col, err);
    sj_status st = c < 0 ? SJ_ERR_INPUT : SJ_OK;
    size_t added = 0;
    for (size_t r = 0; st == SJ_OK && r < t->n_rows; r++) {
        const char *s = sj_table_cell(t, r, (size_t)c);
        size_t n = strlen(s);
        if (only_space(s, n))
            continue;
        if (add_doc(d, s, n) != 0)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        added++;
    }
    if (st == SJ_OK && added == 0)
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: column '%s' holds no text (empty corpus)", path,
                          col);
    if (st == SJ_OK) {
        char sha[65];
        if (sj_sha256_file(path, sha, err) != SJ_OK)
            st = SJ_ERR_WORK;
        else {
            cJSON_AddStringToObject(prov, "data", path);
            cJSON_AddStringToObject(prov, "data_sha256", sha);
            cJSON_AddStringToObject(prov, "text_column", col);
        }
    }
    sj_table_free(t);
    return st;
}

/* The training options, from the table (defaults included). */
static void read_options(const cli_args *c, sj_pretrain_opts *po)
{
    lm_cli_model(c, &po->model);
    po->steps = cli_int(c, "steps");
    po->batch = (int)cli_int(c, "batch");
    po->lr = cli_real(c, "lr");
    po->warmup_fraction = cli_real(c, "warmup-fraction");
    po->seed = cli_seed_value(c, "seed");
    po->quiet = cli_flag(c, "quiet");
    po->eval_every = cli_int(c, "eval-every");
    po->save_every = cli_int(c, "save-every");
    po->stop_after = cli_int(c, "stop-after");
}

/* Loads the documents of --data and --corpus and trains. */
static int train(const cli_args *c, sj_pretrain_opts *po)
{
    const char *data = cli_text(c, "data"), *corpus = cli_text(c, "corpus");
    const char *out = cli_text(c, "out");
    sj_error err;
    sj_error_clear(&err);
    doc_list docs = {0};
    cJSON *prov = cJSON_CreateObject();
    sj_status st = SJ_OK;
    if (data)
        st = load_responses(data, cli_text(c, "text"), &docs, prov, &err);
    if (st == SJ_OK && corpus)
        st = load_corpus(corpus, &docs, prov, &err);
    if (st == SJ_OK && docs.n < 2)
        st = sj_error_set(&err, SJ_ERR_INPUT,
                          "the input holds %zu document(s); pre-training needs at least 2 (one "
                          "is held out for validation)",
                          docs.n);
    double val_loss = 0.0;
    int stopped = 0;
    if (st == SJ_OK) {
        po->interrupted = &cli_interrupted;
        cli_interrupt_catch();
        st = sj_pretrain((const char *const *)docs.docs, docs.lens, docs.n, po, out,
                         cli_flag(c, "resume"), prov, &val_loss, &stopped, &err);
        cli_interrupt_release();
    }
    free_docs(&docs);
    cJSON_Delete(prov);
    if (st != SJ_OK)
        return cli_fail(&err);
    if (stopped)
        return cli_interrupt_report("pretrain", cli_pretrain_steps_done(out), po->steps, out);
    fprintf(stderr, "pretrain: wrote %s (validation loss %.4f nats/token)\n", out, val_loss);
    return 0;
}

int cmd_pretrain(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_pretrain, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_pretrain_opts po = sj_pretrain_defaults();
    read_options(&c, &po);
    const char *out = cli_text(&c, "out");
    sj_error err;
    sj_error_clear(&err);
    if (!cli_given(&c, "data") && !cli_given(&c, "corpus"))
        rc = cli_usage_error("pretrain", "give --data FILE or --corpus FILE (or both)");
    else if (sj_lm_config_validate(&po.model, &err) != SJ_OK)
        rc = cli_fail(&err);
    /* refused before any training; saving checks again */
    else if (sj_outdir_check_replaceable_by(out, "pretrain", &err) != SJ_OK)
        rc = cli_fail(&err);
    else
        rc = train(&c, &po);
    cli_args_free(&c);
    return rc;
}
