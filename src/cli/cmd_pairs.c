/* sjtalign pairs: two different candidate scorings per sampled response,
 * for experts (or `judge`) to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const cli_option PAIRS_OPTIONS[] = {
    {"model", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED,
     "policy model directory (usually the sft output)"},
    ALIGN_OPT_INSTRUMENT,
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "responses CSV"},
    {"n", CLI_INT, "N", NULL, 1, 100000000, NULL, CLI_REQUIRED, "number of pairs"},
    {"out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "pairs CSV"},
    {"temperature", CLI_REAL, "T", "1", 0.01, 100, NULL, 0, "sampling temperature"},
    CLI_OPT_SEED,
    CLI_OPT_RESPONSE_COLUMNS,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_pairs = {
    .name = "pairs",
    .synopsis = "--model MODEL --instrument FILE --data FILE --n N --out FILE\n"
                "                      [--temperature T] [--seed S] [options]",
    .about = "Samples N responses (without replacement while rows last) and for each draws\n"
             "two different scorings from the policy: the first from the policy's score\n"
             "distribution at temperature T, the second from the same distribution with\n"
             "the first level left out; their order is then randomised. Writes the pairs\n"
             "format: pair_id, item_id, person_id, response, completion_a, completion_b,\n"
             "preferred (empty, for the experts: a, b, tie or empty), judge_id (empty) and,\n"
             "when the responses have a group column (--group), group: the response's group,\n"
             "which lets `reward` compare how each judge treats each group's responses.\n"
             "The responses file is checked as sft checks it: a group or score column, when\n"
             "present, must hold valid labels and scores.",
    .options = PAIRS_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign pairs --model runs/demo/sft --instrument data/demo/instrument.json \\\n"
                "    --data data/demo/responses.csv --n 16000 --temperature 2.5 \\\n"
                "    --out runs/demo/pairs.csv",
};

int cmd_pairs(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_pairs, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sja_pairs_opts o = {.n = cli_int(&c, "n"),
                        .temperature = cli_real(&c, "temperature"),
                        .seed = cli_seed_value(&c, "seed"),
                        .quiet = cli_flag(&c, "quiet")};
    const char *out = cli_text(&c, "out");
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    rc = align_load_responses(&c, SJ_NEED_TEXT, &ins, &data);
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = rc ? NULL : sja_model_load(cli_text(&c, "model"), ins, &err);
    if (!rc && (!m || sja_make_pairs(m, ins, data, &o, out, &err) != SJ_OK))
        rc = cli_fail(&err);
    if (!rc) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "n_pairs", (double)o.n);
        align_print_summary("pairs", out, s);
    }
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    cli_args_free(&c);
    return rc;
}
