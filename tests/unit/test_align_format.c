/* The prompt and completion format, completion parsing, the judged pairs
 * reader, and which tokens SFT trains on. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/align/align_internal.h"
#include "sjtalign/align.h"

static const char *INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"T\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A1\", \"scenario\": \"s\", \"question\": \"What now?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"ignores\"}, {\"score\": 3, \"anchor\": \"talks first\"}]},"
    "{\"id\": \"B2\", \"scenario\": \"s\", \"question\": \"And then?\", \"rubric\": ["
    "{\"score\": 1, \"anchor\": \"waits\"}]}]}";

static sj_instrument *load_instrument(void)
{
    sj_error err;
    cJSON *doc = sj_json_parse("instrument", INSTRUMENT, &err);
    assert_non_null(doc);
    sj_instrument *ins = sj_instrument_from_json("instrument", doc, &err);
    cJSON_Delete(doc);
    if (!ins)
        fail_msg("%s", err.msg);
    return ins;
}

static void prompt_and_completion_text(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    char *p = sja_prompt_text(ins, 0, "I would ask.");
    assert_string_equal(p, "item A1: What now?\nresponse: I would ask.\n");
    char *c = sja_completion_text(ins, 0, 2, 0);
    assert_string_equal(c, "score: 2");
    char *r = sja_completion_text(ins, 0, 3, 1);
    assert_string_equal(r, "score: 3 | talks first");
    char *none = sja_completion_text(ins, 1, 3, 1); /* no anchor for 3: plain */
    assert_string_equal(none, "score: 3");
    free(p);
    free(c);
    free(r);
    free(none);
    sj_instrument_free(ins);
}

static void parsing_completions(void **state)
{
    (void)state;
    int s = -9;
    assert_int_equal(sja_parse_completion("score: 2", 0, 3, &s), 0);
    assert_int_equal(s, 2);
    assert_int_equal(sja_parse_completion("score: 3 | talks first", 0, 3, &s), 0);
    assert_int_equal(s, 3);
    assert_int_equal(sja_parse_completion("score: 0\n", 0, 3, &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(sja_parse_completion("score: -1", -2, 2, &s), 0);
    assert_int_equal(s, -1);
    s = 7;
    assert_int_equal(sja_parse_completion("score: 4", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("score:2", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("score: +2", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("score:  2", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("score: 2x", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("score: ", 0, 3, &s), -1);
    assert_int_equal(sja_parse_completion("Score: 2", 0, 3, &s), -1);
    assert_int_equal(s, 7); /* untouched on failure */
}

static char *write_pairs(const char *dir, const char *body)
{
    char *path = sj_path_join(dir, "pairs.csv");
    test_write_text(path, body, strlen(body));
    return path;
}

#define HEADER "pair_id,item_id,person_id,response,completion_a,completion_b,preferred,judge_id\n"

static void pairs_reader_accepts_good_file(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    char *dir = test_mkdtemp();
    char *path = write_pairs(dir, HEADER "p1,A1,P1,\"ok, fine\",score: 1,score: 3,a,e1\n"
                                         "p2,B2,P2,x,score: 0,score: 2, B ,e2\n"
                                         "p3,A1,P3,y,score: 2,score: 0,,\n");
    sj_error err;
    sj_error_clear(&err);
    sja_pairs *p = sja_pairs_read(path, ins, &err);
    assert_non_null(p);
    assert_int_equal(p->n, 3);
    assert_int_equal(p->n_judged, 2);
    assert_int_equal(p->pairs[0].preferred, SJA_PREF_A);
    assert_int_equal(p->pairs[1].preferred, SJA_PREF_B);
    assert_int_equal(p->pairs[2].preferred, SJA_PREF_NONE);
    assert_string_equal(p->pairs[0].response, "ok, fine");
    assert_int_equal(p->pairs[1].item, 1);
    assert_int_equal(p->pairs[0].score_b, 3);
    assert_string_equal(p->pairs[1].judge_id, "e2");
    assert_int_equal(p->pairs[2].line, 4);
    sja_pairs_free(p);
    free(path);
    test_rmdir(dir);
    sj_instrument_free(ins);
}

static void expect_pairs_error(const char *body, const char *where, const char *what)
{
    sj_instrument *ins = load_instrument();
    char *dir = test_mkdtemp();
    char *path = write_pairs(dir, body);
    sj_error err;
    sj_error_clear(&err);
    assert_null(sja_pairs_read(path, ins, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (!strstr(err.msg, where) || !strstr(err.msg, what))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, where, what);
    free(path);
    test_rmdir(dir);
    sj_instrument_free(ins);
}

static void pairs_reader_rejects_bad_values(void **state)
{
    (void)state;
    expect_pairs_error(HEADER "p1,A1,P1,x,score: 1,score: 3,a,\np2,A1,P2,x,score: 1,score: 3,c,\n",
                       "pairs.csv:3:7:", "preferred must be 'a', 'b', 'tie' or empty, got 'c'");
    expect_pairs_error(HEADER "p1,A1,P1,x,score: 1,score: 3,ties,\n",
                       "pairs.csv:2:7:", "preferred must be 'a', 'b', 'tie' or empty");
    expect_pairs_error(HEADER "p1,Z9,P1,x,score: 1,score: 3,a,\n",
                       "pairs.csv:2:2:", "item 'Z9' is not in instrument");
    expect_pairs_error(HEADER "p1,A1,P1,x,score: 1,score: 7,a,\n",
                       "pairs.csv:2:6:", "expected a completion");
    expect_pairs_error("pair_id,item_id,person_id,response,completion_a,completion_b\n",
                       "pairs.csv", "preferred");
}

#define GROUP_HEADER                                                                               \
    "pair_id,item_id,person_id,response,completion_a,completion_b,preferred,judge_id,group\n"

/* Ties (any case), a group column, and a pair judged by three judges on
 * three rows. */
static void pairs_reader_accepts_ties_groups_and_panels(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    char *dir = test_mkdtemp();
    char *path = write_pairs(dir, GROUP_HEADER "p1,A1,P1,x,score: 1,score: 3,tie,e1,focal\n"
                                               "p1,A1,P1,x,score: 1,score: 3, TIE ,e2,focal\n"
                                               "p1,A1,P1,x,score: 1,score: 3,b,e3,focal\n"
                                               "p2,B2,P2,y,score: 0,score: 2,a,e1,reference\n");
    sj_error err;
    sj_error_clear(&err);
    sja_pairs *p = sja_pairs_read(path, ins, &err);
    assert_non_null(p);
    assert_int_equal(p->n, 4);
    assert_int_equal(p->n_judged, 4);
    assert_true(p->has_group);
    assert_int_equal(p->pairs[0].preferred, SJA_PREF_TIE);
    assert_int_equal(p->pairs[1].preferred, SJA_PREF_TIE);
    assert_int_equal(p->pairs[2].preferred, SJA_PREF_B);
    assert_string_equal(p->pairs[3].group, "reference");
    sja_pairs_free(p);
    free(path);
    test_rmdir(dir);
    sj_instrument_free(ins);
}

/* Rows of one pair_id must describe one pair and name different judges. */
static void pairs_reader_rejects_inconsistent_repeats(void **state)
{
    (void)state;
    expect_pairs_error(GROUP_HEADER "p1,A1,P1,x,score: 1,score: 3,a,e1,focal\n"
                                    "p1,A1,P1,x,score: 1,score: 2,a,e2,focal\n",
                       "pairs.csv:3:6:", "pair 'p1' is given on line 2 with other candidates");
    expect_pairs_error(GROUP_HEADER "p1,A1,P1,x,score: 1,score: 3,a,e1,focal\n"
                                    "p1,A1,P1,x,score: 1,score: 3,b,e2,reference\n",
                       "pairs.csv:3:9:", "rows of one pair_id must agree");
    expect_pairs_error(GROUP_HEADER "p1,A1,P1,x,score: 1,score: 3,a,e1,focal\n"
                                    "p2,A1,P2,x,score: 1,score: 3,a,e1,focal\n"
                                    "p1,A1,P1,x,score: 1,score: 3,b,e1,focal\n",
                       "pairs.csv:4:8:", "judge 'e1' judged pair 'p1' already on line 2");
}

/* The panel check of a pairs file: judges sorted, rows mapped to pairs and
 * judges, weights by agreement on the rows, the documents. Pairs p1, p2
 * judged by e1, e2, e3; e3 goes against e1 and e2 on both (agreement 0,
 * weight 0); e1 and e2 each see the other two split and are never compared
 * (raw weight 1); the unjudged row weighs 0. Raw weights sum to 4 over 6
 * judgments: scaled by 6/4. Alpha: units {a, a, b} and {b, b, a}: per unit
 * the same-choice pair counts 2 x 1/2 and the four mixed orders 4 x 1/2, so
 * o_aa = o_bb = 1, o_ab = o_ba = 2; n_a = n_b = 3, n = 6; alpha =
 * 1 - 5 x 4 / (2 x 3 x 3) = -1/9. */
static void panel_check_of_a_pairs_file(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    char *dir = test_mkdtemp();
    char *path = write_pairs(dir, GROUP_HEADER "p1,A1,P1,x,score: 1,score: 3,a,e2,focal\n"
                                               "p1,A1,P1,x,score: 1,score: 3,a,e1,focal\n"
                                               "p1,A1,P1,x,score: 1,score: 3,b,e3,focal\n"
                                               "p2,B2,P2,y,score: 0,score: 2,b,e1,reference\n"
                                               "p2,B2,P2,y,score: 0,score: 2,b,e2,reference\n"
                                               "p2,B2,P2,y,score: 0,score: 2,a,e3,reference\n"
                                               "p3,B2,P3,z,score: 0,score: 2,,,reference\n");
    sj_error err;
    sj_error_clear(&err);
    sja_pairs *p = sja_pairs_read(path, ins, &err);
    assert_non_null(p);
    sja_panel *panel = sja_panel_check(p, "focal", "reference", SJA_WEIGHTS_AGREEMENT, &err);
    assert_non_null(panel);
    assert_int_equal(panel->n_judges, 3);
    assert_string_equal(panel->judges[0], "e1");
    assert_string_equal(panel->judges[2], "e3");
    assert_int_equal(panel->stats.n_pairs, 2);
    assert_int_equal(panel->stats.n_judgments, 6);
    assert_true(fabs(panel->stats.alpha - -1.0 / 9.0) < 1e-15);
    assert_true(fabs(panel->judge_weight[0] - 1.5) < 1e-15);
    assert_true(fabs(panel->judge_weight[2]) == 0.0);
    const double row_weight[7] = {1.5, 1.5, 0, 1.5, 1.5, 0, 0};
    for (int r = 0; r < 7; r++)
        assert_true(fabs(panel->row_weight[r] - row_weight[r]) < 1e-15);
    /* b is the higher candidate in both pairs: e1 chose a on the focal
     * response (0 of 1) and b on the reference one (1 of 1) */
    assert_true(panel->stats.judges[0].higher_pref_focal == 0.0);
    assert_true(panel->stats.judges[0].higher_pref_reference == 1.0);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(panel->doc, "kind");
    assert_string_equal(kind->valuestring, "sjtalign-panel");
    const cJSON *weighting = cJSON_GetObjectItemCaseSensitive(panel->doc, "weighting");
    assert_string_equal(weighting->valuestring, "agreement");
    assert_non_null(strstr(panel->csv, "\ne3,2,0,2,2,0,1,1,0,1,1,"));
    sja_panel_free(panel);
    /* without a group column's labels matching: group fields undefined */
    panel = sja_panel_check(p, "foc", "ref", SJA_WEIGHTS_NONE, &err);
    assert_non_null(panel);
    assert_int_equal(panel->stats.judges[0].n_focal, 0);
    assert_true(panel->row_weight[2] == 1.0);
    sja_panel_free(panel);
    sja_pairs_free(p);
    free(path);
    test_rmdir(dir);
    sj_instrument_free(ins);
}

/* A tokenizer trained on a few texts: enough merges that words become
 * single tokens, so the test covers merged text around the score. */
static sj_tokenizer *small_tokenizer(void)
{
    const char *texts[] = {"item A1: What now?\nresponse: I would ask the team.\n",
                           "score: 2 score: 3 score: 1", "response response response"};
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 3, 300, &err);
    assert_non_null(tok);
    return tok;
}

static void sft_weights_cover_completion_only(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    sj_tokenizer *tok = small_tokenizer();
    sja_codec c;
    sj_error err;
    assert_int_equal(sja_codec_init(&c, tok, 64, 0, 3, &err), SJ_OK);
    assert_true(c.single_token_levels); /* single digits are byte tokens */
    sja_seq s;
    assert_int_equal(sja_encode_example(&c, ins, 0, "I would ask the team.", "score: 2", &s, &err),
                     SJ_OK);
    /* The sequence decodes back to the documented layout. */
    assert_int_equal(s.tokens[0], SJ_TOK_BOS);
    assert_int_equal(s.tokens[s.prompt_len - 1], SJ_TOK_SEP);
    assert_int_equal(s.tokens[s.len - 1], SJ_TOK_EOS);
    size_t len;
    char *prompt = sj_tokenizer_decode(tok, s.tokens, (size_t)s.prompt_len, &len, &err);
    assert_string_equal(prompt, "item A1: What now?\nresponse: I would ask the team.\n");
    char *completion = sj_tokenizer_decode(tok, s.tokens + s.prompt_len,
                                           (size_t)(s.len - s.prompt_len), &len, &err);
    assert_string_equal(completion, "score: 2");
    /* Targets are the next tokens: weight 1 exactly for the targets after
     * the separator (the completion and eos), 0 for every prompt token. */
    const sja_seq *ptr = &s;
    sj_lm_batch *b = NULL;
    assert_int_equal(sja_batch_build(&ptr, 1, SJA_W_COMPLETION, 0, &b, NULL, &err), SJ_OK);
    int n_completion = s.len - s.prompt_len, seen_sep = 0, weighted = 0;
    for (int t = 0; t < b->lengths[0]; t++) {
        seen_sep |= b->tokens[t] == SJ_TOK_SEP;
        float want = seen_sep ? 1.0f : 0.0f;
        assert_true(b->weights[t] == want);
        weighted += b->weights[t] != 0;
    }
    assert_int_equal(weighted, n_completion);
    sj_lm_batch_free(b);
    free(prompt);
    free(completion);
    sja_seq_free(&s);
    sja_codec_free(&c);
    sj_tokenizer_free(tok);
    sj_instrument_free(ins);
}

static void long_prompts_are_shortened_to_fit(void **state)
{
    (void)state;
    sj_instrument *ins = load_instrument();
    sj_tokenizer *tok = small_tokenizer();
    sja_codec c;
    sj_error err;
    assert_int_equal(sja_codec_init(&c, tok, 40, 0, 3, &err), SJ_OK);
    char text[400];
    for (int i = 0; i < 399; i++)
        text[i] = (char)('a' + i % 26);
    text[399] = '\0';
    sja_seq s;
    assert_int_equal(sja_encode_example(&c, ins, 0, text, "score: 1", &s, &err), SJ_OK);
    assert_int_equal(s.len, 40); /* exactly ctx: eos stays an input position */
    size_t len;
    char *prompt = sj_tokenizer_decode(tok, s.tokens, (size_t)s.prompt_len, &len, &err);
    /* The item id stays, the question goes first, the response keeps its
     * end ("...ghi" then the newline). */
    assert_true(strncmp(prompt, "item A1: \nresponse: ", 20) == 0);
    size_t n = strlen(prompt);
    assert_string_equal(prompt + n - 10, "abcdefghi\n");
    free(prompt);
    sja_seq_free(&s);
    sja_codec_free(&c);
    sj_tokenizer_free(tok);
    sj_instrument_free(ins);
}

static void split_by_person_keeps_persons_together(void **state)
{
    (void)state;
    const char *keys[] = {"p1", "p2", "p1", "p3", "p2", "p4", "p4", "p5", "p6", "p7"};
    unsigned char v[10];
    gsl_rng *rng = sj_rng_new(7);
    size_t n = 0;
    sj_error err;
    assert_int_equal(sja_split_by_key(keys, 10, 0.3, rng, v, &n, &err), SJ_OK);
    sj_rng_free(rng);
    /* 7 persons × 0.3 = 2.1 → 2 persons held out, all rows of each. */
    int persons = 0;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++)
            if (strcmp(keys[i], keys[j]) == 0)
                assert_int_equal(v[i], v[j]);
    const char *seen[10] = {0};
    size_t rows = 0;
    for (int i = 0; i < 10; i++) {
        if (!v[i])
            continue;
        rows++;
        int dup = 0;
        for (int k = 0; k < persons; k++)
            dup |= strcmp(seen[k], keys[i]) == 0;
        if (!dup)
            seen[persons++] = keys[i];
    }
    assert_int_equal(persons, 2);
    assert_int_equal(rows, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prompt_and_completion_text),
        cmocka_unit_test(parsing_completions),
        cmocka_unit_test(pairs_reader_accepts_good_file),
        cmocka_unit_test(pairs_reader_rejects_bad_values),
        cmocka_unit_test(pairs_reader_accepts_ties_groups_and_panels),
        cmocka_unit_test(pairs_reader_rejects_inconsistent_repeats),
        cmocka_unit_test(panel_check_of_a_pairs_file),
        cmocka_unit_test(sft_weights_cover_completion_only),
        cmocka_unit_test(long_prompts_are_shortened_to_fit),
        cmocka_unit_test(split_by_person_keeps_persons_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
