/* sjtalign sft: supervised fine-tuning of the scorer on human scores. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"
#include "interrupt.h"

static const char *const HELP =
    "usage: sjtalign sft [--init MODEL] --instrument FILE --data FILE --out MODEL [options]\n\n"
    "Fine-tunes a language model to write the scoring \"score: k\" after the prompt\n"
    "\"item <id>: <question>\\nresponse: <text>\\n\" and a separator token. The loss is\n"
    "cross-entropy on the completion tokens only (prompt tokens weigh 0). Persons\n"
    "are split into training and held-out sets; train_log.jsonl records the loss\n"
    "each step and, every --eval-every steps, the held-out loss (val_loss), exact\n"
    "agreement of the modal score with the human score (val_exact) and the\n"
    "quadratic weighted kappa of the modal (val_qwk) and expected\n"
    "(val_qwk_expected) scores. Rows without a human score are left out.\n"
    "Without --init, a model is first pre-trained on the prompts of all rows and\n"
    "kept in MODEL-pretrain/.\n\n"
    "  --init MODEL       pre-trained model directory to start from\n"
    "  --instrument FILE  instrument.json\n"
    "  --data FILE        responses CSV with a human score column\n"
    "  --out MODEL        output model directory (replaced atomically)\n"
    "  --steps N          optimiser steps (default 400)\n"
    "  --batch N          sequences per step (default 32)\n"
    "  --lr X             peak learning rate, warm-up 10%% then cosine (default 0.002)\n"
    "  --val-fraction X   share of persons held out (default 0.1)\n"
    "  --eval-every N     held-out evaluation interval (default 100; also first and last)\n"
    "  --rationale        completions add \" | <rubric anchor>\" after the score\n"
    "  --seed S           random seed (default 1)\n"
    "  without --init: --layers N --heads N --embd N --ctx N --vocab N\n"
    "                     --pretrain-steps N --pretrain-lr X   (model and "
    "pre-training)\n" ALIGN_COLUMN_HELP ALIGN_RUN_HELP
    "Without --init, Ctrl-C during the pre-training saves MODEL-pretrain/ the same\n"
    "way, and --resume continues there.\n";

enum {
    OPT_INIT = 1,
    OPT_INSTRUMENT,
    OPT_DATA,
    OPT_OUT,
    OPT_STEPS,
    OPT_BATCH,
    OPT_LR,
    OPT_VAL,
    OPT_EVAL,
    OPT_RATIONALE,
    OPT_SEED,
    OPT_LAYERS,
    OPT_HEADS,
    OPT_EMBD,
    OPT_CTX,
    OPT_VOCAB,
    OPT_PSTEPS,
    OPT_PLR,
    OPT_HELP,
};

/* Pre-trains on the prompts of every row into MODEL-pretrain (continuing
 * its checkpoint with resume); *stopped is set when a signal stopped it. */
static int pretrain_first(const sj_instrument *ins, const sj_responses *data, sj_pretrain_opts *po,
                          const char *out, int resume, char **init_dir, int *stopped)
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
    *init_dir = sj_asprintf("%s-pretrain", out);
    sj_error err;
    sj_error_clear(&err);
    cJSON *prov = cJSON_CreateObject();
    cJSON_AddStringToObject(prov, "stage", "pretrain (by sft, on the prompts)");
    sj_status st = sj_pretrain((const char *const *)docs, NULL, t->n_rows, po, *init_dir, resume,
                               prov, NULL, stopped, &err);
    cJSON_Delete(prov);
    for (size_t i = 0; i < t->n_rows; i++)
        free(docs[i]);
    free(docs);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

int cmd_sft(int argc, char **argv)
{
    static const struct option options[] = {{"init", required_argument, 0, OPT_INIT},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"data", required_argument, 0, OPT_DATA},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"steps", required_argument, 0, OPT_STEPS},
                                            {"batch", required_argument, 0, OPT_BATCH},
                                            {"lr", required_argument, 0, OPT_LR},
                                            {"val-fraction", required_argument, 0, OPT_VAL},
                                            {"eval-every", required_argument, 0, OPT_EVAL},
                                            {"rationale", no_argument, 0, OPT_RATIONALE},
                                            {"seed", required_argument, 0, OPT_SEED},
                                            {"layers", required_argument, 0, OPT_LAYERS},
                                            {"heads", required_argument, 0, OPT_HEADS},
                                            {"embd", required_argument, 0, OPT_EMBD},
                                            {"ctx", required_argument, 0, OPT_CTX},
                                            {"vocab", required_argument, 0, OPT_VOCAB},
                                            {"pretrain-steps", required_argument, 0, OPT_PSTEPS},
                                            {"pretrain-lr", required_argument, 0, OPT_PLR},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            ALIGN_RUN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *init = NULL, *instrument = NULL, *data_path = NULL, *out = NULL;
    sja_sft_opts o = sja_sft_defaults();
    sj_pretrain_opts po = sj_pretrain_defaults();
    align_common a = {0};
    long v;
    int c, bad = 0;
    cli_getopt_reset();
    while (!bad && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("sft", c, optarg, &a);
        if (r == 0)
            r = align_run_option("sft", c, optarg, &o.run);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_INIT:
            init = optarg;
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
        case OPT_STEPS:
            bad = cli_long("sft", "--steps", optarg, 1, 10000000, &o.steps);
            break;
        case OPT_BATCH:
            bad = cli_long("sft", "--batch", optarg, 1, 4096, &v);
            o.batch = (int)v;
            break;
        case OPT_LR:
            bad = cli_double("sft", "--lr", optarg, 1e-9, 1.0, &o.lr);
            break;
        case OPT_VAL:
            bad = cli_double("sft", "--val-fraction", optarg, 0.0, 0.9, &o.val_fraction);
            break;
        case OPT_EVAL:
            bad = cli_long("sft", "--eval-every", optarg, 0, 10000000, &o.eval_every);
            break;
        case OPT_RATIONALE:
            o.with_rationale = 1;
            break;
        case OPT_SEED:
            bad = cli_seed("sft", optarg, &o.seed);
            break;
        case OPT_LAYERS:
            bad = cli_long("sft", "--layers", optarg, 1, 64, &v);
            po.model.layers = (int)v;
            break;
        case OPT_HEADS:
            bad = cli_long("sft", "--heads", optarg, 1, 64, &v);
            po.model.heads = (int)v;
            break;
        case OPT_EMBD:
            bad = cli_long("sft", "--embd", optarg, 8, 4096, &v);
            po.model.embd = (int)v;
            break;
        case OPT_CTX:
            bad = cli_long("sft", "--ctx", optarg, 8, 4096, &v);
            po.model.ctx = (int)v;
            break;
        case OPT_VOCAB:
            bad = cli_long("sft", "--vocab", optarg, SJ_TOK_N_BASE, 65536, &v);
            po.model.vocab = (int)v;
            break;
        case OPT_PSTEPS:
            bad = cli_long("sft", "--pretrain-steps", optarg, 1, 10000000, &po.steps);
            break;
        case OPT_PLR:
            bad = cli_double("sft", "--pretrain-lr", optarg, 1e-9, 1.0, &po.lr);
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("sft");
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return cli_usage_error("sft", "unexpected argument '%s'", argv[optind]);
    if (cli_require("sft", "--instrument", instrument) || cli_require("sft", "--data", data_path) ||
        cli_require("sft", "--out", out))
        return 2;
    align_apply_threads(&a);
    o.quiet = a.quiet;
    po.quiet = a.quiet;
    po.seed = o.seed;
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    int rc = align_load_data(instrument, data_path, &a, SJ_NEED_TEXT | SJ_NEED_SCORE, &ins, &data);
    if (rc)
        return rc;
    char *made = NULL;
    long stopped = 0;
    int pre_stopped = 0;
    align_run_start(&o.run, &stopped);
    if (!init) {
        sj_error verr;
        sj_error_clear(&verr);
        po.interrupted = &cli_interrupted;
        if (sj_lm_config_validate(&po.model, &verr) != SJ_OK) {
            rc = cli_fail(&verr);
        } else {
            rc = pretrain_first(ins, data, &po, out, o.run.resume, &made, &pre_stopped);
            init = made;
        }
    }
    if (!rc && pre_stopped) {
        cli_interrupt_release();
        rc = cli_interrupt_report("sft", cli_pretrain_steps_done(made), po.steps, made);
        /* a signal stops it; nothing else does (stop_after is not passed on) */
        free(made);
        sj_responses_free(data);
        sj_instrument_free(ins);
        return rc;
    }
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = rc ? NULL : sja_model_load(init, ins, &err);
    if (!rc && !m)
        rc = cli_fail(&err);
    cJSON *summary = NULL;
    if (!rc && sja_sft(m, ins, instrument, data, data_path, &o, out, &summary, &err) != SJ_OK)
        rc = cli_fail(&err);
    rc = align_run_end("sft", rc, stopped, o.steps, out, summary);
    sja_model_free(m);
    free(made);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}
