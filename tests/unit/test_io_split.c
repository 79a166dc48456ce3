/* The held-out person split: group sizes, stratification, determinism, a
 * split that is disjoint and complete, and a tiny case whose held-out
 * persons were worked out by tests/fixtures/io/split_expected.py, an
 * independent re-implementation of the seed derivation, MT19937 and GSL's
 * shuffle. */
#include "test_helpers.h"

#include "sjtalign/io.h"

static sj_table *parse(const char *text)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_parse("data.csv", text, strlen(text), &err);
    assert_non_null(t);
    return t;
}

static sj_split *split_of(const sj_table *t, double fraction, uint64_t seed)
{
    sj_error err;
    sj_error_clear(&err);
    sj_split *s = sj_split_persons(t, 0, 2, fraction, seed, &err);
    assert_non_null(s);
    return s;
}

static int is_heldout(const sj_split *s, const char *person)
{
    long p = sj_split_find_person(s, person);
    assert_true(p >= 0);
    return s->person_heldout[p];
}

/* round(fraction x n), halves away from zero, kept within 1..n-1 for n >= 2. */
static void heldout_size_by_hand(void **state)
{
    (void)state;
    assert_int_equal(sj_split_heldout_size(10, 0.3), 3);
    assert_int_equal(sj_split_heldout_size(7, 0.3), 2);   /* 2.1 */
    assert_int_equal(sj_split_heldout_size(20, 0.25), 5); /* 5 */
    assert_int_equal(sj_split_heldout_size(5, 0.5), 3);   /* 2.5 rounds up */
    assert_int_equal(sj_split_heldout_size(3, 0.1), 1);   /* 0.3 -> 0, at least 1 */
    assert_int_equal(sj_split_heldout_size(2, 0.9), 1);   /* 1.8 -> 2, at most n - 1 */
    assert_int_equal(sj_split_heldout_size(2, 0.3), 1);   /* 0.6 */
    assert_int_equal(sj_split_heldout_size(1, 0.3), 0);   /* a lone person trains */
    assert_int_equal(sj_split_heldout_size(1, 0.5), 1);   /* ... unless fraction >= .5 */
    assert_int_equal(sj_split_heldout_size(0, 0.3), 0);
    assert_int_equal(sj_split_heldout_size(2000, 0.3), 600);
}

/* Eight persons, two groups, three persons with two rows, in no order. */
static const char *TINY = "person_id,item_id,group\n"
                          "P3,i1,a\n"
                          "Q2,i1,b\n"
                          "P1,i1,a\n"
                          "P5,i1,a\n"
                          "Q1,i1,b\n"
                          "P2,i1,a\n"
                          "P4,i1,a\n"
                          "Q3,i1,b\n"
                          "P1,i2,a\n"
                          "Q1,i2,b\n";

static void tiny_case_worked_out(void **state)
{
    (void)state;
    sj_table *t = parse(TINY);
    sj_split *s = split_of(t, 0.4, 7);
    /* Persons sorted by id, groups by name with their sizes:
     * a: 5 persons, round(0.4 x 5) = 2 held out; b: 3, round(1.2) = 1. */
    assert_int_equal(s->n_persons, 8);
    const char *ids[8] = {"P1", "P2", "P3", "P4", "P5", "Q1", "Q2", "Q3"};
    for (int p = 0; p < 8; p++) {
        assert_string_equal(s->persons[p], ids[p]);
        assert_int_equal(s->person_group[p], p < 5 ? 0 : 1);
    }
    assert_int_equal(s->n_groups, 2);
    assert_string_equal(s->groups[0].name, "a");
    assert_int_equal(s->groups[0].n_persons, 5);
    assert_int_equal(s->groups[0].n_heldout, 2);
    assert_string_equal(s->groups[1].name, "b");
    assert_int_equal(s->groups[1].n_persons, 3);
    assert_int_equal(s->groups[1].n_heldout, 1);
    assert_int_equal(s->n_heldout, 3);
    /* split_expected.py: seed 7 holds out P1 and P4 of a, Q1 of b. */
    const int want[8] = {1, 0, 0, 1, 0, 1, 0, 0};
    for (int p = 0; p < 8; p++)
        assert_int_equal(s->person_heldout[p], want[p]);
    /* Rows follow their person: P1 (rows 2 and 8), Q1 (4 and 9), P4 (6). */
    const unsigned char rows[10] = {0, 0, 1, 0, 1, 0, 1, 0, 1, 1};
    assert_int_equal(s->n_rows, 10);
    assert_memory_equal(s->row_heldout, rows, 10);
    assert_int_equal(s->n_rows_heldout, 5);
    sj_split_free(s);
    /* Seed 8 (split_expected.py): P3 and P5 of a, Q1 of b. */
    s = split_of(t, 0.4, 8);
    assert_true(is_heldout(s, "P3") && is_heldout(s, "P5") && is_heldout(s, "Q1"));
    assert_int_equal(s->n_heldout, 3);
    assert_int_equal(sj_split_find_person(s, "P9"), -1);
    sj_split_free(s);
    sj_table_free(t);
}

/* n persons P0000.. with `items` rows each; person p is in group "focal"
 * when p % 10 < focal_tenths, else "reference"; a third group "extra" of
 * n_extra persons X0000.. when n_extra > 0. */
static char *population(int n, int items, int focal_tenths, int n_extra)
{
    sj_buf b = {0};
    sj_buf_printf(&b, "person_id,item_id,group\n");
    for (int i = 0; i < items; i++) {
        for (int p = 0; p < n; p++)
            sj_buf_printf(&b, "P%04d,i%d,%s\n", p, i,
                          p % 10 < focal_tenths ? "focal" : "reference");
        for (int p = 0; p < n_extra; p++)
            sj_buf_printf(&b, "X%04d,i%d,extra\n", p, i);
    }
    assert_false(sj_buf_failed(&b));
    return b.data;
}

/* 1,000 persons, 300 focal and 700 reference: 30% of each group, 90 and
 * 210, so the held-out persons have the population's group shares. */
static void stratified_by_group(void **state)
{
    (void)state;
    char *text = population(1000, 2, 3, 0);
    sj_table *t = parse(text);
    sj_split *s = split_of(t, 0.3, 11);
    assert_int_equal(s->n_persons, 1000);
    assert_int_equal(s->n_groups, 2);
    assert_string_equal(s->groups[0].name, "focal");
    assert_int_equal(s->groups[0].n_persons, 300);
    assert_int_equal(s->groups[0].n_heldout, 90);
    assert_string_equal(s->groups[1].name, "reference");
    assert_int_equal(s->groups[1].n_persons, 700);
    assert_int_equal(s->groups[1].n_heldout, 210);
    assert_int_equal(s->n_heldout, 300);
    assert_int_equal(s->n_rows, 2000);
    assert_int_equal(s->n_rows_heldout, 600);
    /* counted again from the persons themselves */
    size_t focal_out = 0;
    for (size_t p = 0; p < s->n_persons; p++)
        focal_out +=
            s->person_heldout[p] && strcmp(s->groups[s->person_group[p]].name, "focal") == 0;
    assert_int_equal(focal_out, 90);
    sj_split_free(s);
    sj_table_free(t);
    free(text);
}

/* Every row on the side of its person; every person on exactly one side;
 * together the two sides are the whole table. */
static void disjoint_and_complete(void **state)
{
    (void)state;
    char *text = population(200, 3, 4, 0);
    sj_table *t = parse(text);
    sj_split *s = split_of(t, 0.3, 5);
    size_t train_rows = 0, heldout_rows = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        long p = sj_split_find_person(s, sj_table_cell(t, r, 0));
        assert_true(p >= 0);
        assert_int_equal(s->row_heldout[r], s->person_heldout[p]);
        if (s->row_heldout[r])
            heldout_rows++;
        else
            train_rows++;
    }
    assert_int_equal(train_rows + heldout_rows, 600);
    assert_int_equal(heldout_rows, 3 * s->n_heldout);
    /* 80 focal -> 24, 120 reference -> 36 */
    assert_int_equal(s->n_heldout, 60);
    sj_split_free(s);
    sj_table_free(t);
    free(text);
}

/* The same seed gives the same split; another seed another one; a group's
 * held-out persons do not depend on the other groups. */
static void deterministic_given_seed(void **state)
{
    (void)state;
    char *text = population(300, 1, 3, 0);
    sj_table *t = parse(text);
    sj_split *a = split_of(t, 0.3, 42), *b = split_of(t, 0.3, 42), *c = split_of(t, 0.3, 43);
    assert_memory_equal(a->person_heldout, b->person_heldout, 300);
    assert_memory_equal(a->row_heldout, b->row_heldout, 300);
    assert_memory_not_equal(a->person_heldout, c->person_heldout, 300);
    assert_int_equal(c->n_heldout, 90);

    char *more = population(300, 1, 3, 50);
    sj_table *t2 = parse(more);
    sj_split *d = split_of(t2, 0.3, 42);
    assert_int_equal(d->n_persons, 350);
    assert_int_equal(d->n_groups, 3);
    assert_string_equal(d->groups[0].name, "extra");
    assert_int_equal(d->groups[0].n_heldout, 15);
    for (size_t p = 0; p < 300; p++) /* P0000..P0299 sort before X0000.. */
        assert_int_equal(d->person_heldout[p], a->person_heldout[p]);
    sj_split_free(a);
    sj_split_free(b);
    sj_split_free(c);
    sj_split_free(d);
    sj_table_free(t);
    sj_table_free(t2);
    free(text);
    free(more);
}

static void expect_error(const char *text, double fraction, const char *message)
{
    sj_table *t = parse(text);
    sj_error err;
    sj_error_clear(&err);
    assert_null(sj_split_persons(t, 0, 2, fraction, 1, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_string_equal(err.msg, message);
    sj_table_free(t);
}

static void input_errors_name_the_place(void **state)
{
    (void)state;
    expect_error("person_id,item_id,group\nP1,i1,a\nP2,i1,b\nP1,i2,b\n", 0.3,
                 "data.csv:4:3: person 'P1' is in group 'b' here but in group 'a' on line 2; a "
                 "person belongs to one group");
    expect_error("person_id,item_id,group\nP1,i1,a\n,i1,b\n", 0.3,
                 "data.csv:3:1: empty person id in column 'person_id'");
    expect_error("person_id,item_id,group\nP1,i1,a\nP2,i1,\n", 0.3,
                 "data.csv:3:3: empty group label in column 'group'");
    expect_error("person_id,item_id,group\nP1,i1,a\n", 0,
                 "the held-out fraction must lie strictly between 0 and 1");
    expect_error("person_id,item_id,group\nP1,i1,a\n", 1,
                 "the held-out fraction must lie strictly between 0 and 1");
    expect_error("person_id,item_id,group\n", 0.3, "data.csv:2: no data rows after the header");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heldout_size_by_hand),     cmocka_unit_test(tiny_case_worked_out),
        cmocka_unit_test(stratified_by_group),      cmocka_unit_test(disjoint_and_complete),
        cmocka_unit_test(deterministic_given_seed), cmocka_unit_test(input_errors_name_the_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
