/* Loading model directories for the alignment stages and recording where an
 * output model came from. */
#include "sjtalign/align.h"

#include <stdlib.h>
#include <string.h>

void sja_model_free(sja_model *m)
{
    if (!m)
        return;
    sja_codec_free(&m->codec);
    sj_lex_free(m->lex);
    cJSON_Delete(m->lexical_json);
    sj_lm_checkpoint_free(m->ck);
    free(m->path);
    free(m);
}

/* The lexical channel a scorer carries in lexical.json (sft writes it). */
static sj_status load_lexical(sja_model *m, const char *dir, sj_error *err)
{
    const cJSON *doc = sj_lm_checkpoint_json(m->ck, "lexical.json");
    if (!doc)
        return SJ_OK;
    char *path = sj_asprintf("%s/lexical.json", dir);
    if (!path)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    m->lex = sj_lex_from_json(doc, path, err);
    free(path);
    if (!m->lex)
        return err ? err->status : SJ_ERR_INPUT;
    /* re-serialised rather than copied: the document as parsed holds its
     * reals at cJSON's printing precision, sj_lex_to_json exactly */
    m->lexical_json = sj_lex_to_json(m->lex);
    if (!m->lexical_json)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    m->codec.lex = m->lex;
    return SJ_OK;
}

sja_model *sja_model_load(const char *dir, const sj_instrument *ins, sj_error *err)
{
    sja_model *m = sj_calloc(1, sizeof *m);
    if (!m) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    m->path = sj_strdup(dir);
    m->ck = sj_lm_load(dir, NULL, 0, err);
    if (!m->ck || !m->path) {
        sja_model_free(m);
        return NULL;
    }
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(m->ck->config, "weights_sha256");
    snprintf(m->weights_sha256, sizeof m->weights_sha256, "%s",
             cJSON_IsString(sha) ? sha->valuestring : "");
    if (sja_codec_init(&m->codec, m->ck->tok, m->ck->model->cfg.ctx, ins->score_min, ins->score_max,
                       err) != SJ_OK) {
        sja_model_free(m);
        return NULL;
    }
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(m->ck->config, "provenance");
    const cJSON *rat = cJSON_GetObjectItemCaseSensitive(prov, "completion_rationale");
    m->codec.rationale = cJSON_IsTrue(rat);
    if (load_lexical(m, dir, err) != SJ_OK) {
        sja_model_free(m);
        return NULL;
    }
    return m;
}

int sja_same_tokenizer(const sja_model *a, const sja_model *b)
{
    cJSON *ja = sj_tokenizer_to_json(a->ck->tok), *jb = sj_tokenizer_to_json(b->ck->tok);
    int same = ja && jb && cJSON_Compare(ja, jb, 1);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return same;
}

void sja_provenance_add_file(cJSON *prov, const char *key, const char *path)
{
    char hex[65];
    sj_error err;
    cJSON *o = cJSON_AddObjectToObject(prov, key);
    if (!o)
        return;
    cJSON_AddStringToObject(o, "path", path);
    if (sj_sha256_file(path, hex, &err) == SJ_OK)
        cJSON_AddStringToObject(o, "sha256", hex);
}

cJSON *sja_provenance_new(const char *stage, const sja_model *from, const char *instrument_path)
{
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return NULL;
    cJSON_AddStringToObject(p, "stage", stage);
    cJSON_AddStringToObject(p, "sjtalign_version", SJ_VERSION);
    if (from) {
        cJSON *o = cJSON_AddObjectToObject(p, "init");
        cJSON_AddStringToObject(o, "path", from->path);
        cJSON_AddStringToObject(o, "weights_sha256", from->weights_sha256);
    }
    if (instrument_path)
        sja_provenance_add_file(p, "instrument", instrument_path);
    cJSON_AddStringToObject(p, "prompt_template",
                            "bos 'item <id>: ' <question> '\\nresponse: ' <response> '\\n' sep");
    cJSON_AddStringToObject(p, "completion_template", "'score: ' <k> [' | ' <anchor>] eos");
    return p;
}
