/* sjtalign pairs: two different candidate scorings per sampled response,
 * for experts (or `judge`) to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const char *const HELP =
    "usage: sjtalign pairs --model MODEL --instrument FILE --data FILE --n N --out FILE\n"
    "                      [--temperature T] [--seed S] [options]\n\n"
    "Samples N responses (without replacement while rows last) and for each draws\n"
    "two different scorings from the policy: the first from the policy's score\n"
    "distribution at temperature T, the second from the same distribution with\n"
    "the first level left out; their order is then randomised. Writes the pairs\n"
    "format: pair_id, item_id, person_id, response, completion_a, completion_b,\n"
    "preferred (empty, for the experts: a, b or empty) and judge_id (empty).\n\n"
    "  --model MODEL      policy model directory (usually the sft output)\n"
    "  --instrument FILE  instrument.json\n"
    "  --data FILE        responses CSV\n"
    "  --n N              number of pairs\n"
    "  --out FILE         pairs CSV\n"
    "  --temperature T    sampling temperature (default 1)\n"
    "  --seed S           random seed (default 1)\n" ALIGN_COLUMN_HELP;

enum { OPT_MODEL = 1, OPT_INSTRUMENT, OPT_DATA, OPT_N, OPT_OUT, OPT_TEMP, OPT_SEED, OPT_HELP };

int cmd_pairs(int argc, char **argv)
{
    static const struct option options[] = {{"model", required_argument, 0, OPT_MODEL},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"data", required_argument, 0, OPT_DATA},
                                            {"n", required_argument, 0, OPT_N},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"temperature", required_argument, 0, OPT_TEMP},
                                            {"seed", required_argument, 0, OPT_SEED},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *model = NULL, *instrument = NULL, *data_path = NULL, *out = NULL;
    sja_pairs_opts o = {.n = 0, .temperature = 1.0, .seed = 1};
    align_common a = {0};
    int c, bad = 0;
    cli_getopt_reset();
    while (!bad && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("pairs", c, optarg, &a);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_MODEL:
            model = optarg;
            break;
        case OPT_INSTRUMENT:
            instrument = optarg;
            break;
        case OPT_DATA:
            data_path = optarg;
            break;
        case OPT_N:
            bad = cli_long("pairs", "--n", optarg, 1, 100000000, &o.n);
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_TEMP:
            bad = cli_double("pairs", "--temperature", optarg, 0.01, 100, &o.temperature);
            break;
        case OPT_SEED:
            bad = cli_seed("pairs", optarg, &o.seed);
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("pairs");
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return cli_usage_error("pairs", "unexpected argument '%s'", argv[optind]);
    if (cli_require("pairs", "--model", model) ||
        cli_require("pairs", "--instrument", instrument) ||
        cli_require("pairs", "--data", data_path) || cli_require("pairs", "--out", out))
        return 2;
    if (o.n < 1)
        return cli_usage_error("pairs", "--n is required");
    align_apply_threads(&a);
    o.quiet = a.quiet;
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    int rc = align_load_data(instrument, data_path, &a, SJ_NEED_TEXT, &ins, &data);
    if (rc)
        return rc;
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(model, ins, &err);
    if (!m || sja_make_pairs(m, ins, data, &o, out, &err) != SJ_OK)
        rc = cli_fail(&err);
    if (!rc) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "n_pairs", (double)o.n);
        align_print_summary("pairs", out, s);
    }
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}
