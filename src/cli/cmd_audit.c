/* sjtalign audit: the bias-audit report of one set of machine scores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "sjtalign/report.h"

static const cli_option AUDIT_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "scores CSV"},
    {"instrument", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "instrument.json the scores belong to"},
    CLI_OPT_GROUP,
    {"reference", CLI_TEXT, "R", NULL, 0, 0, NULL, CLI_REQUIRED, "reference group label"},
    {"focal", CLI_TEXT, "F", NULL, 0, 0, NULL, CLI_REQUIRED, "focal group label"},
    {"human", CLI_TEXT, "COL[,COL...]", NULL, 0, 0, NULL, 0,
     "human score column: adds agreement and fairness analyses;\nwith several raters (A,B,...) "
     "the first is the score of\nrecord, and \"raters\" adds human-human agreement,\nPRMSE and "
     "degradation (raters.csv)"},
    {"truth", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "true scores of a simulation (truth.csv of `sjtalign\nsimulate`; columns named as --person "
     "and --item, and\ntrue_score): adds agreement of the machine scores, and of\nthe human "
     "scores, with the true scores (audit.json\n\"truth_agreement\"). Every response needs a true "
     "score;\ntruth rows of responses not in the scores are ignored."},
    {"split", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "split.json of `sjtalign split`: every person in the scores\nmust be one of its held-out "
     "persons; audit.json gets\n\"evaluation\" and the page says on whom it was evaluated"},
    {"cut", CLI_REAL, "X", NULL, -1e300, 1e300, NULL, 0,
     "cut score on the total: pass rates and adverse impact\nratio; outside the possible totals "
     "(items x the\ninstrument's score range) it is an input error"},
    {"match", CLI_CHOICE, NULL, "total", 0, 0, "total|rest", 0, "DIF matching score"},
    {"purify", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0, "iterative purification of the matching score"},
    {"adjust", CLI_CHOICE, "M", "none", 0, 0, "none|holm|bh", 0,
     "p-value adjustment: none, holm or bh"},
    {"min-cell", CLI_INT, "N", "5", 1, 1000000, NULL, 0,
     "items with fewer than N persons in a group are not\ntested"},
    {"bootstrap", CLI_INT, "B", "1000", 0, 1000000, NULL, 0,
     "person-bootstrap replicates for the 95% percentile\nintervals (persons resampled with "
     "all their responses;\nbootstrap.csv holds every replicate); 0: no bootstrap"},
    {"seed", CLI_SEED, "S", "1", 0, 0, NULL, 0,
     "seed of the bootstrap: the same seed resamples the same\npersons in every audit of the "
     "same persons (paired)"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    {"score", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0,
     "machine score column (default: score_mode when the file\nhas it, as a scores file of "
     "`sjtalign score` does, else\nscore)"},
    {"label", CLI_TEXT, "TEXT", NULL, 0, 0, NULL, 0,
     "what was audited, in the page's title (\"Fairness audit \xe2\x80\x94\nTEXT\") and "
     "audit.json \"label\", e.g. \"PPO (after PPO)\";\nwithout it the title names the scores "
     "file's model\nwhen FILE.json beside the scores records one"},
    {"out", CLI_OUT_DIR, "DIR", NULL, 0, 0, NULL, CLI_REQUIRED, "report folder"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_audit = {
    .name = "audit",
    .synopsis = "--data scores.csv --instrument FILE [--group COL]\n"
                "                      --reference R --focal F [--human COL] [--truth FILE]\n"
                "                      [--split FILE]\n"
                "                      [--cut X] [--match total|rest] [--purify]\n"
                "                      [--adjust none|holm|bh] [--min-cell N]\n"
                "                      [--bootstrap B] [--seed S]\n"
                "                      [--person COL] [--item COL] [--text COL]\n"
                "                      [--score COL] [--label TEXT] --out DIR",
    .about = "Audits machine scores for bias: differential item functioning (DIF) of every\n"
             "item, parity of the groups' total scores, and agreement with human scores.\n"
             "Reads a scores file written by `sjtalign score` (the input columns, then score,\n"
             "score_mode and p_<k>); the modal machine score (score_mode) is the item score.\n\n"
             "Writes into DIR (replacing an earlier report there, never anything else):\n"
             "  index.html        the report: one self-contained page (inline CSS and SVG,\n"
             "                    nothing fetched) that prints to A4 or Letter\n"
             "  audit.json        every result (schema_version, dif.items, parity, agreement,\n"
             "                    settings, provenance), read by `sjtalign compare`\n"
             "  dif.csv, parity.csv, distribution.csv, agreement.csv, fairness.csv\n"
             "  bootstrap.csv     with --bootstrap B > 0: every replicate of every\n"
             "                    statistic (statistic, scope, replicate, value)\n"
             "  human_dif.csv     with --human: DIF of the human scores beside the machine's\n"
             "  truth_agreement.csv  with --truth: agreement with the true scores\n"
             "  raters.csv        with --human A,B,...: the several-raters statistics\n"
             "  score_levels.csv  share of each group at each score level (machine, human,\n"
             "                    true scores), pooled and per item\n"
             "  item_curves.csv   mean item score per matching score and group\n"
             "  response_sample.csv  responses of the flagged items for a content panel\n"
             "  item_agreement.csv   with --human: agreement per item and group\n"
             "The folder appears whole or not at all. Standard error gets the score column\n"
             "read, the folder and the items flagged for DIF with their ETS class.\n\n"
             "One focal group per report: every table on the page compares two groups.\n"
             "With several focal groups, run audit once per focal group (each into its own\n"
             "--out); `sjtalign dif` and `sjtalign parity` take a comma list of focal groups.",
    .options = AUDIT_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign audit --data runs/scores/sft.csv --instrument data/instrument.json \\\n"
                "    --group group --reference reference --focal focal --human human_score \\\n"
                "    --purify --adjust bh --out reports/before\n"
                "sjtalign audit --data scores.csv --instrument instrument.json --group site \\\n"
                "    --reference A --focal B --truth data/sim/truth.csv --out reports/sim",
};

static void read_options(const cli_args *c, sj_audit_options *o)
{
    o->data_path = cli_text(c, "data");
    o->instrument_path = cli_text(c, "instrument");
    o->cols.group = cli_text(c, "group");
    o->cols.person = cli_text(c, "person");
    o->cols.item = cli_text(c, "item");
    o->cols.text = cli_text(c, "text");
    o->reference = cli_text(c, "reference");
    o->focal = cli_text(c, "focal");
    o->human_col = cli_text(c, "human");
    o->truth_path = cli_text(c, "truth");
    o->split_path = cli_text(c, "split");
    o->score_col = cli_text(c, "score");
    o->purify = cli_flag(c, "purify");
    if (cli_given(c, "cut"))
        o->cut = cli_real(c, "cut");
    o->min_cell = cli_int(c, "min-cell");
    o->match = (sj_match)cli_choice(c, "match");
    o->adjust = (sj_adjust)cli_choice(c, "adjust");
    o->n_bootstrap = (size_t)cli_int(c, "bootstrap");
    o->seed = cli_seed_value(c, "seed");
    o->label = cli_text(c, "label");
}

/* A cut no total can reach (or every total reaches beyond) makes pass
 * rates meaningless: refused, naming the possible range. Returns 0 or 2. */
static int check_cut(const sj_audit_options *o)
{
    if (isnan(o->cut))
        return 0;
    sj_error err;
    sj_error_clear(&err);
    sj_instrument *ins = sj_instrument_load(o->instrument_path, &err);
    if (!ins)
        return cli_fail(&err);
    double lo = (double)ins->n_items * ins->score_min, hi = (double)ins->n_items * ins->score_max;
    int rc = 0;
    if (o->cut < lo || o->cut > hi)
        rc = cli_usage_error("audit",
                             "--cut %g is outside the possible total scores %g to %g (%zu items "
                             "scored %d to %d in %s); choose a cut within that range",
                             o->cut, lo, hi, ins->n_items, ins->score_min, ins->score_max,
                             o->instrument_path);
    sj_instrument_free(ins);
    return rc;
}

/* A --text column the user named must exist: without it the page would
 * silently show no responses for the content panel. Returns 0 or 2. */
static int check_text_column(const cli_args *c, const sj_audit_options *o)
{
    if (!cli_given(c, "text"))
        return 0;
    sj_error err;
    sj_error_clear(&err);
    sj_csv_stream *s = sj_csv_stream_open(o->data_path, &err);
    if (!s)
        return cli_fail(&err);
    const sj_table *t = sj_csv_stream_table(s);
    int found = 0;
    for (size_t k = 0; k < t->n_cols && !found; k++)
        found = strcmp(t->names[k], o->cols.text) == 0;
    sj_csv_stream_close(s);
    if (found)
        return 0;
    return cli_usage_error("audit", "--text '%s': %s has no such column", o->cols.text,
                           o->data_path);
}

static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The DIF findings of the audit on standard error: items tested, the
 * flagged ones with their ETS class, a purification that did not settle. */
static void print_findings(const cJSON *audit, const sj_audit_options *o)
{
    const cJSON *dif = cJSON_GetObjectItemCaseSensitive(audit, "dif");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(dif, "items"), *it;
    size_t n = 0, tested = 0, flagged = 0;
    sj_buf list = {0};
    cJSON_ArrayForEach(it, items)
    {
        n++;
        tested += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "tested"));
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "flagged")))
            continue;
        const char *type = json_text(it, "type");
        const char *cls =
            json_text(it, type && strcmp(type, "polytomous") == 0 ? "ets_poly_class" : "ets_class");
        const char *item = json_text(it, "item");
        sj_buf_printf(&list, "%s%s %s", flagged++ ? ", " : "", item ? item : "?", cls ? cls : "NA");
    }
    cli_print_dif_findings("audit: DIF of ", o->focal, o->reference, tested, n, flagged,
                           sj_buf_failed(&list) ? "(out of memory)" : list.data);
    sj_buf_free(&list);
    const cJSON *settled =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(dif, "purify_settled"), 0);
    if (cJSON_IsFalse(settled))
        fprintf(stderr, "audit: warning: purification did not settle within 10 rounds (the "
                        "flagged set kept changing); the results are those of round 10, so read "
                        "the flags of items near the B/C bounds with care\n");
}

int cmd_audit(int argc, char **argv)
{
    sj_audit_options o;
    sj_audit_options_init(&o);
    cli_args c;
    int rc = cli_begin(&cli_spec_audit, argc, argv, &c);
    if (rc >= 0)
        return rc;
    read_options(&c, &o);
    rc = check_cut(&o);
    if (!rc)
        rc = check_text_column(&c, &o);
    if (!rc && !(o.score_col = cli_score_column_of_file(o.score_col, o.data_path)))
        rc = 2;
    if (rc) {
        cli_args_free(&c);
        return rc;
    }
    const char *out_dir = cli_text(&c, "out");
    char *command = sj_command_line(argc, argv);
    o.command_line = command;
    sj_error err;
    sj_error_clear(&err);
    cJSON *audit = sj_audit_compute(&o, &err);
    free(command);
    sj_status st = audit ? SJ_OK : err.status ? err.status : SJ_ERR_WORK;
    /* rank 0 alone writes the folder; every rank leaves with its status */
    if (st == SJ_OK) {
        st = sj_dist_is_root() ? sj_audit_write(audit, out_dir, &err) : SJ_OK;
        st = sj_dist_agree(st, &err);
    }
    if (st == SJ_OK) {
        print_findings(audit, &o);
        fprintf(stderr, "audit written to %s (index.html, audit.json, CSV tables)\n", out_dir);
    }
    cJSON_Delete(audit);
    cli_args_free(&c);
    return st == SJ_OK ? 0 : cli_fail(&err);
}
