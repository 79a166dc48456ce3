/* libFuzzer target: the lexical model reader (sj_lex_from_json), as `score`
 * and the alignment stages read a scorer's lexical.json. A document that
 * loads is used the way a scorer uses it: level probabilities of a few
 * responses (known and unknown items, empty text), which must be finite and
 * sum to 1, and a write-out that must load again. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"
#include "sjtalign/lexical.h"

static void check_probs(const sj_lex_model *m, const char *item, const char *text)
{
    int n = sj_lex_n_levels(m);
    double *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        return;
    sj_error err;
    if (sj_lex_probs(m, item, text, p, &err) == SJ_OK) {
        double total = 0;
        for (int k = 0; k < n; k++) {
            if (!(p[k] >= 0 && p[k] <= 1))
                abort();
            total += p[k];
        }
        if (fabs(total - 1) > 1e-9)
            abort();
    }
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sj_error err;
    cJSON *doc = sj_json_parse("lexical.json", text, &err);
    free(text);
    if (!doc)
        return 0;
    sj_lex_model *m = sj_lex_from_json(doc, "lexical.json", &err);
    cJSON_Delete(doc);
    if (!m)
        return 0;
    check_probs(m, "S01", "I would plan with the team.");
    check_probs(m, "S02", "");
    check_probs(m, "no such item", "listen and call my boss");
    cJSON *again = sj_lex_to_json(m);
    sj_lex_model *back = again ? sj_lex_from_json(again, "again", &err) : NULL;
    if (again && !back)
        abort();
    cJSON_Delete(again);
    sj_lex_free(back);
    sj_lex_free(m);
    return 0;
}
