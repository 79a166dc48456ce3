/* libFuzzer target: the judged pairs reader (sja_pairs_read) against a
 * two-item instrument scored 0..3. The input is written to a file, as the
 * reader takes a path. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "sjtalign/align.h"
#include "sjtalign/io.h"

static const char INSTRUMENT[] =
    "{\"id\": \"fuzz\", \"title\": \"Fuzz\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"S01\", \"scenario\": \"A deadline slips.\", \"question\": \"What do you do?\","
    " \"rubric\": [{\"score\": 0, \"anchor\": \"Ignores it.\"}, {\"score\": 3, \"anchor\":"
    " \"Plans with the team.\"}]},"
    "{\"id\": \"S02\", \"scenario\": \"A customer is upset.\", \"question\": \"What do you "
    "do?\", \"rubric\": [{\"score\": 2, \"anchor\": \"Listens.\"}]}]}";

static sj_instrument *ins;
static char path[] = "/tmp/sjtalign-fuzz-pairs-XXXXXX";

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sj_error err;
    cJSON *doc = sj_json_parse("instrument", INSTRUMENT, &err);
    ins = doc ? sj_instrument_from_json("instrument", doc, &err) : NULL;
    cJSON_Delete(doc);
    int fd = mkstemp(path);
    if (!ins || fd < 0) {
        fprintf(stderr, "fuzz: cannot set up the pairs target: %s\n",
                ins ? "mkstemp failed" : err.msg);
        exit(1);
    }
    close(fd);
    atexit(remove_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int bad = size > 0 && fwrite(data, 1, size, f) != size;
    if (fclose(f) != 0 || bad)
        return 0;
    sj_error err;
    sja_pairs *p = sja_pairs_read(path, ins, &err);
    if (p) {
        size_t judged = 0;
        for (size_t i = 0; i < p->n; i++) {
            const sja_pair *q = &p->pairs[i];
            if (q->item >= ins->n_items || q->score_a < 0 || q->score_a > 3 || q->score_b < 0 ||
                q->score_b > 3)
                abort();
            judged += q->preferred != SJA_PREF_NONE;
        }
        if (judged != p->n_judged)
            abort();
    }
    sja_pairs_free(p);
    return 0;
}
