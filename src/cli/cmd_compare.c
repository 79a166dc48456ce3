/* sjtalign compare: the before/after report of two or more audits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/report.h"

#define MAX_AUDITS 16

static const cli_option COMPARE_OPTIONS[] = {
    {"before", CLI_IN_DIR, "DIR", NULL, 0, 0, NULL, CLI_REQUIRED,
     "audit of the scorer before alignment"},
    {"after", CLI_IN_DIR, "DIR[,DIR2]", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_LIST,
     "audit of an aligned scorer; several are separated by\ncommas or given by repeating --after "
     "(at most\n15)"},
    {"training-log", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "train_log.jsonl of the PPO run (TRL metric names)"},
    {"baseline", CLI_IN_DIR, "DIR", NULL, 0, 0, NULL, 0,
     "audit of the transparent baseline scorer (sjtalign\nbaseline), shown beside the others as "
     "a reference"},
    {"panel", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "panel.json of the reward model (sjtalign reward): the\nexpert panel's agreement and each "
     "judge's figures"},
    {"labels", CLI_TEXT, "L1,L2,...", NULL, 0, 0, NULL, 0,
     "one label per audit, before first (default before,\nafter or after 1, after 2, ...)"},
    {"out", CLI_OUT_DIR, "DIR", NULL, 0, 0, NULL, CLI_REQUIRED, "report folder"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_compare = {
    .name = "compare",
    .synopsis = "--before DIR --after DIR [--after DIR2 ...]\n"
                "                        [--training-log FILE] [--baseline DIR] [--panel FILE]\n"
                "                        [--labels \"SFT,PPO,DPO\"] --out DIR",
    .about =
        "Sets audits written by `sjtalign audit` side by side: the audit of the scorer\n"
        "before alignment and of one or more aligned scorers (e.g. PPO and DPO) of the\n"
        "same instrument and groups. Shows per-item DIF before and after (a dumbbell\n"
        "chart of effect sizes over the ETS bands and the class changes, e.g. C->A),\n"
        "group parity and agreement with human scores before and after (the alignment\n"
        "tax, in plain words) and, given a PPO training log, the reward, gold reward,\n"
        "KL and each group's mean score over the steps.\n\n"
        "With --baseline, the audit of `sjtalign baseline`'s scores (the transparent\n"
        "word-overlap scorer fitted on the same human scores) is shown as a reference\n"
        "column beside them: its agreement with the human (and true) scores, its\n"
        "parity and its DIF class and effect per item, and summary lines saying how\n"
        "the language-model scorers compare with it. It is no before or after: no\n"
        "change is computed against it.\n\n"
        "Change intervals: when the audits carry person-bootstrap replicates\n"
        "(bootstrap.csv, `sjtalign audit --bootstrap B`) with the same replicates,\n"
        "seed and persons, every change is also taken replicate by replicate and\n"
        "given its 95% percentile interval. A change is \"improved\" or \"worse\" only\n"
        "when that interval lies wholly on one side of zero, \"within noise\"\n"
        "otherwise; for DIF items the change is that of |SMD/SD| or |MH delta|, and a\n"
        "class change is never called improved on its own. Without replicates the\n"
        "verdicts follow the class rule (a tolerance of 0.005 elsewhere) and say\n"
        "\"(no interval)\". The page says on which persons the audits were evaluated\n"
        "(the held-out split of `audit --split`) and warns when they differ.\n\n"
        "With --panel, the expert panel of the reward model (panel.json of `sjtalign\n"
        "reward`): judgments, ties, Krippendorff's alpha in plain words, and per judge\n"
        "the agreement with the majority, the preference for the higher score on\n"
        "focal and on reference responses, the weight and the flags.\n\n"
        "Writes into DIR (replacing an earlier report there, never anything else):\n"
        "  index.html     the report (self-contained; prints to A4 or Letter)\n"
        "  compare.json   {\"items\": [{\"item\", \"before\", \"after\", \"change\"}],\n"
        "                 \"changes\": [{\"statistic\", \"scope\", \"change\", \"change_ci\",\n"
        "                 \"verdict\"}], \"parity\", \"agreement\", \"bootstrap\",\n"
        "                 \"evaluation\", \"panel\", \"audits\": [labels...], ...}; with more\n"
        "                 than one --after, \"after\" is the first and \"by_label\" holds\n"
        "                 every audit\n"
        "  changes.csv    one row per aligned scorer and item or statistic: values\n"
        "                 before and after, change, change_ci_low/_high, verdict,\n"
        "                 classes (and baseline_class, baseline_effect with --baseline)\n"
        "  agreement.csv  one row per scorer (the baseline last): agreement with\n"
        "                 the human scores and, where known, the true scores\n"
        "  panel_judges.csv  with --panel: one row per judge\n"
        "Its warnings (e.g. a setting that differs between the audits) are also printed\n"
        "on standard error.",
    .options = COMPARE_OPTIONS,
    .notes = "Exit 2: a folder (--baseline too) without audit.json, audits of different\n"
             "instruments or groups, a bad bootstrap.csv (named with line and column), a\n"
             "--panel file that is not a panel.json.",
    .examples = "sjtalign compare --before reports/before --after reports/after \\\n"
                "    --training-log runs/ppo/train_log.jsonl --out reports/compare\n"
                "sjtalign compare --before reports/sft --after reports/ppo,reports/dpo \\\n"
                "    --labels SFT,PPO,DPO --out reports/compare\n"
                "sjtalign compare --before reports/sft --after reports/ppo \\\n"
                "    --baseline reports/baseline --labels SFT,PPO --out reports/compare\n"
                "sjtalign compare --before reports/sft --after reports/ppo,reports/dpo \\\n"
                "    --panel runs/reward/panel.json --labels SFT,PPO,DPO --out reports/compare",
};

/* Splits the --after list into dirs[1..]; returns the number of audits
 * (before included) or 0 after a usage error. */
static size_t split_after(char *list, const char **dirs)
{
    size_t n = 1;
    for (char *part = list;;) {
        char *comma = strchr(part, ',');
        if (comma)
            *comma = '\0';
        if (!part[0]) {
            cli_usage_error("compare", "--after expects audit folders separated by commas, none "
                                       "of them empty");
            return 0;
        }
        if (n == MAX_AUDITS) {
            cli_usage_error("compare", "at most %d --after folders", MAX_AUDITS - 1);
            return 0;
        }
        dirs[n++] = part;
        if (!comma)
            return n;
        part = comma + 1;
    }
}

/* The comparison's warnings (settings that differ between the audits,
 * other truth files or persons) also on standard error, not only on the
 * page and in compare.json. */
static void print_warnings(const cJSON *cmp)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(cmp, "warnings"))
    {
        if (cJSON_IsString(w))
            fprintf(stderr, "compare: warning: %s\n", w->valuestring);
    }
}

static int run_compare(const cli_args *c, const char **dirs, size_t n, char *command)
{
    sj_error err;
    sj_error_clear(&err);
    char **labels = NULL;
    const char *labels_text = cli_text(c, "labels");
    if (labels_text && !(labels = sj_split_labels(labels_text, n, &err)))
        return cli_fail(&err);
    sj_compare_options o = {n,
                            dirs,
                            (const char *const *)labels,
                            cli_text(c, "training-log"),
                            command,
                            cli_text(c, "panel")};
    cJSON *cmp = sj_compare_build(&o, &err);
    sj_labels_free(labels, n);
    const char *baseline = cli_text(c, "baseline");
    if (cmp && baseline && sj_compare_add_baseline(cmp, baseline, &err) != SJ_OK) {
        cJSON_Delete(cmp);
        return cli_fail(&err);
    }
    const char *out_dir = cli_text(c, "out");
    sj_status st = cmp ? sj_compare_write(cmp, out_dir, &err) : SJ_ERR_WORK;
    if (st == SJ_OK)
        print_warnings(cmp);
    cJSON_Delete(cmp);
    if (st != SJ_OK)
        return cli_fail(&err);
    fprintf(stderr,
            "comparison written to %s (index.html, compare.json, changes.csv, agreement.csv%s)\n",
            out_dir, cli_text(c, "panel") ? ", panel_judges.csv" : "");
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_compare, argc, argv, &c);
    if (rc >= 0)
        return rc;
    const char *dirs[MAX_AUDITS] = {cli_text(&c, "before")};
    char *after = sj_strdup(cli_text(&c, "after"));
    size_t n = after ? split_after(after, dirs) : 0;
    if (n > 0) {
        char *command = sj_command_line(argc, argv);
        rc = run_compare(&c, dirs, n, command);
        free(command);
    } else {
        rc = after ? 2 : 1;
    }
    free(after);
    cli_args_free(&c);
    return rc;
}
