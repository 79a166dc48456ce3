/* sjtalign pretrain: train the byte-level BPE tokenizer and the base
 * language model on the response texts and/or a text corpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interrupt.h"
#include "lm_cli.h"
#include "sjtalign/io.h"

static const char *const HELP =
    "usage: sjtalign pretrain (--data FILE [--text COL] | --corpus FILE) --out MODEL\n"
    "                         [--layers N] [--heads N] [--embd N] [--ctx N] [--vocab N]\n"
    "                         [--steps N] [--batch N] [--lr X] [--seed S] [--threads N]\n"
    "                         [--eval-every N] [--save-every N] [--resume]\n\n"
    "Trains a byte-level BPE tokenizer and a GPT-style language model. Documents are\n"
    "the non-empty response texts of --data (one per row) and/or the paragraphs of\n"
    "--corpus (UTF-8 text; blank lines separate paragraphs, long ones are cut at line\n"
    "ends). 10% of the documents are held out for the validation loss.\n"
    "Writes the model directory MODEL (config.json, tokenizer.json,\n"
    "model.safetensors, optimizer.safetensors, train_log.jsonl) atomically, and a\n"
    "checkpoint every --save-every steps. Ctrl-C (or SIGTERM) stops at the end of\n"
    "the current step, saves a checkpoint and exits with 130 (143 for SIGTERM); a\n"
    "second Ctrl-C ends the program at once. --resume continues a checkpoint to the\n"
    "same result (bit-identical weights) as an uninterrupted run.\n\n"
    "  --data FILE       responses CSV (UTF-8, header row)\n"
    "  --text COL        response text column (default response)\n"
    "  --corpus FILE     plain UTF-8 text\n"
    "  --out MODEL       model directory to write\n"
    "  --layers N        transformer blocks (default 2)\n"
    "  --heads N         attention heads (default 4)\n"
    "  --embd N          width, divisible by --heads (default 96)\n"
    "  --ctx N           context length, at least 8 (default 128)\n"
    "  --vocab N         tokenizer vocabulary target, at least 260 (default 512)\n"
    "  --steps N         optimiser steps (default 300)\n"
    "  --batch N         sequences per step (default 8)\n"
    "  --lr X            peak learning rate, warm-up then cosine decay (default 0.003)\n"
    "  --seed S          random seed (default 1)\n"
    "  --threads N       threads for OpenMP and OpenBLAS (default: OpenBLAS's)\n"
    "  --eval-every N    validation loss every N steps, and at the first and last\n"
    "                    (default 50)\n"
    "  --save-every N    checkpoint every N steps; 0 = only at the end (default 100)\n"
    "  --resume          continue from the checkpoint at MODEL\n"
    "  --stop-after N    stop after step N as if interrupted (for testing --resume)\n";

enum { OPT_DATA = 1, OPT_TEXT, OPT_CORPUS, OPT_OUT, OPT_EVAL, OPT_SAVE, OPT_RESUME, OPT_STOP };

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

int cmd_pretrain(int argc, char **argv)
{
    static const struct option options[] = {LM_CLI_OPTIONS,
                                            {"data", required_argument, 0, OPT_DATA},
                                            {"text", required_argument, 0, OPT_TEXT},
                                            {"corpus", required_argument, 0, OPT_CORPUS},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"eval-every", required_argument, 0, OPT_EVAL},
                                            {"save-every", required_argument, 0, OPT_SAVE},
                                            {"stop-after", required_argument, 0, OPT_STOP},
                                            {"resume", no_argument, 0, OPT_RESUME},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    sj_pretrain_opts po = sj_pretrain_defaults();
    lm_cli_opts o = {.model = po.model,
                     .steps = po.steps,
                     .batch = po.batch,
                     .lr = po.lr,
                     .seed = po.seed,
                     .threads = 0};
    const char *data = NULL, *text_col = "response", *corpus = NULL, *out = NULL;
    int resume = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = lm_cli_option("pretrain", c, optarg, &o);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_TEXT:
            text_col = optarg;
            break;
        case OPT_CORPUS:
            corpus = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_EVAL:
            if (cli_long("pretrain", "--eval-every", optarg, 0, 100000000, &po.eval_every))
                return 2;
            break;
        case OPT_SAVE:
            if (cli_long("pretrain", "--save-every", optarg, 0, 100000000, &po.save_every))
                return 2;
            break;
        case OPT_STOP:
            if (cli_long("pretrain", "--stop-after", optarg, 1, 100000000, &po.stop_after))
                return 2;
            break;
        case OPT_RESUME:
            resume = 1;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("pretrain");
        }
    }
    if (optind < argc)
        return cli_usage_error("pretrain", "unexpected argument '%s'", argv[optind]);
    if (!data && !corpus)
        return cli_usage_error("pretrain", "give --data FILE or --corpus FILE (or both)");
    if (cli_require("pretrain", "--out", out))
        return 2;
    po.model = o.model;
    po.steps = o.steps;
    po.batch = (int)o.batch;
    po.lr = o.lr;
    po.seed = o.seed;
    sj_error err;
    sj_error_clear(&err);
    if (sj_lm_config_validate(&po.model, &err) != SJ_OK)
        return cli_fail(&err);
    /* refused before any training; saving checks again */
    if (sj_outdir_check_replaceable_by(out, "pretrain", &err) != SJ_OK)
        return cli_fail(&err);
    if (o.threads > 0)
        sj_lm_set_threads((int)o.threads);
    doc_list docs = {0};
    cJSON *prov = cJSON_CreateObject();
    sj_status st = SJ_OK;
    if (data)
        st = load_responses(data, text_col, &docs, prov, &err);
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
        po.interrupted = &cli_interrupted;
        cli_interrupt_catch();
        st = sj_pretrain((const char *const *)docs.docs, docs.lens, docs.n, &po, out, resume, prov,
                         &val_loss, &stopped, &err);
        cli_interrupt_release();
    }
    free_docs(&docs);
    cJSON_Delete(prov);
    if (st != SJ_OK)
        return cli_fail(&err);
    if (stopped)
        return cli_interrupt_report("pretrain", cli_pretrain_steps_done(out), po.steps, out);
    fprintf(stderr, "pretrain: wrote %s (validation loss %.4f nats/token)\n", out, val_loss);
    return 0;
}
