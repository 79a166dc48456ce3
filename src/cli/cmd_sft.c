/* sjtalign sft: supervised fine-tuning of the scorer on human scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"
#include "interrupt.h"
#include "lm_cli.h"

static const cli_option SFT_OPTIONS[] = {
    {"init", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, 0, "pre-trained model directory to start from"},
    ALIGN_OPT_INSTRUMENT,
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "responses CSV with a human score column"},
    {"out", CLI_OUT_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED,
     "output model directory (replaced atomically)"},
    {"steps", CLI_INT, "N", NULL, 1, 10000000, NULL, 0,
     "optimiser steps (default: four passes over the\ntraining rows, at least 100 and at most "
     "400)"},
    {"batch", CLI_INT, "N", "32", 1, 4096, NULL, 0, "sequences per step"},
    ALIGN_OPT_PEAK_LR("0.002"),
    ALIGN_OPT_WARMUP,
    ALIGN_OPT_KEEP_BEST("val_qwk\n"),
    ALIGN_OPT_VAL_FRACTION,
    {"eval-every", CLI_INT, "N", "100", 0, 10000000, NULL, 0,
     "held-out evaluation interval (and at the first\nand last step)"},
    {"rationale", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "completions add \" | <rubric anchor>\" after the score"},
    {"lexical", CLI_CHOICE, NULL, "on", 0, 0, "on|off", 0,
     "the lexical channel: a word-overlap ordinal model\n(similarity to the rubric anchors and to "
     "scored\ntraining answers) fitted on the training persons,\nwhose level "
     "log-probabilities are added to the\nmodel's score logits (lexical.json in the model)"},
    CLI_OPT_SEED,
    LM_OPT_DEFAULT_SHAPE("without --init: "),
    {"pretrain-steps", CLI_INT, "N", "300", 1, 100000000, NULL, 0,
     "without --init: pre-training steps"},
    {"pretrain-lr", CLI_REAL, "X", "0.003", 1e-9, 10, NULL, 0,
     "without --init: pre-training learning rate"},
    CLI_OPT_RESPONSE_COLUMNS,
    ALIGN_OPT_RUN_CONTROL,
    CLI_END};

const cli_command_spec cli_spec_sft = {
    .name = "sft",
    .synopsis = "[--init MODEL] --instrument FILE --data FILE --out MODEL [options]",
    .about = "Fine-tunes a language model to write the scoring \"score: k\" after the prompt\n"
             "\"item <id>: <question>\\nresponse: <text>\\n\" and a separator token. The loss is\n"
             "cross-entropy on the completion tokens only (prompt tokens weigh 0). Persons\n"
             "are split into training and held-out sets; train_log.jsonl records the loss\n"
             "each step and, every --eval-every steps, the held-out loss (val_loss), exact\n"
             "agreement of the modal score with the human score (val_exact) and the\n"
             "quadratic weighted kappa of the modal (val_qwk) and expected\n"
             "(val_qwk_expected) scores. Rows without a human score are left out.\n"
             "Without --init, a model is first pre-trained on the prompts of all rows and\n"
             "kept in MODEL-pretrain/.",
    .options = SFT_OPTIONS,
    .notes =
        ALIGN_RUN_NOTES "\nWithout --init, Ctrl-C during the pre-training saves MODEL-pretrain/ "
                        "the same\nway, and --resume continues there.",
    .examples =
        "sjtalign sft --init runs/demo/pretrain --instrument data/demo/instrument.json \\\n"
        "    --data data/demo/responses.csv --score human_score --out runs/demo/sft \\\n"
        "    --steps 500 --lr 0.003\n"
        "sjtalign sft --instrument data/demo/instrument.json --data data/demo/responses.csv \\\n"
        "    --out runs/quick/sft --layers 1 --embd 64 --pretrain-steps 100",
};

/* Pre-trains on the prompts of every row into init_dir (continuing its
 * checkpoint with resume); *stopped is set when a signal stopped it. */
static int pretrain_first(const sj_instrument *ins, const sj_responses *data, sj_pretrain_opts *po,
                          const char *init_dir, int resume, int *stopped)
{
    const sj_table *t = data->table;
    char **docs = sj_calloc(t->n_rows, sizeof *docs);
    if (!docs) {
        fprintf(stderr, "sjtalign sft: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < t->n_rows; i++)
        docs[i] =
            sja_prompt_text(ins, data->item_index[i], sj_table_cell(t, i, (size_t)data->col_text));
    sj_error err;
    sj_error_clear(&err);
    cJSON *prov = cJSON_CreateObject();
    cJSON_AddStringToObject(prov, "stage", "pretrain (by sft, on the prompts)");
    po->interrupted = &cli_interrupted;
    sj_status st = sj_pretrain((const char *const *)docs, NULL, t->n_rows, po, init_dir, resume,
                               prov, NULL, stopped, &err);
    cJSON_Delete(prov);
    for (size_t i = 0; i < t->n_rows; i++)
        free(docs[i]);
    free(docs);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

/* The options of the fine-tuning and of the pre-training before it, from
 * the table (defaults included). */
static void read_options(const cli_args *c, sja_sft_opts *o, sj_pretrain_opts *po)
{
    ALIGN_READ_STAGE_OPTIONS(c, o);
    o->val_fraction = cli_real(c, "val-fraction");
    o->with_rationale = cli_flag(c, "rationale");
    o->lexical = cli_choice(c, "lexical") == 0;
    lm_cli_model(c, &po->model);
    po->steps = cli_int(c, "pretrain-steps");
    po->lr = cli_real(c, "pretrain-lr");
    po->seed = o->seed;
    po->quiet = o->quiet;
}

/* MODEL-pretrain for --out MODEL (a trailing '/' of MODEL left out, so the
 * folder is beside MODEL, not inside it). */
static char *pretrain_dir_of(const char *out)
{
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        n--;
    return sj_asprintf("%.*s-pretrain", (int)n, out);
}

/* Without --init: the model config is valid and MODEL-pretrain/ is not an
 * input. Returns 0 or an exit code. */
static int check_pretraining(const cli_args *c, const sj_pretrain_opts *po, const char *made)
{
    sj_error err;
    sj_error_clear(&err);
    if (sj_lm_config_validate(&po->model, &err) != SJ_OK)
        return cli_fail(&err);
    char *what = sj_asprintf("without --init, --out %s also writes %s", cli_text(c, "out"), made);
    int rc = what ? cmd_check_derived_output(c, what, made, 1) : 1;
    free(what);
    return rc;
}

/* Fine-tunes the model in init (pre-trained first into made without
 * --init). */
static int fine_tune(const cli_args *c, sja_sft_opts *o, sj_pretrain_opts *po, const char *made)
{
    const char *init = made ? made : cli_text(c, "init"), *out = cli_text(c, "out");
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    int rc = align_load_responses(c, SJ_NEED_TEXT | SJ_NEED_SCORE, &ins, &data);
    if (rc)
        return rc;
    if (o->steps <= 0)
        o->steps = sja_sft_auto_steps(data, o->val_fraction, o->batch);
    int pre_stopped = 0;
    align_run r;
    align_run_begin(&r, &o->run);
    if (made)
        rc = pretrain_first(ins, data, po, made, o->run.resume, &pre_stopped);
    sja_model *m = NULL;
    if (!rc && pre_stopped) {
        /* a signal stops it; nothing else does (stop_after is not passed on) */
        cli_interrupt_release();
        rc = cli_interrupt_report("sft", cli_pretrain_steps_done(made), po->steps, made);
    } else {
        if (!rc && (!(m = sja_model_load(init, ins, &r.err)) ||
                    sja_sft(m, ins, cli_text(c, "instrument"), data, cli_text(c, "data"), o, out,
                            &r.summary, &r.err) != SJ_OK))
            rc = -1;
        rc = align_run_close(&r, "sft", rc, o->steps, out);
    }
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}

int cmd_sft(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_sft, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sja_sft_opts o = sja_sft_defaults();
    sj_pretrain_opts po = sj_pretrain_defaults();
    read_options(&c, &o, &po);
    char *made = NULL;
    rc = 0;
    if (!cli_given(&c, "init")) {
        made = pretrain_dir_of(cli_text(&c, "out"));
        rc = made ? check_pretraining(&c, &po, made) : 1;
    }
    if (!rc)
        rc = fine_tune(&c, &o, &po, made);
    free(made);
    cli_args_free(&c);
    return rc;
}
