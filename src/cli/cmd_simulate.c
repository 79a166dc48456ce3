/* sjtalign simulate: an SJT data set with a known truth, for demos,
 * integration tests and power studies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/sim.h"

static const char *const HELP =
    "usage: sjtalign simulate --out DIR [--persons N] [--items K] [--focal-share P]\n"
    "                         [--impact D] [--bias ITEM:SIZE,...] [--rater-noise E] [--seed S]\n\n"
    "Simulates situational judgment test data where the truth is known, and writes\n"
    "into DIR:\n"
    "  instrument.json  K work-place items (S01, S02, ...) scored 0..3 with rubric anchors\n"
    "  responses.csv    person_id, group, item_id, response, human_score\n"
    "  truth.csv        person_id, item_id, theta, intent, true_score\n"
    "  simulation.json  every parameter, the seed, reference_group, focal_group,\n"
    "                   biased_items and the item parameters\n\n"
    "Persons belong to the group 'reference' or 'focal'. theta ~ N(0,1) in the\n"
    "reference group and N(-D,1) in the focal group. True scores follow a graded\n"
    "response model. Each response expresses an intent consistent with the true\n"
    "score, in the reference register (direct) or the focal register (collective,\n"
    "indirect). Human scores: with probability E one step up or down (clamped to\n"
    "0..3); on a biased item a focal response is then marked down one point with\n"
    "probability SIZE (never below 0).\n\n"
    "  --out DIR          output folder (created if needed)\n"
    "  --persons N        number of persons (default 2000)\n"
    "  --items K          number of items (default 8; the bank holds 10, more are\n"
    "                     parallel forms with their own ids)\n"
    "  --focal-share P    share of persons in the focal group, 0 < P < 1 (default 0.3)\n"
    "  --impact D         focal mean of theta is -D (default 0)\n"
    "  --bias LIST        items with rater bias against the focal group, e.g. S03:0.6,S06:0.6\n"
    "  --rater-noise E    probability of a one-step rater error (default 0.1)\n"
    "  --seed S           random seed (default 1); the same seed gives identical files\n";

static int parse_options(int argc, char **argv, sj_sim_config *cfg, const char **out)
{
    static const struct option options[] = {{"out", required_argument, 0, 'o'},
                                            {"persons", required_argument, 0, 'n'},
                                            {"items", required_argument, 0, 'k'},
                                            {"focal-share", required_argument, 0, 'p'},
                                            {"impact", required_argument, 0, 'd'},
                                            {"bias", required_argument, 0, 'b'},
                                            {"rater-noise", required_argument, 0, 'e'},
                                            {"seed", required_argument, 0, 's'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    int c;
    long v;
    sj_error err;
    sj_error_clear(&err);
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'o':
            *out = optarg;
            break;
        case 'n':
            if (cli_long("simulate", "--persons", optarg, 1, 10000000, &v))
                return 2;
            cfg->n_persons = (size_t)v;
            break;
        case 'k':
            if (cli_long("simulate", "--items", optarg, 1, 1000, &v))
                return 2;
            cfg->n_items = (size_t)v;
            break;
        case 'p':
            if (cli_double("simulate", "--focal-share", optarg, -1e300, 1e300, &cfg->focal_share))
                return 2;
            break;
        case 'd':
            if (cli_double("simulate", "--impact", optarg, -10, 10, &cfg->impact))
                return 2;
            break;
        case 'b':
            if (sj_sim_parse_bias(optarg, cfg, &err) != SJ_OK)
                return cli_usage_error("simulate", "%s", err.msg);
            break;
        case 'e':
            if (cli_double("simulate", "--rater-noise", optarg, 0, 1, &cfg->rater_noise))
                return 2;
            break;
        case 's':
            if (cli_seed("simulate", optarg, &cfg->seed))
                return 2;
            break;
        case 'h':
            return -1;
        default:
            return cli_bad_option("simulate");
        }
    }
    if (optind < argc)
        return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    if (cli_require("simulate", "--out", *out))
        return 2;
    if (sj_sim_config_check(cfg, &err) != SJ_OK)
        return cli_usage_error("simulate", "%s", err.msg);
    return 0;
}

int cmd_simulate(int argc, char **argv)
{
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    const char *out = NULL;
    int rc = parse_options(argc, argv, &cfg, &out);
    if (rc != 0) {
        sj_sim_config_free(&cfg);
        return rc < 0 ? cli_help(HELP) : rc;
    }
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
    return rc;
}
