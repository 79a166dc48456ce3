/* Options and loading shared by the alignment subcommands. */
#include "align_cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "interrupt.h"

int cmd_check_derived_output(const cli_args *c, const char *what, const char *path, int is_dir)
{
    for (size_t i = 0; i < c->n; i++) {
        const cli_option *o = c->option[i];
        const char *in = c->value[i];
        if (!in || (o->type != CLI_IN_FILE && o->type != CLI_IN_DIR) || strcmp(in, "-") == 0)
            continue;
        if (sj_path_same(in, path))
            return cli_usage_error(c->spec->name,
                                   "%s, which is the input --%s %s; sjtalign never writes over "
                                   "its own input",
                                   what, o->name, in);
        if (is_dir && sj_path_inside(in, path))
            return cli_usage_error(c->spec->name,
                                   "%s, the folder that holds the input --%s %s; choose another "
                                   "--out",
                                   what, o->name, in);
    }
    return 0;
}

void align_columns(const cli_args *c, sj_columns *cols)
{
    const char *names[5] = {"person", "item", "text", "group", "score"};
    const char **fields[5] = {&cols->person, &cols->item, &cols->text, &cols->group, &cols->score};
    for (int i = 0; i < 5; i++)
        *fields[i] = cli_find_option(c->spec, names[i]) ? cli_text(c, names[i]) : NULL;
}

void align_run_options(const cli_args *c, sja_run_control *rc)
{
    rc->resume = cli_flag(c, "resume");
    rc->stop_after = cli_int(c, "stop-after");
}

/* "human_score" when the file lacks a 'score' column but has that one (the
 * simulator and many exports call the rater's score so), else "score". */
static int default_score_column(const char *data_path, const char **score)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(data_path, &err);
    if (!t)
        return cli_fail(&err);
    if (sj_table_find_column(t, "score") < 0 && sj_table_find_column(t, "human_score") >= 0)
        *score = "human_score";
    sj_table_free(t);
    return 0;
}

int align_load_responses(const cli_args *c, int need, sj_instrument **ins, sj_responses **data)
{
    const char *data_path = cli_text(c, "data");
    sj_columns cols;
    align_columns(c, &cols);
    sj_error err;
    sj_error_clear(&err);
    *data = NULL;
    *ins = sj_instrument_load(cli_text(c, "instrument"), &err);
    if (!*ins)
        return cli_fail(&err);
    int rc = 0;
    if (cli_find_option(c->spec, "score") && !cli_given(c, "score"))
        rc = default_score_column(data_path, &cols.score);
    if (!rc && !(*data = sj_responses_load(data_path, &cols, *ins, need, &err)))
        rc = cli_fail(&err);
    if (rc) {
        sj_instrument_free(*ins);
        *ins = NULL;
    }
    return rc;
}

static double summary_number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* "%.3f" of a number, "none" for NaN (nothing held out, no evaluation). */
static const char *figure(double v, char *buf, size_t n)
{
    if (isfinite(v))
        snprintf(buf, n, "%.3f", v);
    else
        snprintf(buf, n, "none");
    return buf;
}

static void print_kept(const cJSON *s)
{
    double kept = summary_number(s, "kept_step");
    if (isfinite(kept))
        fprintf(stderr, "; kept the model of step %.0f (best held-out metric)", kept);
}

static void print_sft(const char *out, const cJSON *s)
{
    char qwk[32], exact[32], loss[32];
    double q = summary_number(s, "val_qwk");
    fprintf(stderr, "sft: wrote %s (held-out persons: QWK %s, exact agreement %s, loss %s nats",
            out, figure(q, qwk, sizeof qwk),
            figure(summary_number(s, "val_exact"), exact, sizeof exact),
            figure(summary_number(s, "val_loss"), loss, sizeof loss));
    print_kept(s);
    fprintf(stderr, ")\n");
    if (isfinite(q) && q <= SFT_QWK_WARN)
        fprintf(stderr,
                "sft: warning: the held-out QWK %.3f is at most %.1f: the scorer agrees with the "
                "human scores hardly better than chance, so its scores (and any alignment built "
                "on it) are not usable yet; train longer (--steps), on more scored responses, or "
                "check that the score column is the right one\n",
                q, SFT_QWK_WARN);
}

static void print_pairs_stage(const char *command, const char *out, const cJSON *s)
{
    int dpo = strcmp(command, "dpo") == 0;
    char acc[32], loss[32], margin[32];
    double n = summary_number(s, "n_pairs");
    fprintf(
        stderr, "%s: wrote %s (held-out %s accuracy %s on %.0f pairs, loss %s", command, out,
        dpo ? "preference" : "pairwise",
        figure(summary_number(s, dpo ? "val_rewards/accuracies" : "val_accuracy"), acc, sizeof acc),
        isfinite(n) ? n : 0, figure(summary_number(s, "val_loss"), loss, sizeof loss));
    if (dpo)
        fprintf(stderr, ", margin %s",
                figure(summary_number(s, "val_rewards/margins"), margin, sizeof margin));
    print_kept(s);
    fprintf(stderr, ")\n");
}

static void print_ppo(const char *out, const cJSON *s)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(s, "kept");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(k, "why");
    char reward[32], kl[32];
    fprintf(stderr, "ppo: wrote %s after %.0f steps%s", out, summary_number(s, "steps_done"),
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "stopped_early"))
                ? " (stopped early: KL above --kl-stop)"
                : "");
    if (k)
        fprintf(stderr, "; kept step %.0f: fixed-set reward %s, KL %s nats (%s)",
                summary_number(k, "step"),
                figure(summary_number(k, "eval_reward"), reward, sizeof reward),
                figure(summary_number(k, "eval_kl"), kl, sizeof kl),
                cJSON_IsString(why) ? why->valuestring : "");
    fprintf(stderr, "\n");
}

void align_print_summary(const char *command, const char *out, cJSON *summary)
{
    if (strcmp(command, "sft") == 0)
        print_sft(out, summary);
    else if (strcmp(command, "reward") == 0 || strcmp(command, "dpo") == 0)
        print_pairs_stage(command, out, summary);
    else if (strcmp(command, "ppo") == 0)
        print_ppo(out, summary);
    else if (strcmp(command, "pairs") == 0)
        fprintf(stderr, "pairs: wrote %s (%.0f pairs to judge)\n", out,
                summary_number(summary, "n_pairs"));
    else
        fprintf(stderr, "%s: wrote %s\n", command, out);
    cJSON_Delete(summary);
}

void align_run_start(sja_run_control *rc, long *stopped_at)
{
    *stopped_at = 0;
    rc->stopped_at = stopped_at;
    rc->interrupted = &cli_interrupted;
    cli_interrupt_catch();
}

/* Restores the handlers; the stop's exit code when the stage stopped
 * early, else -1. */
static int align_run_finish(const char *command, long stopped_at, long steps, const char *out)
{
    cli_interrupt_release();
    if (stopped_at <= 0)
        return -1;
    return cli_interrupt_report(command, stopped_at, steps, out);
}

int align_run_end(const char *command, int rc, long stopped_at, long steps, const char *out,
                  cJSON *summary)
{
    int stop_rc = align_run_finish(command, stopped_at, steps, out);
    if (!rc && stop_rc < 0) {
        align_print_summary(command, out, summary);
        return 0;
    }
    cJSON_Delete(summary);
    return rc ? rc : stop_rc;
}

void align_run_begin(align_run *r, sja_run_control *rc)
{
    sj_error_clear(&r->err);
    r->summary = NULL;
    align_run_start(rc, &r->stopped_at);
}

int align_run_close(align_run *r, const char *command, int rc, long steps, const char *out)
{
    if (rc < 0)
        rc = cli_fail(&r->err);
    return align_run_end(command, rc, r->stopped_at, steps, out, r->summary);
}

/* The options of either pairs stage. */
typedef union {
    sja_reward_opts reward;
    sja_dpo_opts dpo;
} pairs_opts;

/* ALIGN_READ_STAGE_OPTIONS, the options of every stage trained on judged
 * pairs (val-fraction, min-pairs) and the stage's own. Returns the run
 * control inside o. */
#define READ_PAIRS_STAGE_OPTIONS(c, o)                                                             \
    do {                                                                                           \
        ALIGN_READ_STAGE_OPTIONS(c, o);                                                            \
        (o)->val_fraction = cli_real(c, "val-fraction");                                           \
        (o)->min_pairs = cli_int(c, "min-pairs");                                                  \
    } while (0)

static sja_run_control *read_pairs_options(const cli_args *c, align_pairs_kind kind, pairs_opts *o)
{
    if (kind == ALIGN_PAIRS_DPO) {
        o->dpo = sja_dpo_defaults();
        READ_PAIRS_STAGE_OPTIONS(c, &o->dpo);
        o->dpo.beta = cli_real(c, "beta");
        return &o->dpo.run;
    }
    o->reward = sja_reward_defaults();
    READ_PAIRS_STAGE_OPTIONS(c, &o->reward);
    o->reward.head_clip = cli_real(c, "head-clip");
    o->reward.margin = cli_real(c, "margin");
    o->reward.judge_weights =
        cli_choice(c, "judge-weights") == 1 ? SJA_WEIGHTS_AGREEMENT : SJA_WEIGHTS_NONE;
    o->reward.focal = cli_text(c, "focal");
    o->reward.reference = cli_text(c, "reference");
    return &o->reward.run;
}

/* The reward stage's panel check: its summary lines go to standard error
 * (and leave the summary printed on standard output). */
static void print_panel_summary(cJSON *summary)
{
    cJSON *panel = cJSON_GetObjectItemCaseSensitive(summary, "panel");
    cJSON *lines = cJSON_DetachItemFromObjectCaseSensitive(panel, "summary");
    const cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        if (cJSON_IsString(line))
            fprintf(stderr, "reward: panel: %s\n", line->valuestring);
    }
    cJSON_Delete(lines);
}

/* Loads the inputs and trains the stage into --out; 0, or -1 with r->err. */
static int train_on_pairs(const cli_args *c, align_pairs_kind kind, const pairs_opts *o,
                          align_run *r)
{
    const char *instrument = cli_text(c, "instrument"), *pairs_path = cli_text(c, "pairs");
    const char *out = cli_text(c, "out");
    const char *model = cli_text(c, kind == ALIGN_PAIRS_DPO ? "policy" : "init");
    sja_pairs *pairs = NULL;
    sja_model *m = NULL;
    sj_status st = SJ_ERR_WORK;
    sj_instrument *ins = sj_instrument_load(instrument, &r->err);
    if (ins && (pairs = sja_pairs_read(pairs_path, ins, &r->err)) &&
        (m = sja_model_load(model, ins, &r->err)))
        st = kind == ALIGN_PAIRS_DPO ? sja_dpo(m, ins, instrument, pairs, pairs_path, &o->dpo, out,
                                               &r->summary, &r->err)
                                     : sja_reward_train(m, ins, instrument, pairs, pairs_path,
                                                        &o->reward, out, &r->summary, &r->err);
    sja_model_free(m);
    sja_pairs_free(pairs);
    sj_instrument_free(ins);
    print_panel_summary(r->summary);
    return st == SJ_OK ? 0 : -1;
}

int align_pairs_command(const cli_command_spec *spec, align_pairs_kind kind, int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(spec, argc, argv, &c);
    if (rc >= 0)
        return rc;
    pairs_opts o;
    sja_run_control *run = read_pairs_options(&c, kind, &o);
    align_run r;
    align_run_begin(&r, run);
    rc = train_on_pairs(&c, kind, &o, &r);
    rc = align_run_close(&r, spec->name, rc, cli_int(&c, "steps"), cli_text(&c, "out"));
    cli_args_free(&c);
    return rc;
}
