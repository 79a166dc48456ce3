/* sjtalign sft: supervised fine-tuning of the scorer on human scores. */
#include <signal.h>
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
     "responses CSV with one human score column or more\n(--score A,B,...)"},
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
    {"folds", CLI_INT, "K", NULL, 2, 1000, NULL, 0,
     "cross-fit: K models, each trained on the persons of\nthe other folds, score every "
     "response into\n--crossfit-out; then the final model on everyone\n(needs --crossfit-out)"},
    {"crossfit-out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "the cross-fitted scores CSV (with --folds)"},
    CLI_OPT_SEED,
    LM_OPT_DEFAULT_SHAPE("without --init: "),
    {"pretrain-steps", CLI_INT, "N", "300", 1, 100000000, NULL, 0,
     "without --init: pre-training steps"},
    {"pretrain-lr", CLI_REAL, "X", "0.003", 1e-9, 10, NULL, 0,
     "without --init: pre-training learning rate"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    CLI_OPT_GROUP,
    {"score", CLI_TEXT, "COL[,COL...]", "score", 0, 0, NULL, 0,
     "human score column, or several raters' columns\n(trains on their mean); when the file has no "
     "'score'\ncolumn, 'human_score' is used"},
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
             "kept in MODEL-pretrain/.\n\n"
             "Several raters: --score rater_1,rater_2 trains on the raters' mean: one\n"
             "example per rater score of a response, each weighted 1/(the response's number\n"
             "of scores), so every response weighs the same and the target is the raters'\n"
             "score distribution (its expected score is their mean); a response some raters\n"
             "left empty uses the scores it has. The lexical channel is fitted the same way.\n"
             "Held-out agreement is against the raters' mean (val_exact: the modal score\n"
             "equals the mean rounded half away from zero). One column: that rater alone.\n"
             "config.json provenance.human_scores records the columns and the rule.\n\n"
             "Cross-fitting: --folds K --crossfit-out FILE deals the persons into K folds\n"
             "stratified by group (--seed). The model of fold k is trained exactly as sft on\n"
             "the other folds' rows (its own held-out split and lexical channel; without\n"
             "--steps its own default length), kept in MODEL-fold<k>/, and scores every row\n"
             "of fold k's persons (rows without a human score too) as `sjtalign score` does\n"
             "(an item it never trained on is scored and flagged unknown_item). FILE holds\n"
             "every input row once, in input order: the input columns, score, score_mode,\n"
             "p_<k>, ood and fold. Then the final model is trained on everyone into MODEL,\n"
             "byte for byte the model sft without --folds makes (for new responses); its\n"
             "provenance.crossfit records the folds, FILE and its sha256. Without --init, the\n"
             "pre-training (on the prompts of all rows, never their scores) is shared.",
    .options = SFT_OPTIONS,
    .notes =
        ALIGN_RUN_NOTES "\nWithout --init, Ctrl-C during the pre-training saves MODEL-pretrain/ "
                        "the same\nway, and --resume continues there.\n\n"
                        "On success standard error gets what was written and the held-out\n"
                        "figures (QWK, exact agreement, loss; the kept step with --keep-best),\n"
                        "and a warning when the held-out QWK is 0.2 or less: agreement with\n"
                        "the human scores hardly better than chance, a scorer not yet usable\n"
                        "(train longer, on more scored responses, or check the score column).",
    .examples =
        "sjtalign sft --init runs/demo/pretrain --instrument data/demo/instrument.json \\\n"
        "    --data data/demo/responses.csv --score human_score --out runs/demo/sft \\\n"
        "    --steps 500 --lr 0.003\n"
        "sjtalign sft --instrument data/demo/instrument.json --data data/demo/responses.csv \\\n"
        "    --out runs/quick/sft --layers 1 --embd 64 --pretrain-steps 100\n"
        "sjtalign sft --init runs/demo/pretrain --instrument data/demo/instrument.json \\\n"
        "    --data responses.csv --score rater_1,rater_2 --folds 5 \\\n"
        "    --crossfit-out runs/demo/crossfit.csv --out runs/demo/sft",
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

/* Trains: cross-fitted with --folds, else the one model. *stopped_fold
 * receives the fold a signal stopped (crossfit). 0 or -1 with r->err. */
static int train(const cli_args *c, const sj_instrument *ins, const sj_responses *data,
                 const char *init, sja_sft_opts *o, align_run *r, int *stopped_fold)
{
    const char *out = cli_text(c, "out");
    if (cli_given(c, "folds")) {
        sja_crossfit_opts co = {.folds = (int)cli_int(c, "folds"),
                                .scores_out = cli_text(c, "crossfit-out"),
                                .batch = 64};
        return sja_crossfit(init, ins, cli_text(c, "instrument"), data, cli_text(c, "data"), o, &co,
                            out, &r->summary, stopped_fold, &r->err) == SJ_OK
                   ? 0
                   : -1;
    }
    sja_model *m = sja_model_load(init, ins, &r->err);
    int rc = m && sja_sft(m, ins, cli_text(c, "instrument"), data, cli_text(c, "data"), o, out,
                          &r->summary, &r->err) == SJ_OK
                 ? 0
                 : -1;
    sja_model_free(m);
    return rc;
}

/* A signal stopped cross-fitting (fold 0: in the pre-training; K + 1: the
 * final model's training), which does not resume. */
static int report_crossfit_stop(const cli_args *c, int fold)
{
    int folds = (int)cli_int(c, "folds");
    cli_interrupt_release();
    int sig = cli_interrupted;
    char what[64];
    if (fold == 0)
        snprintf(what, sizeof what, "the pre-training");
    else if (fold > folds)
        snprintf(what, sizeof what, "the final model's training");
    else
        snprintf(what, sizeof what, "the training of fold %d of %d", fold, folds);
    fprintf(stderr,
            "sjtalign sft: %s during %s; cross-fitting does not resume (--resume is refused "
            "with --folds): run the command again without --resume\n",
            sig == SIGTERM ? "stopped by SIGTERM" : "interrupted (Ctrl-C)", what);
    return sig ? 128 + sig : 1;
}

/* Fine-tunes the model in init (pre-trained first into made without
 * --init). */
static int fine_tune(const cli_args *c, sja_sft_opts *o, sj_pretrain_opts *po, const char *made)
{
    const char *init = made ? made : cli_text(c, "init"), *out = cli_text(c, "out");
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    int rc = align_load_responses(c, SJ_NEED_TEXT | SJ_NEED_SCORE | SJ_ALLOW_RATERS, &ins, &data);
    if (rc)
        return rc;
    /* cross-fitting leaves each fold's model its own default length */
    long steps = o->steps > 0 ? o->steps : sja_sft_auto_steps(data, o->val_fraction, o->batch);
    if (!cli_given(c, "folds"))
        o->steps = steps;
    int pre_stopped = 0, stopped_fold = 0;
    align_run r;
    align_run_begin(&r, &o->run);
    if (made)
        rc = pretrain_first(ins, data, po, made, o->run.resume, &pre_stopped);
    if (!rc && pre_stopped && cli_given(c, "folds")) {
        rc = report_crossfit_stop(c, 0);
    } else if (!rc && pre_stopped) {
        /* a signal stops it; nothing else does (stop_after is not passed on) */
        cli_interrupt_release();
        rc = cli_interrupt_report("sft", cli_pretrain_steps_done(made), po->steps, made);
    } else {
        if (!rc)
            rc = train(c, ins, data, init, o, &r, &stopped_fold);
        if (!rc && stopped_fold) {
            cJSON_Delete(r.summary);
            rc = report_crossfit_stop(c, stopped_fold);
        } else {
            rc = align_run_close(&r, "sft", rc, steps, out);
        }
    }
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}

/* --folds and --crossfit-out go together, never with --resume or
 * --stop-after; the fold models' folders and the scores file are not
 * inputs, and the file is not inside a folder the run replaces. */
static int check_crossfit(const cli_args *c)
{
    int folds = cli_given(c, "folds"), file = cli_given(c, "crossfit-out");
    if (folds != file)
        return cli_usage_error("sft", "--folds and --crossfit-out go together: --folds K "
                                      "--crossfit-out FILE cross-fits");
    if (!folds)
        return 0;
    if (cli_flag(c, "resume"))
        return cli_usage_error("sft", "--resume cannot continue cross-fitting (--folds): run "
                                      "the command again without --resume");
    if (cli_given(c, "stop-after"))
        return cli_usage_error("sft", "--stop-after cannot be used with --folds (cross-fitting "
                                      "does not resume)");
    const char *out = cli_text(c, "out"), *path = cli_text(c, "crossfit-out");
    int rc = 0;
    for (int k = 0; k <= (int)cli_int(c, "folds") && !rc; k++) {
        char *dir = k ? sja_crossfit_model_dir(out, k) : sj_strdup(out);
        char *what = dir ? sj_asprintf("--folds writes the model of fold %d to %s", k, dir) : NULL;
        if (!what)
            rc = 1;
        else if (k && (rc = cmd_check_derived_output(c, what, dir, 1)) != 0)
            ;
        else if (sj_path_inside(path, dir))
            rc = cli_usage_error("sft",
                                 "--crossfit-out %s lies in the folder %s, which the run "
                                 "replaces; choose another file",
                                 path, dir);
        free(dir);
        free(what);
    }
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
    rc = check_crossfit(&c);
    if (!rc && !cli_given(&c, "init")) {
        made = pretrain_dir_of(cli_text(&c, "out"));
        rc = made ? check_pretraining(&c, &po, made) : 1;
    }
    if (!rc)
        rc = fine_tune(&c, &o, &po, made);
    free(made);
    cli_args_free(&c);
    return rc;
}
