/* The lexical scorer's words: tokenising, the stop-word list and the light
 * stemmer, on hand-worked examples. */
#include "test_helpers.h"

#include "sjtalign/lexical.h"

static void expect_words(const char *text, const char *const *want, long n_want)
{
    char **words;
    long n = sj_lex_words(text, &words);
    if (n != n_want)
        fail_msg("'%s': %ld words, want %ld", text, n, n_want);
    for (long i = 0; i < n; i++)
        if (strcmp(words[i], want[i]) != 0)
            fail_msg("'%s': word %ld is '%s', want '%s'", text, i, words[i], want[i]);
    sj_lex_words_free(words, n);
}

/* "The" and "s" are stop words; "C++" and "C#" keep their symbols and are
 * not stemmed; compiler -> compil (-er); STORES -> stores -> store -> stor;
 * storing -> stor (-ing); stored -> stor (-ed); queries -> query. */
static void test_tokenise(void **state)
{
    (void)state;
    const char *want[] = {"c++", "compil", "stor", "stor", "stor", "c#", "query"};
    expect_words("The C++ compiler's STORES, storing & stored; C# queries!", want, 7);
    const char *want2[] = {"well", "known", "x86", "caf\xc3\xa9"};
    expect_words("well-known x86 (Caf\xc3\xa9)", want2, 4);
    expect_words("", NULL, 0);
    expect_words("  it is, and was the ... ", NULL, 0);
}

static void expect_stem(const char *word, const char *want)
{
    char *s = sj_lex_stem(word);
    if (strcmp(s, want) != 0)
        fail_msg("stem of '%s' is '%s', want '%s'", word, s, want);
    free(s);
}

static void test_stemmer(void **state)
{
    (void)state;
    expect_stem("classes", "class");            /* -sses -> -ss */
    expect_stem("queries", "query");            /* -ies -> -y */
    expect_stem("ties", "tie");                 /* too short for -ies: -s only */
    expect_stem("glass", "glass");              /* -ss stays */
    expect_stem("bus", "bus");                  /* -us stays */
    expect_stem("analysis", "analysis");        /* -is stays */
    expect_stem("running", "run");              /* -ing, then nn -> n */
    expect_stem("setting", "set");              /* -s? no; -ing, tt -> t */
    expect_stem("called", "call");              /* ll is not undoubled */
    expect_stem("added", "add");                /* "ad" would be too short */
    expect_stem("string", "string");            /* "str" has no vowel */
    expect_stem("needed", "need");              /* -ed */
    expect_stem("speed", "speed");              /* -eed stays */
    expect_stem("applied", "apply");            /* -ied -> -y */
    expect_stem("apply", "apply");              /* -ly needs a 4-letter stem */
    expect_stem("quickly", "quick");            /* -ly */
    expect_stem("implementation", "implement"); /* -ation */
    expect_stem("happiness", "happi");          /* -ness */
    expect_stem("pointers", "point");           /* -s, then -er */
    expect_stem("store", "stor");               /* final e */
    expect_stem("uses", "use");                 /* -s; "us" would be too short for -e */
    expect_stem("c++", "c++");                  /* not letters: untouched */
    expect_stem("x86s", "x86s");
}

static void test_stop_words(void **state)
{
    (void)state;
    const char *const *list;
    size_t n = sj_lex_stop_words(&list);
    assert_true(n > 100);
    for (size_t i = 1; i < n; i++)
        if (strcmp(list[i - 1], list[i]) >= 0)
            fail_msg("stop words out of order at '%s', '%s'", list[i - 1], list[i]);
    for (size_t i = 0; i < n; i++)
        assert_true(sj_lex_is_stop_word(list[i]));
    assert_true(sj_lex_is_stop_word("the"));
    assert_true(sj_lex_is_stop_word("yourselves"));
    assert_true(sj_lex_is_stop_word("a"));
    assert_false(sj_lex_is_stop_word("stack"));
    assert_false(sj_lex_is_stop_word("The")); /* the list is lower case; words are lowered first */
    assert_false(sj_lex_is_stop_word(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenise),
        cmocka_unit_test(test_stemmer),
        cmocka_unit_test(test_stop_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
