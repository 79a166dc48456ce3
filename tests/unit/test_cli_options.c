/* The option-table framework (src/cli/options.c): value checks with their
 * exact messages, parsing of a hand-built spec, "did you mean", the
 * input/output clash check; and the tables of the training and scoring
 * commands against the library's defaults and the model's limits. */
#include "test_helpers.h"

#include <math.h>
#include <sys/stat.h>

#include "options.h"
#include "sjtalign/align.h"
#include "sjtalign/lm.h"
#include "sjtalign/util.h"

/* ---- checking one value ------------------------------------------------------ */

static const cli_option INT_OPT = {"count", CLI_INT, "N", "3", 1, 64, NULL, 0, "a count"};
static const cli_option REAL_OPT = {"share", CLI_REAL, "X", "0.1", 0, 0.9, NULL, 0, "a share"};
static const cli_option CHOICE_OPT = {"mode", CLI_CHOICE, NULL, "a", 0, 0, "a|bb|c", 0, "a mode"};
static const cli_option SEED_OPT = {"seed", CLI_SEED, "S", "1", 0, 0, NULL, 0, "a seed"};
static const cli_option TEXT_OPT = {"label", CLI_TEXT, "L", NULL, 0, 0, NULL, 0, "a label"};
static const cli_option FLAG_OPT = {"loud", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0, "a flag"};
static const cli_option IN_OPT = {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "input"};
static const cli_option IN_STDIN_OPT = {"data", CLI_IN_FILE, "FILE",    NULL,   0,
                                        0,      NULL,        CLI_STDIN, "input"};
static const cli_option OUT_OPT = {"out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, 0, "output"};
static const cli_option OUT_STDOUT_OPT = {"out", CLI_OUT_FILE, "FILE",     NULL,    0,
                                          0,     NULL,         CLI_STDOUT, "output"};

/* The message for a rejected value, or "" when it is accepted. */
static const char *why_not(const cli_option *o, const char *value)
{
    static char why[512];
    why[0] = '\0';
    if (cli_check_value(o, value, why, sizeof why) == 0)
        return "";
    return why;
}

static void whole_numbers(void **state)
{
    (void)state;
    assert_string_equal(why_not(&INT_OPT, "1"), "");
    assert_string_equal(why_not(&INT_OPT, "64"), "");
    assert_string_equal(why_not(&INT_OPT, "0"), "must be between 1 and 64, got '0'");
    assert_string_equal(why_not(&INT_OPT, "65"), "must be between 1 and 64, got '65'");
    assert_string_equal(why_not(&INT_OPT, "3x"), "expected a whole number from 1 to 64, got '3x'");
    assert_string_equal(why_not(&INT_OPT, "2.5"),
                        "expected a whole number from 1 to 64, got '2.5'");
    assert_string_equal(why_not(&INT_OPT, ""), "expected a value, got an empty one");
}

static void real_numbers(void **state)
{
    (void)state;
    assert_string_equal(why_not(&REAL_OPT, "0"), "");
    assert_string_equal(why_not(&REAL_OPT, "0.9"), "");
    assert_string_equal(why_not(&REAL_OPT, "1"), "must be between 0 and 0.9, got '1'");
    assert_string_equal(why_not(&REAL_OPT, "-0.1"), "must be between 0 and 0.9, got '-0.1'");
    assert_string_equal(why_not(&REAL_OPT, "inf"), "expected a number from 0 to 0.9, got 'inf'");
    assert_string_equal(why_not(&REAL_OPT, "half"), "expected a number from 0 to 0.9, got 'half'");
}

static void choices_seeds_and_text(void **state)
{
    (void)state;
    assert_string_equal(why_not(&CHOICE_OPT, "bb"), "");
    assert_string_equal(why_not(&CHOICE_OPT, "b"), "expected one of a|bb|c, got 'b'");
    assert_string_equal(why_not(&CHOICE_OPT, "a|bb"), "expected one of a|bb|c, got 'a|bb'");
    assert_string_equal(why_not(&SEED_OPT, "0"), "");
    assert_string_equal(why_not(&SEED_OPT, "18446744073709551615"), "");
    assert_string_equal(why_not(&SEED_OPT, "18446744073709551616"),
                        "is too large: the largest seed is 18446744073709551615, got "
                        "'18446744073709551616'");
    assert_string_equal(why_not(&SEED_OPT, "-1"), "expected a non-negative whole number, got '-1'");
    assert_string_equal(why_not(&SEED_OPT, "1e3"),
                        "expected a non-negative whole number, got '1e3'");
    assert_string_equal(why_not(&TEXT_OPT, "any text, even -"), "");
    assert_string_equal(why_not(&TEXT_OPT, ""), "expected a value, got an empty one");
    assert_string_equal(why_not(&FLAG_OPT, NULL), "");
}

static void paths_and_dashes(void **state)
{
    (void)state;
    assert_string_equal(why_not(&IN_OPT, "data.csv"), "");
    assert_string_equal(why_not(&IN_OPT, "-"), "cannot read standard input ('-'); give a path");
    assert_string_equal(why_not(&IN_STDIN_OPT, "-"), "");
    assert_string_equal(why_not(&OUT_OPT, "-"),
                        "cannot write to standard output ('-'); give a path");
    assert_string_equal(why_not(&OUT_STDOUT_OPT, "-"), "");
}

/* ---- parsing a hand-built spec ---------------------------------------------- */

static const cli_option DEMO_OPTIONS[] = {
    {"count", CLI_INT, "N", "3", 1, 10, NULL, 0, "how many"},
    {"rate", CLI_REAL, "X", "0.5", 0, 1, NULL, 0, "how fast"},
    {"name", CLI_TEXT, "NAME", NULL, 0, 0, NULL, CLI_REQUIRED, "who"},
    {"mode", CLI_CHOICE, NULL, "slow", 0, 0, "fast|slow", 0, "how"},
    {"verbose", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0, "talk"},
    {"seed", CLI_SEED, "S", "7", 0, 0, NULL, 0, "seed"},
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "input"},
    {"dir", CLI_IN_DIR, "DIR", NULL, 0, 0, NULL, 0, "input folder"},
    {"out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, 0, "output"},
    {"folder", CLI_OUT_DIR, "DIR", NULL, 0, 0, NULL, 0, "output folder"},
    CLI_END};

static const cli_command_spec DEMO = {.name = "demo",
                                      .synopsis = "--name NAME [options]",
                                      .about = "A test.",
                                      .options = DEMO_OPTIONS};

/* cli_parse with standard output and error sent to files; *err_text gets
 * what went to standard error. */
static int parse(int argc, char **argv, int allow_positional, cli_args *a, char *err_text,
                 size_t cap)
{
    fflush(stdout);
    fflush(stderr);
    FILE *err_file = tmpfile(), *out_file = tmpfile();
    assert_non_null(err_file);
    assert_non_null(out_file);
    int saved_err = dup(STDERR_FILENO), saved_out = dup(STDOUT_FILENO);
    dup2(fileno(err_file), STDERR_FILENO);
    dup2(fileno(out_file), STDOUT_FILENO);
    int rc = cli_parse(&DEMO, argc, argv, allow_positional, a);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_err, STDERR_FILENO);
    dup2(saved_out, STDOUT_FILENO);
    close(saved_err);
    close(saved_out);
    rewind(err_file);
    size_t n = fread(err_text, 1, cap - 1, err_file);
    err_text[n] = '\0';
    fclose(err_file);
    fclose(out_file);
    return rc;
}

#define ARGC(v) ((int)(sizeof(v) / sizeof(v)[0]))

static void defaults_when_not_given(void **state)
{
    (void)state;
    char *argv[] = {"demo", "--name", "x"};
    cli_args a;
    char err[1024];
    assert_int_equal(parse(ARGC(argv), argv, 0, &a, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(cli_int(&a, "count"), 3);
    assert_true(cli_real(&a, "rate") == 0.5);
    assert_string_equal(cli_text(&a, "name"), "x");
    assert_int_equal(cli_choice(&a, "mode"), 1);
    assert_int_equal(cli_flag(&a, "verbose"), 0);
    assert_true(cli_seed_value(&a, "seed") == 7);
    assert_null(cli_text(&a, "data"));
    assert_int_equal(cli_given(&a, "count"), 0);
    assert_int_equal(a.n_positional, 0);
    cli_args_free(&a);
}

static void given_values(void **state)
{
    (void)state;
    char *argv[] = {"demo", "--count",   "5",      "--rate=0.25", "--name",  "y", "--mode",
                    "fast", "--verbose", "--seed", "42",          "--count", "6"};
    cli_args a;
    char err[1024];
    assert_int_equal(parse(ARGC(argv), argv, 0, &a, err, sizeof err), 0);
    assert_int_equal(cli_int(&a, "count"), 6); /* the last one given counts */
    assert_int_equal(cli_given(&a, "count"), 2);
    assert_true(cli_real(&a, "rate") == 0.25);
    assert_string_equal(cli_text(&a, "name"), "y");
    assert_int_equal(cli_choice(&a, "mode"), 0);
    assert_int_equal(cli_flag(&a, "verbose"), 1);
    assert_true(cli_seed_value(&a, "seed") == 42);
    cli_args_free(&a);
}

static void usage_errors(void **state)
{
    (void)state;
    cli_args a;
    char err[1024];
    char *missing[] = {"demo", "--count", "5"};
    assert_int_equal(parse(ARGC(missing), missing, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: --name is required\nTry 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *range[] = {"demo", "--name", "x", "--count", "11"};
    assert_int_equal(parse(ARGC(range), range, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: --count must be between 1 and 10, got '11'\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *no_value[] = {"demo", "--name"};
    assert_int_equal(parse(ARGC(no_value), no_value, 0, &a, err, sizeof err), 2);
    assert_string_equal(err,
                        "sjtalign demo: --name expects a value\nTry 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *stray[] = {"demo", "--name", "x", "extra"};
    assert_int_equal(parse(ARGC(stray), stray, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unexpected argument 'extra'\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *help[] = {"demo", "--count", "2", "--help"};
    assert_int_equal(parse(ARGC(help), help, 0, &a, err, sizeof err), 1);
    assert_string_equal(err, "");
    cli_args_free(&a);
}

static void positional_arguments_keep_their_order(void **state)
{
    (void)state;
    char *argv[] = {"demo", "first.json", "--name", "x", "second", "--count", "4"};
    cli_args a;
    char err[1024];
    assert_int_equal(parse(ARGC(argv), argv, 1, &a, err, sizeof err), 0);
    assert_int_equal(a.n_positional, 2);
    assert_string_equal(a.positional[0], "first.json");
    assert_string_equal(a.positional[1], "second");
    assert_int_equal(cli_int(&a, "count"), 4);
    assert_string_equal(cli_text(&a, "name"), "x");
    cli_args_free(&a);
}

/* Unknown options name the nearest option within two edits. */
static void did_you_mean(void **state)
{
    (void)state;
    cli_args a;
    char err[1024];
    char *dropped[] = {"demo", "--name", "x", "--cont", "2"}; /* one letter left out */
    assert_int_equal(parse(ARGC(dropped), dropped, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unknown option '--cont'; did you mean '--count'?\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *swapped[] = {"demo", "--nmae", "x"}; /* two letters swapped: two edits */
    assert_int_equal(parse(ARGC(swapped), swapped, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unknown option '--nmae'; did you mean '--name'?\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    /* getopt_long alone would take a unique prefix for the option */
    char *shortened[] = {"demo", "--name", "x", "--coun", "2"};
    assert_int_equal(parse(ARGC(shortened), shortened, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unknown option '--coun'; did you mean '--count'?\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *prefix[] = {"demo", "--name", "x", "--verb"}; /* three edits from --verbose */
    assert_int_equal(parse(ARGC(prefix), prefix, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unknown option '--verb'\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
    char *far[] = {"demo", "--name", "x", "--colour=red"}; /* three edits from every name */
    assert_int_equal(parse(ARGC(far), far, 0, &a, err, sizeof err), 2);
    assert_string_equal(err, "sjtalign demo: unknown option '--colour'\n"
                             "Try 'sjtalign demo --help'.\n");
    cli_args_free(&a);
}

/* ---- outputs against inputs -------------------------------------------------- */

static int check_io(char **argv, int argc, char *err, size_t cap)
{
    cli_args a;
    assert_int_equal(parse(argc, argv, 0, &a, err, cap), 0);
    fflush(stderr);
    FILE *err_file = tmpfile();
    int saved = dup(STDERR_FILENO);
    dup2(fileno(err_file), STDERR_FILENO);
    int rc = cli_check_io(&a);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(err_file);
    size_t n = fread(err, 1, cap - 1, err_file);
    err[n] = '\0';
    fclose(err_file);
    cli_args_free(&a);
    return rc;
}

static void outputs_never_replace_inputs(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *sub = sj_path_join(dir, "m");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *data = sj_path_join(sub, "d.csv");
    test_write_text(data, "a\n1\n", 4);
    char *other = sj_path_join(dir, "e.csv");
    char *dotted = sj_asprintf("%s/../m/d.csv", sub); /* the same file, another spelling */
    char err[2048], want[2048];

    char *same[] = {"demo", "--name", "x", "--data", data, "--out", dotted};
    assert_int_equal(check_io(same, ARGC(same), err, sizeof err), 2);
    snprintf(want, sizeof want,
             "sjtalign demo: --out %s is also the input --data %s; sjtalign never writes over "
             "its own input\nTry 'sjtalign demo --help'.\n",
             dotted, data);
    assert_string_equal(err, want);

    char *holder[] = {"demo", "--name", "x", "--data", data, "--folder", sub};
    assert_int_equal(check_io(holder, ARGC(holder), err, sizeof err), 2);
    snprintf(want, sizeof want,
             "sjtalign demo: --folder %s would replace the folder that holds the input --data "
             "%s; choose another --folder\nTry 'sjtalign demo --help'.\n",
             sub, data);
    assert_string_equal(err, want);

    char *folder_in[] = {"demo", "--name", "x", "--dir", sub, "--folder", sub};
    assert_int_equal(check_io(folder_in, ARGC(folder_in), err, sizeof err), 2);

    char *apart[] = {"demo", "--name", "x", "--data", data, "--out", other, "--folder", dir};
    assert_int_equal(check_io(apart, 7, err, sizeof err), 0); /* without --folder */
    assert_string_equal(err, "");
    assert_int_equal(check_io(apart, ARGC(apart), err, sizeof err), 2); /* dir holds m/d.csv */
    free(dotted);
    free(other);
    free(data);
    free(sub);
    test_rmdir(dir);
}

/* ---- the command tables -------------------------------------------------------- */

static const cli_option *option_of(const char *command, const char *name)
{
    const cli_command_spec *spec = cli_spec_of(command);
    assert_non_null(spec);
    const cli_option *o = cli_find_option(spec, name);
    if (!o)
        fail_msg("sjtalign %s has no --%s", command, name);
    return o;
}

/* The table's default as a number (NAN when it has none). */
static double default_of(const char *command, const char *name)
{
    const cli_option *o = option_of(command, name);
    return o->def ? strtod(o->def, NULL) : NAN;
}

#define ASSERT_DEFAULT(command, name, value)                                                       \
    do {                                                                                           \
        if (default_of(command, name) != (double)(value))                                          \
            fail_msg("%s --%s: table default %s, library default %g", command, name,               \
                     option_of(command, name)->def, (double)(value));                              \
    } while (0)

static void model_defaults(const char *command, sj_lm_config m)
{
    ASSERT_DEFAULT(command, "layers", m.layers);
    ASSERT_DEFAULT(command, "heads", m.heads);
    ASSERT_DEFAULT(command, "embd", m.embd);
    ASSERT_DEFAULT(command, "ctx", m.ctx);
    ASSERT_DEFAULT(command, "vocab", m.vocab);
}

static void pretrain_and_sft_defaults_are_the_library_defaults(void **state)
{
    (void)state;
    sj_pretrain_opts p = sj_pretrain_defaults();
    model_defaults("pretrain", p.model);
    ASSERT_DEFAULT("pretrain", "steps", p.steps);
    ASSERT_DEFAULT("pretrain", "batch", p.batch);
    ASSERT_DEFAULT("pretrain", "lr", p.lr);
    ASSERT_DEFAULT("pretrain", "seed", p.seed);
    ASSERT_DEFAULT("pretrain", "eval-every", p.eval_every);
    ASSERT_DEFAULT("pretrain", "save-every", p.save_every);
    ASSERT_DEFAULT("pretrain", "warmup-fraction", p.warmup_fraction);
    sja_sft_opts s = sja_sft_defaults();
    model_defaults("sft", p.model);
    ASSERT_DEFAULT("sft", "pretrain-steps", p.steps);
    ASSERT_DEFAULT("sft", "pretrain-lr", p.lr);
    /* no table default: both mean "four passes over the training rows" */
    assert_null(option_of("sft", "steps")->def);
    assert_int_equal(s.steps, 0);
    assert_int_equal(s.lexical, 1);
    ASSERT_DEFAULT("sft", "batch", s.batch);
    ASSERT_DEFAULT("sft", "lr", s.lr);
    ASSERT_DEFAULT("sft", "val-fraction", s.val_fraction);
    ASSERT_DEFAULT("sft", "eval-every", s.eval_every);
    ASSERT_DEFAULT("sft", "seed", s.seed);
    ASSERT_DEFAULT("sft", "warmup-fraction", s.warmup_fraction);
    assert_int_equal(s.keep_best, 0); /* a flag: off unless given */
}

static void alignment_defaults_are_the_library_defaults(void **state)
{
    (void)state;
    sja_reward_opts r = sja_reward_defaults();
    ASSERT_DEFAULT("reward", "steps", r.steps);
    ASSERT_DEFAULT("reward", "batch", r.batch);
    ASSERT_DEFAULT("reward", "lr", r.lr);
    ASSERT_DEFAULT("reward", "margin", r.margin);
    ASSERT_DEFAULT("reward", "val-fraction", r.val_fraction);
    ASSERT_DEFAULT("reward", "eval-every", r.eval_every);
    ASSERT_DEFAULT("reward", "min-pairs", r.min_pairs);
    ASSERT_DEFAULT("reward", "seed", r.seed);
    ASSERT_DEFAULT("reward", "warmup-fraction", r.warmup_fraction);
    ASSERT_DEFAULT("reward", "head-clip", r.head_clip);
    assert_int_equal(r.keep_best, 0);
    sja_dpo_opts d = sja_dpo_defaults();
    ASSERT_DEFAULT("dpo", "beta", d.beta);
    ASSERT_DEFAULT("dpo", "steps", d.steps);
    ASSERT_DEFAULT("dpo", "batch", d.batch);
    ASSERT_DEFAULT("dpo", "lr", d.lr);
    ASSERT_DEFAULT("dpo", "val-fraction", d.val_fraction);
    ASSERT_DEFAULT("dpo", "eval-every", d.eval_every);
    ASSERT_DEFAULT("dpo", "min-pairs", d.min_pairs);
    ASSERT_DEFAULT("dpo", "seed", d.seed);
    ASSERT_DEFAULT("dpo", "warmup-fraction", d.warmup_fraction);
    assert_int_equal(d.keep_best, 0);
    sja_ppo_opts p = sja_ppo_defaults();
    ASSERT_DEFAULT("ppo", "kl-coef", p.kl_coef);
    ASSERT_DEFAULT("ppo", "kl-horizon", p.kl_horizon);
    ASSERT_DEFAULT("ppo", "kl-stop", p.kl_stop);
    ASSERT_DEFAULT("ppo", "steps", p.steps);
    ASSERT_DEFAULT("ppo", "batch", p.batch);
    ASSERT_DEFAULT("ppo", "minibatch", p.minibatch);
    ASSERT_DEFAULT("ppo", "epochs", p.epochs);
    ASSERT_DEFAULT("ppo", "lr", p.lr);
    ASSERT_DEFAULT("ppo", "temperature", p.temperature);
    ASSERT_DEFAULT("ppo", "vf-coef", p.vf_coef);
    ASSERT_DEFAULT("ppo", "malformed-penalty", p.malformed_penalty);
    ASSERT_DEFAULT("ppo", "eval-every", p.eval_every);
    ASSERT_DEFAULT("ppo", "eval-size", p.eval_size);
    ASSERT_DEFAULT("ppo", "seed", p.seed);
    ASSERT_DEFAULT("ppo", "warmup-fraction", p.warmup_fraction);
    ASSERT_DEFAULT("ppo", "value-head-clip", p.value_head_clip);
    ASSERT_DEFAULT("ppo", "kl-budget", p.kl_budget);
    ASSERT_DEFAULT("ppo", "samples-per-prompt", p.samples_per_prompt);
    assert_string_equal(option_of("ppo", "estimator")->def, "ppo");
    assert_int_equal(p.estimator, SJA_PPO_GAE);
    /* PPO keeps the best checkpoint within the KL budget unless --keep-last. */
    assert_int_equal(p.keep_best, 1);
    /* No --kl-target means the library's 0: beta stays fixed. */
    assert_null(option_of("ppo", "kl-target")->def);
    assert_true(p.kl_target == 0.0);
}

/* The model options have one range everywhere, and it is the range the
 * model code accepts: both ends pass sj_lm_config_validate, one step
 * beyond either fails. */
static void model_ranges_are_what_the_model_accepts(void **state)
{
    (void)state;
    const char *names[5] = {"vocab", "ctx", "layers", "heads", "embd"};
    const char *commands[3] = {"pretrain", "sft", "bench"};
    double lo[5], hi[5];
    for (int k = 0; k < 5; k++) {
        lo[k] = option_of("pretrain", names[k])->min;
        hi[k] = option_of("pretrain", names[k])->max;
        for (int c = 1; c < 3; c++) {
            assert_true(option_of(commands[c], names[k])->min == lo[k]);
            assert_true(option_of(commands[c], names[k])->max == hi[k]);
        }
    }
    sj_error err;
    for (int k = 0; k < 5; k++)
        for (int end = 0; end < 2; end++)
            for (int beyond = 0; beyond < 2; beyond++) {
                /* heads 1 divides every width; a width of hi[heads] is
                 * beyond the widths, so heads are tried at embd = heads */
                int v[5] = {(int)lo[0], (int)lo[1], (int)lo[2], 1, 1};
                double at = end ? hi[k] : lo[k];
                v[k] = (int)(at + (beyond ? (end ? 1 : -1) : 0));
                if (k == 3)
                    v[4] = v[3] > 0 ? v[3] : 1;
                sj_lm_config cfg = {
                    .vocab = v[0], .ctx = v[1], .layers = v[2], .heads = v[3], .embd = v[4]};
                sj_error_clear(&err);
                int ok = sj_lm_config_validate(&cfg, &err) == SJ_OK;
                if (ok == beyond)
                    fail_msg("--%s %d: validate says %s", names[k], v[k], ok ? "ok" : err.msg);
            }
}

/* Shared column options have one default everywhere; reward and dpo read
 * the pairs format's fixed columns and take none. */
static void column_options_are_shared(void **state)
{
    (void)state;
    const char *columns[5] = {"person", "item", "text", "group", "score"};
    const char *defaults[5] = {"person_id", "item_id", "response", "group", "score"};
    const char *commands[5] = {"pretrain", "sft", "score", "pairs", "ppo"};
    for (int c = 0; c < 5; c++)
        for (int k = 0; k < 5; k++) {
            const cli_option *o = cli_find_option(cli_spec_of(commands[c]), columns[k]);
            if (o)
                assert_string_equal(o->def, defaults[k]);
        }
    for (int k = 0; k < 5; k++) {
        assert_null(cli_find_option(cli_spec_of("reward"), columns[k]));
        assert_null(cli_find_option(cli_spec_of("dpo"), columns[k]));
    }
    const char *readers[7] = {"pretrain", "sft", "score", "pairs", "reward", "ppo", "dpo"};
    for (int c = 0; c < 7; c++) {
        assert_non_null(cli_find_option(cli_spec_of(readers[c]), "max-input-mb"));
        assert_non_null(cli_find_option(cli_spec_of(readers[c]), "threads"));
        assert_non_null(cli_find_option(cli_spec_of(readers[c]), "quiet"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_numbers),
        cmocka_unit_test(real_numbers),
        cmocka_unit_test(choices_seeds_and_text),
        cmocka_unit_test(paths_and_dashes),
        cmocka_unit_test(defaults_when_not_given),
        cmocka_unit_test(given_values),
        cmocka_unit_test(usage_errors),
        cmocka_unit_test(positional_arguments_keep_their_order),
        cmocka_unit_test(did_you_mean),
        cmocka_unit_test(outputs_never_replace_inputs),
        cmocka_unit_test(pretrain_and_sft_defaults_are_the_library_defaults),
        cmocka_unit_test(alignment_defaults_are_the_library_defaults),
        cmocka_unit_test(model_ranges_are_what_the_model_accepts),
        cmocka_unit_test(column_options_are_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
