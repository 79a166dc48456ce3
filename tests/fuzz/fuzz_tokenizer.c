/* libFuzzer target: tokenizer.json (sj_tokenizer_from_json). A tokenizer
 * that loads must round-trip: decode(encode(x)) == x for the input's own
 * bytes, and saving then loading it gives the same vocabulary. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"
#include "sjtalign/lm.h"

static void check_round_trip(const sj_tokenizer *tok, const uint8_t *data, size_t size)
{
    size_t n = size < 512 ? size : 512;
    int32_t *ids = NULL;
    size_t n_ids = 0, len = 0;
    sj_error err;
    if (sj_tokenizer_encode(tok, (const char *)data, n, &ids, &n_ids, &err) != SJ_OK)
        abort();
    char *back = sj_tokenizer_decode(tok, ids, n_ids, &len, &err);
    if (!back || len != n || memcmp(back, data, n) != 0)
        abort();
    free(back);
    free(ids);
    cJSON *doc = sj_tokenizer_to_json(tok);
    sj_tokenizer *again = doc ? sj_tokenizer_from_json("again", doc, &err) : NULL;
    if (!again || sj_tokenizer_vocab_size(again) != sj_tokenizer_vocab_size(tok))
        abort();
    sj_tokenizer_free(again);
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sj_error err;
    cJSON *doc = sj_json_parse("tokenizer.json", text, &err);
    sj_tokenizer *tok = doc ? sj_tokenizer_from_json("tokenizer.json", doc, &err) : NULL;
    if (tok)
        check_round_trip(tok, data, size);
    sj_tokenizer_free(tok);
    cJSON_Delete(doc);
    free(text);
    return 0;
}
