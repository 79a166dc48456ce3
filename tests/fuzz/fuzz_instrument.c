/* libFuzzer target: JSON parsing and the instrument schema checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sj_error err;
    cJSON *doc = sj_json_parse("fuzz.json", text, &err);
    if (doc) {
        sj_instrument *ins = sj_instrument_from_json("fuzz.json", doc, &err);
        if (ins) {
            cJSON *back = sj_instrument_to_json(ins);
            cJSON_Delete(back);
            sj_instrument_free(ins);
        }
        cJSON_Delete(doc);
    }
    free(text);
    return 0;
}
