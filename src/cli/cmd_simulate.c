/* sjtalign simulate: an SJT data set with a known truth, for demos,
 * integration tests and power studies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/sim.h"

/* The defaults are those of sj_sim_config_defaults; the table states them
 * for --help and for pipeline checks, and cmd_simulate reads every value
 * from the table. */
static const cli_option SIMULATE_OPTIONS[] = {
    {"out", CLI_OUT_DIR, "DIR", NULL, 0, 0, NULL, CLI_REQUIRED,
     "output folder (created if needed)"},
    {"persons", CLI_INT, "N", "2000", 1, 10000000, NULL, 0, "number of persons"},
    {"items", CLI_INT, "K", "8", 1, 1000, NULL, 0,
     "number of items (the bank holds 10, more are parallel\nforms with their own ids)"},
    {"focal-share", CLI_REAL, "P", "0.3", 0, 1, NULL, 0,
     "focal group's share of persons, 0 < P < 1"},
    {"impact", CLI_REAL, "D", "0", -10, 10, NULL, 0, "focal mean of theta is -D"},
    {"bias", CLI_TEXT, "ITEM:SIZE,...", NULL, 0, 0, NULL, 0,
     "items with rater bias against the focal group, e.g.\nS03:0.6,S06:0.6"},
    {"rater-noise", CLI_REAL, "E", "0.1", 0, 1, NULL, 0, "probability of a one-step rater error"},
    {"raters", CLI_INT, "N", "1", 1, SJ_SIM_MAX_RATERS, NULL, 0,
     "raters per response: 1 writes human_score; N >= 2 writes\nrater_1..rater_N, each with "
     "independent errors and the\nbias"},
    {"seed", CLI_SEED, "S", "1", 0, 0, NULL, 0, "random seed; same seed, identical files"},
    CLI_END};

const cli_command_spec cli_spec_simulate = {
    .name = "simulate",
    .synopsis = "--out DIR [--persons N] [--items K] [--focal-share P]\n"
                "                         [--impact D] [--bias ITEM:SIZE,...] [--rater-noise E]\n"
                "                         [--raters N] [--seed S]",
    .about = "Simulates situational judgment test data where the truth is known, and writes\n"
             "into DIR:\n"
             "  instrument.json  K work-place items (S01, S02, ...) scored 0..3 with\n"
             "                   rubric anchors\n"
             "  responses.csv    person_id, group, item_id, response, human_score\n"
             "                   (with --raters N >= 2: rater_1 .. rater_N in its place)\n"
             "  truth.csv        person_id, item_id, theta, intent, true_score\n"
             "  simulation.json  every parameter, the seed, reference_group, focal_group,\n"
             "                   biased_items and the item parameters\n\n"
             "Persons belong to the group 'reference' or 'focal'. theta ~ N(0,1) in the\n"
             "reference group and N(-D,1) in the focal group. True scores follow a graded\n"
             "response model. Each response expresses an intent consistent with the true\n"
             "score, in the reference register (direct) or the focal register (collective,\n"
             "indirect). Human scores: with probability E one step up or down (clamped to\n"
             "0..3); on a biased item a focal response is then marked down one point with\n"
             "probability SIZE (never below 0). With --raters N >= 2 each rater applies this\n"
             "rule to every response with draws of their own: the raters' errors are\n"
             "independent given the true score, every rater carries the bias, and rater_1\n"
             "equals the human_score of a one-rater run with the same seed.",
    .options = SIMULATE_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign simulate --out data/sim --persons 500 --seed 7\n"
                "sjtalign simulate --out data/demo --persons 2000 --items 8 --impact 0.3 \\\n"
                "    --bias S03:0.6,S06:0.6 --seed 20261126\n"
                "sjtalign simulate --out data/two --persons 500 --raters 2 --seed 7",
};

/* Fills the configuration from the parsed options; a bad --bias or an
 * inconsistent combination is a usage error. */
static int read_config(const cli_args *c, sj_sim_config *cfg)
{
    sj_error err;
    sj_error_clear(&err);
    cfg->n_persons = (size_t)cli_int(c, "persons");
    cfg->n_items = (size_t)cli_int(c, "items");
    cfg->focal_share = cli_real(c, "focal-share");
    cfg->impact = cli_real(c, "impact");
    cfg->rater_noise = cli_real(c, "rater-noise");
    cfg->n_raters = (size_t)cli_int(c, "raters");
    cfg->seed = cli_seed_value(c, "seed");
    const char *bias = cli_text(c, "bias");
    if (bias && sj_sim_parse_bias(bias, cfg, &err) != SJ_OK)
        return cli_usage_error("simulate", "%s", err.msg);
    if (sj_sim_config_check(cfg, &err) != SJ_OK)
        return cli_usage_error("simulate", "%s", err.msg);
    return 0;
}

int cmd_simulate(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_simulate, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    rc = read_config(&c, &cfg);
    if (rc != 0) {
        cli_args_free(&c);
        sj_sim_config_free(&cfg);
        return rc;
    }
    const char *out = cli_text(&c, "out");
    sj_error err;
    sj_error_clear(&err);
    sj_sim_data *d = sj_sim_run(&cfg, &err);
    if (!d || sj_sim_write(out, &cfg, d, &err) != SJ_OK) {
        rc = cli_fail(&err);
    } else {
        size_t n_focal = 0;
        for (size_t p = 0; p < d->n_persons; p++)
            n_focal += d->focal[p];
        fprintf(stderr,
                "simulate: %zu persons (%zu focal) x %zu items, %zu biased, seed %llu -> %s\n",
                d->n_persons, n_focal, d->n_items, cfg.n_bias, (unsigned long long)cfg.seed, out);
    }
    sj_sim_data_free(d);
    sj_sim_config_free(&cfg);
    cli_args_free(&c);
    return rc;
}
