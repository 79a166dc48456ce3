/* Model directories: config.json, tokenizer.json, model.safetensors and,
 * for resuming, optimizer.safetensors and train_log.jsonl. The directory is
 * assembled under a temporary name and renamed into place when complete. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "lm_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors are little-endian; this code writes floats as they are in memory"
#endif

#define FORMAT_NAME "sjtalign-lm"
#define FORMAT_VERSION 1

/* ---- safetensors --------------------------------------------------------------- */

/* Serialises tensors: 8-byte little-endian header length, JSON header (padded
 * with spaces to a multiple of 8 so the data is aligned), raw data. */
static sj_status safetensors_build(const sj_lm_tensor *const *tensors, size_t n,
                                   const cJSON *metadata, sj_buf *out, sj_error *err)
{
    cJSON *hdr = cJSON_CreateObject();
    if (!hdr)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (metadata)
        cJSON_AddItemToObject(hdr, "__metadata__", cJSON_Duplicate(metadata, 1));
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const sj_lm_tensor *t = tensors[i];
        cJSON *e = cJSON_AddObjectToObject(hdr, t->name);
        cJSON_AddStringToObject(e, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        if (t->rows > 1 || t->is_matrix)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->rows));
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->cols));
        size_t bytes = t->rows * t->cols * sizeof(float);
        cJSON *off = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(offset + bytes)));
        offset += bytes;
    }
    char *text = cJSON_PrintUnformatted(hdr);
    cJSON_Delete(hdr);
    if (!text)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t hlen = strlen(text);
    size_t padded = (hlen + 7) / 8 * 8;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);
    int bad = sj_buf_append(out, len8, 8) != 0 || sj_buf_append(out, text, hlen) != 0;
    for (size_t i = hlen; i < padded && !bad; i++)
        bad = sj_buf_append(out, " ", 1) != 0;
    free(text);
    for (size_t i = 0; i < n && !bad; i++)
        bad = sj_buf_append(out, tensors[i]->data,
                            tensors[i]->rows * tensors[i]->cols * sizeof(float)) != 0;
    if (bad)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* A parsed safetensors file: the header and a pointer to the data. */
typedef struct {
    cJSON *header;
    const unsigned char *data;
    size_t data_len;
} safetensors;

/* A tensor's byte range in the data region. */
typedef struct {
    const char *name;
    size_t begin, end;
} tensor_span;

static int by_begin(const void *a, const void *b)
{
    const tensor_span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Checks an entry (F32, a whole-number shape, offsets inside the data that
 * match the shape) and gives its byte range. */
static sj_status check_entry(const char *path, const safetensors *st, const cJSON *e,
                             tensor_span *span, sj_error *err)
{
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "F32") != 0 || !cJSON_IsArray(shape) ||
        !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: tensor \"%s\" is not F32 with a shape and data_offsets", path,
                            e->string);
    double count = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape)
    {
        /* whole numbers below 2^53, so later casts to size_t are defined */
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9007199254740992.0 ||
            d->valuedouble != floor(d->valuedouble))
            return sj_error_set(err, SJ_ERR_INPUT, "%s: tensor \"%s\" has a bad shape", path,
                                e->string);
        count *= d->valuedouble;
    }
    double b = cJSON_GetArrayItem(off, 0)->valuedouble,
           en = cJSON_GetArrayItem(off, 1)->valuedouble;
    if (b < 0 || en < b || en > (double)st->data_len || en - b != 4.0 * count || b != floor(b) ||
        en != floor(en) || (size_t)b % 4 != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: tensor \"%s\" has data_offsets [%.0f, %.0f] that do not fit "
                            "its shape or the %zu data bytes (truncated?)",
                            path, e->string, b, en, st->data_len);
    *span = (tensor_span){e->string, (size_t)b, (size_t)en};
    return SJ_OK;
}

/* The tensors must tile the data: sorted by offset, each starts where the
 * previous one ends, the first at 0 and the last at the end. A sum of
 * sizes would let one tensor alias another's bytes while a gap elsewhere
 * kept the total right. */
static sj_status check_tiling(const char *path, tensor_span *spans, size_t n, size_t data_len,
                              sj_error *err)
{
    qsort(spans, n, sizeof *spans, by_begin);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && spans[i].begin < at)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s: tensors \"%s\" [%zu, %zu] and \"%s\" [%zu, %zu] overlap: "
                                "each tensor must have its own bytes (damaged or crafted file)",
                                path, spans[i - 1].name, spans[i - 1].begin, spans[i - 1].end,
                                spans[i].name, spans[i].begin, spans[i].end);
        if (spans[i].begin > at)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s: data bytes [%zu, %zu) before tensor \"%s\" belong to no "
                                "tensor (damaged or crafted file)",
                                path, at, spans[i].begin, spans[i].name);
        at = spans[i].end;
    }
    if (at != data_len)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: tensors cover %zu of %zu data bytes (truncated or damaged)", path,
                            at, data_len);
    return SJ_OK;
}

static sj_status check_entries(const char *path, const safetensors *st, sj_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(st->header);
    tensor_span *spans = malloc((n ? n : 1) * sizeof *spans);
    if (!spans)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t k = 0;
    sj_status s = SJ_OK;
    const cJSON *e;
    cJSON_ArrayForEach(e, st->header)
    {
        if (strcmp(e->string, "__metadata__") == 0)
            continue;
        if ((s = check_entry(path, st, e, &spans[k++], err)) != SJ_OK)
            break;
    }
    if (s == SJ_OK)
        s = check_tiling(path, spans, k, st->data_len, err);
    free(spans);
    return s;
}

static sj_status safetensors_parse(const char *path, const unsigned char *buf, size_t len,
                                   safetensors *st, sj_error *err)
{
    if (len < 8)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: truncated (%zu bytes; a safetensors file starts with an 8-byte "
                            "header length)",
                            path, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | buf[i];
    if (hlen < 2 || hlen > len - 8)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: not a safetensors file or truncated (header length %llu, file "
                            "%zu bytes)",
                            path, (unsigned long long)hlen, len);
    char *text = sj_strndup((const char *)buf + 8, (size_t)hlen);
    if (!text)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* The header is JSON like any other input: a tensor named twice would
     * otherwise be read by its first entry here and its last elsewhere. */
    char *name = sj_asprintf("%s (header)", path);
    int object = text[0] == '{' && strlen(text) == (size_t)hlen;
    st->header = object && name ? sj_json_parse(name, text, err) : NULL;
    free(name);
    free(text);
    if (!cJSON_IsObject(st->header)) {
        int parsed = st->header != NULL || !object;
        cJSON_Delete(st->header);
        st->header = NULL;
        if (parsed)
            sj_error_set(err, SJ_ERR_INPUT, "%s: the safetensors header is not a JSON object",
                         path);
        return SJ_ERR_INPUT;
    }
    st->data = buf + 8 + hlen;
    st->data_len = len - 8 - (size_t)hlen;
    return check_entries(path, st, err);
}

/* Copies tensor `name` into dst (n floats), checking the element count. */
static sj_status safetensors_get(const char *path, const safetensors *st, const char *name,
                                 float *dst, size_t n, sj_error *err)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(st->header, name);
    if (!e)
        return sj_error_set(err, SJ_ERR_INPUT, "%s: tensor \"%s\" is missing", path, name);
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    size_t b = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    size_t en = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    if (en - b != n * sizeof(float))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: tensor \"%s\" holds %zu values, the architecture needs %zu", path,
                            name, (en - b) / 4, n);
    memcpy(dst, st->data + b, n * sizeof(float));
    return SJ_OK;
}

/* ---- directories ------------------------------------------------------------------ */

static int is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static cJSON *architecture_json(const sj_lm_config *c)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "gpt2-style decoder");
    cJSON_AddNumberToObject(a, "vocab", c->vocab);
    cJSON_AddNumberToObject(a, "ctx", c->ctx);
    cJSON_AddNumberToObject(a, "layers", c->layers);
    cJSON_AddNumberToObject(a, "heads", c->heads);
    cJSON_AddNumberToObject(a, "embd", c->embd);
    cJSON_AddNumberToObject(a, "mlp_hidden", 4 * c->embd);
    cJSON_AddStringToObject(a, "activation", "gelu_tanh");
    cJSON_AddStringToObject(a, "norm", "pre-layernorm");
    cJSON_AddNumberToObject(a, "layernorm_eps", 1e-5);
    cJSON_AddStringToObject(a, "position", "learned absolute");
    cJSON_AddBoolToObject(a, "tied_output", 1);
    cJSON_AddStringToObject(a, "dtype", "float32");
    return a;
}

/* Builds a safetensors file of `list` with `meta`, writes it as tmp/name
 * and its SHA-256 to sha. */
static sj_status write_safetensors(const char *tmp, const char *name, const sj_lm_tensor **list,
                                   size_t n, const cJSON *meta, char sha[65], sj_error *err)
{
    sj_buf data = {0};
    sj_status st = safetensors_build(list, n, meta, &data, err);
    if (st == SJ_OK) {
        sj_sha256_hex(data.data, data.len, sha);
        char *path = sj_path_join(tmp, name);
        st = sj_write_file_atomic(path, data.data, data.len, err);
        free(path);
    }
    sj_buf_free(&data);
    return st;
}

/* model.safetensors: the model's tensors, then the extra ones (whose names
 * must be new). */
static sj_status write_weights(const char *tmp, const sj_lm *m, const sj_lm_save_opts *o,
                               char sha[65], sj_error *err)
{
    size_t n_all = m->n_tensors + o->n_extras;
    const sj_lm_tensor **list = calloc(n_all ? n_all : 1, sizeof *list);
    if (!list)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < m->n_tensors; i++)
        list[i] = &m->tensors[i];
    for (size_t i = 0; i < o->n_extras; i++) {
        if (sj_lm_tensor_by_name(m, o->extras[i].name) ||
            strcmp(o->extras[i].name, "__metadata__") == 0) {
            free(list);
            return sj_error_set(err, SJ_ERR_WORK, "extra tensor name \"%s\" is taken",
                                o->extras[i].name);
        }
        list[m->n_tensors + i] = &o->extras[i];
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "pt");
    cJSON_AddStringToObject(meta, "producer", "sjtalign " SJ_VERSION);
    sj_status st = write_safetensors(tmp, "model.safetensors", list, n_all, meta, sha, err);
    cJSON_Delete(meta);
    free(list);
    return st;
}

/* optimizer.safetensors: AdamW's moments and its step. */
static sj_status write_optimizer(const char *tmp, const sj_lm_save_opts *o, char sha[65],
                                 sj_error *err)
{
    sj_lm_tensor mt = {"adam.m", 1, o->opt->n, 0, o->opt->m};
    sj_lm_tensor vt = {"adam.v", 1, o->opt->n, 0, o->opt->v};
    const sj_lm_tensor *ol[2] = {&mt, &vt};
    cJSON *om = cJSON_CreateObject();
    char step[32];
    snprintf(step, sizeof step, "%ld", o->opt->step);
    cJSON_AddStringToObject(om, "step", step);
    sj_status st = write_safetensors(tmp, "optimizer.safetensors", ol, 2, om, sha, err);
    cJSON_Delete(om);
    return st;
}

static cJSON *tokenizer_json(const sj_tokenizer *tok)
{
    cJSON *tk = cJSON_CreateObject();
    cJSON_AddStringToObject(tk, "file", "tokenizer.json");
    cJSON_AddStringToObject(tk, "type", "sjtalign-byte-bpe");
    cJSON_AddNumberToObject(tk, "vocab_size", sj_tokenizer_vocab_size(tok));
    cJSON_AddNumberToObject(tk, "pad", SJ_TOK_PAD);
    cJSON_AddNumberToObject(tk, "eos", SJ_TOK_EOS);
    cJSON_AddNumberToObject(tk, "sep", SJ_TOK_SEP);
    cJSON_AddNumberToObject(tk, "bos", SJ_TOK_BOS);
    return tk;
}

/* config.json: the format, the architecture, the files with their hashes,
 * the provenance and what --resume needs. */
static cJSON *config_json(const sj_lm *m, const sj_lm_save_opts *o, const char *sha,
                          const char *opt_sha, cJSON *extra_files, cJSON *extra_tables)
{
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddStringToObject(cfg, "format", FORMAT_NAME);
    cJSON_AddNumberToObject(cfg, "format_version", FORMAT_VERSION);
    cJSON_AddItemToObject(cfg, "architecture", architecture_json(&m->cfg));
    cJSON_AddItemToObject(cfg, "tokenizer", tokenizer_json(o->tok));
    cJSON_AddNumberToObject(cfg, "n_params", (double)m->n_params);
    cJSON_AddStringToObject(cfg, "weights_file", "model.safetensors");
    cJSON_AddStringToObject(cfg, "weights_sha256", sha);
    cJSON *ex = cJSON_AddArrayToObject(cfg, "extra_tensors");
    for (size_t i = 0; i < o->n_extras; i++)
        cJSON_AddItemToArray(ex, cJSON_CreateString(o->extras[i].name));
    if (extra_files)
        cJSON_AddItemToObject(cfg, "extra_files", extra_files);
    if (extra_tables)
        cJSON_AddItemToObject(cfg, "extra_tables", extra_tables);
    if (o->opt) {
        cJSON *oj = cJSON_AddObjectToObject(cfg, "optimizer");
        cJSON_AddStringToObject(oj, "file", "optimizer.safetensors");
        cJSON_AddStringToObject(oj, "sha256", opt_sha);
        cJSON_AddNumberToObject(oj, "step", (double)o->opt->step);
    }
    cJSON_AddItemToObject(cfg, "provenance",
                          o->provenance ? cJSON_Duplicate(o->provenance, 1) : cJSON_CreateObject());
    if (o->resume)
        cJSON_AddItemToObject(cfg, "resume", cJSON_Duplicate(o->resume, 1));
    return cfg;
}

/* A file name an extra JSON document may have: a plain name of
 * [A-Za-z0-9_.-] ending ".json", not hidden (the folder's manifest is
 * ".sjtalign-manifest.json") and not one of the model's own files. */
static int extra_name_ok(const char *name, const char *ending)
{
    size_t n = name ? strlen(name) : 0, n_end = strlen(ending);
    if (n <= n_end || n > 200 || name[0] == '.' || strcmp(name + n - n_end, ending) != 0 ||
        strcmp(name, "config.json") == 0 || strcmp(name, "tokenizer.json") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int json_name_ok(const char *name)
{
    return extra_name_ok(name, ".json");
}

static sj_status check_json_opts(const sj_lm_save_opts *o, sj_error *err)
{
    if (o->n_json > 0 && (!o->json_names || !o->json_docs))
        return sj_error_set(err, SJ_ERR_WORK, "%zu extra JSON files without names or documents",
                            o->n_json);
    for (size_t i = 0; i < o->n_json; i++) {
        if (!json_name_ok(o->json_names[i]) || !o->json_docs[i])
            return sj_error_set(err, SJ_ERR_WORK,
                                "extra JSON file \"%s\": needs a document and a plain name of "
                                "[A-Za-z0-9_.-] ending .json (not config.json or tokenizer.json)",
                                o->json_names[i] ? o->json_names[i] : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->json_names[i], o->json_names[j]) == 0)
                return sj_error_set(err, SJ_ERR_WORK, "extra JSON file \"%s\" is given twice",
                                    o->json_names[i]);
    }
    if (o->n_csv > 0 && (!o->csv_names || !o->csv_texts))
        return sj_error_set(err, SJ_ERR_WORK, "%zu extra CSV files without names or texts",
                            o->n_csv);
    for (size_t i = 0; i < o->n_csv; i++) {
        if (!extra_name_ok(o->csv_names[i], ".csv") || !o->csv_texts[i])
            return sj_error_set(err, SJ_ERR_WORK,
                                "extra CSV file \"%s\": needs a text and a plain name of "
                                "[A-Za-z0-9_.-] ending .csv",
                                o->csv_names[i] ? o->csv_names[i] : "(null)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->csv_names[i], o->csv_names[j]) == 0)
                return sj_error_set(err, SJ_ERR_WORK, "extra CSV file \"%s\" is given twice",
                                    o->csv_names[i]);
    }
    return SJ_OK;
}

/* Writes each extra CSV text as tmp/NAME and records NAME: sha256 in *files. */
static sj_status write_csv_files(const char *tmp, const sj_lm_save_opts *o, cJSON **files,
                                 sj_error *err)
{
    *files = NULL;
    if (o->n_csv == 0)
        return SJ_OK;
    *files = cJSON_CreateObject();
    if (!*files)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t i = 0; i < o->n_csv && st == SJ_OK; i++) {
        char *path = sj_path_join(tmp, o->csv_names[i]);
        size_t len = strlen(o->csv_texts[i]);
        char sha[65];
        sj_sha256_hex(o->csv_texts[i], len, sha);
        st = path ? sj_write_file_atomic(path, o->csv_texts[i], len, err)
                  : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK && !cJSON_AddStringToObject(*files, o->csv_names[i], sha))
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
    }
    if (st != SJ_OK) {
        cJSON_Delete(*files);
        *files = NULL;
    }
    return st;
}

/* Writes each extra JSON document as tmp/NAME (pretty-printed with a final
 * newline, as sj_json_write does) and records NAME: sha256 in *files. */
static sj_status write_json_files(const char *tmp, const sj_lm_save_opts *o, cJSON **files,
                                  sj_error *err)
{
    *files = NULL;
    if (o->n_json == 0)
        return SJ_OK;
    *files = cJSON_CreateObject();
    if (!*files)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t i = 0; i < o->n_json && st == SJ_OK; i++) {
        char *text = cJSON_Print(o->json_docs[i]);
        char *with_newline = text ? sj_asprintf("%s\n", text) : NULL;
        char *path = sj_path_join(tmp, o->json_names[i]);
        char sha[65];
        if (!with_newline || !path) {
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        } else {
            size_t len = strlen(with_newline);
            sj_sha256_hex(with_newline, len, sha);
            st = sj_write_file_atomic(path, with_newline, len, err);
            if (st == SJ_OK && !cJSON_AddStringToObject(*files, o->json_names[i], sha))
                st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        }
        free(text);
        free(with_newline);
        free(path);
    }
    if (st != SJ_OK) {
        cJSON_Delete(*files);
        *files = NULL;
    }
    return st;
}

static sj_status write_into(const char *tmp, const sj_lm *m, const sj_lm_save_opts *o,
                            sj_error *err)
{
    char sha[65], opt_sha[65] = "";
    char *path = NULL;
    cJSON *json_files = NULL, *csv_files = NULL;
    sj_status st = write_weights(tmp, m, o, sha, err);
    if (st == SJ_OK)
        st = write_json_files(tmp, o, &json_files, err);
    if (st == SJ_OK)
        st = write_csv_files(tmp, o, &csv_files, err);
    if (st == SJ_OK && o->opt)
        st = write_optimizer(tmp, o, opt_sha, err);
    if (st == SJ_OK) {
        path = sj_path_join(tmp, "tokenizer.json");
        st = sj_tokenizer_save(o->tok, path, err);
        free(path);
    }
    if (st == SJ_OK && o->log) {
        path = sj_path_join(tmp, "train_log.jsonl");
        st = sj_lm_log_write(o->log, path, err);
        free(path);
    }
    if (st == SJ_OK) {
        cJSON *cfg = config_json(m, o, sha, opt_sha, json_files, csv_files);
        json_files = csv_files = NULL; /* config.json owns them */
        path = sj_path_join(tmp, "config.json");
        st = sj_json_write(path, cfg, err);
        free(path);
        cJSON_Delete(cfg);
    }
    cJSON_Delete(json_files);
    cJSON_Delete(csv_files);
    return st;
}

char *sj_lm_save_leftover(const char *dir)
{
    return sj_outdir_leftover(dir);
}

/* The command named in the folder's manifest: the stage that trained the
 * model, as its provenance records it. */
static const char *saving_command(const sj_lm_save_opts *o)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o->provenance, "command");
    if (!cJSON_IsString(c))
        c = cJSON_GetObjectItemCaseSensitive(o->provenance, "stage");
    return cJSON_IsString(c) ? c->valuestring : "sjtalign";
}

static sj_status save_here(const char *dir, const sj_lm *m, const sj_lm_save_opts *opts,
                           sj_error *err)
{
    if (!opts || !opts->tok)
        return sj_error_set(err, SJ_ERR_WORK, "saving a model needs its tokenizer");
    if (sj_tokenizer_vocab_size(opts->tok) > m->cfg.vocab)
        return sj_error_set(err, SJ_ERR_WORK, "tokenizer has %d tokens, the model only %d",
                            sj_tokenizer_vocab_size(opts->tok), m->cfg.vocab);
    if (check_json_opts(opts, err) != SJ_OK)
        return SJ_ERR_WORK;
    /* Built beside the target and swapped in whole; a previous model is
     * replaced only when the folder holds nothing but its manifest's files. */
    sj_outdir out;
    sj_status st = sj_outdir_open(&out, dir, saving_command(opts), err);
    if (st == SJ_OK)
        st = write_into(out.tmp_dir, m, opts, err);
    if (st == SJ_OK)
        st = sj_outdir_commit(&out, saving_command(opts), err);
    else
        sj_outdir_abort(&out);
    if (st != SJ_OK)
        sj_error_prefix(err, "saving model %s: ", dir);
    return st;
}

sj_status sj_lm_save(const char *dir, const sj_lm *m, const sj_lm_save_opts *opts, sj_error *err)
{
    /* Rank 0 alone writes (the others hold the same model); every rank
     * learns how the save went, so a failed save stops all of them and a
     * rank that reads the model next finds it complete. */
    sj_status st = sj_dist_is_root() ? save_here(dir, m, opts, err) : SJ_OK;
    return sj_dist_agree(st, err);
}

sj_status sj_lm_resume_ranks(const cJSON *state, const char *dir, sj_error *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(state, "ranks");
    int was = cJSON_IsNumber(r) ? (int)r->valuedouble : 1, now = sj_dist_size();
    if (was == now)
        return SJ_OK;
    return sj_error_set(err, SJ_ERR_INPUT,
                        "--resume: the run in %s was trained with %d rank%s (mpirun -np %d); this "
                        "run has %d. Each rank takes its share of every batch, so continue with "
                        "-np %d, or start again without --resume",
                        dir, was, was == 1 ? "" : "s", was, now, was);
}

sj_status sj_lm_resume_same(const char *dir, sj_error *err)
{
    if (sj_dist_size() == 1)
        return SJ_OK;
    struct stat sb;
    int here = stat(dir, &sb) == 0;
    int seen[2] = {here, !here}; /* some rank sees it, some rank does not */
    sj_status st = sj_dist_max_int(seen, 2, err);
    if (st == SJ_OK && seen[0] && seen[1])
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "--resume: %s exists on some ranks and not on others; every rank must "
                          "read the same checkpoint (a shared file system)",
                          dir);
    /* every rank has the same answer; agreeing makes it a known failure */
    st = sj_dist_agree(st, err);
    if (st == SJ_OK && seen[0])
        st = sj_dist_same_input(dir, err);
    return st;
}

/* ---- loading ------------------------------------------------------------------------- */

void sj_lm_checkpoint_free(sj_lm_checkpoint *ck)
{
    if (!ck)
        return;
    sj_lm_free(ck->model);
    sj_tokenizer_free(ck->tok);
    cJSON_Delete(ck->config);
    for (size_t i = 0; i < ck->n_extras; i++) {
        free((char *)ck->extras[i].name);
        free(ck->extras[i].data);
    }
    free(ck->extras);
    sj_adamw_free(ck->opt);
    for (size_t i = 0; i < ck->n_json; i++) {
        free(ck->json_names[i]);
        cJSON_Delete(ck->json_docs[i]);
    }
    free(ck->json_names);
    free(ck->json_docs);
    free(ck);
}

const cJSON *sj_lm_checkpoint_json(const sj_lm_checkpoint *ck, const char *name)
{
    for (size_t i = 0; i < ck->n_json; i++)
        if (strcmp(ck->json_names[i], name) == 0)
            return ck->json_docs[i];
    return NULL;
}

const sj_lm_tensor *sj_lm_checkpoint_extra(const sj_lm_checkpoint *ck, const char *name)
{
    for (size_t i = 0; i < ck->n_extras; i++)
        if (strcmp(ck->extras[i].name, name) == 0)
            return &ck->extras[i];
    return NULL;
}

static int arch_int(const cJSON *arch, const char *name, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(arch, name);
    /* range first: converting a double an int cannot hold is undefined */
    if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) <= 2147483647.0) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return -1;
    *out = (int)v->valuedouble;
    return 0;
}

static sj_status read_config(const char *dir, cJSON **doc, sj_lm_config *cfg, sj_error *err)
{
    char *path = sj_path_join(dir, "config.json");
    *doc = sj_json_read(path, err);
    if (!*doc) {
        free(path);
        return SJ_ERR_INPUT;
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(*doc, "format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(*doc, "format_version");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(*doc, "architecture");
    sj_status st = SJ_OK;
    if (!cJSON_IsString(f) || strcmp(f->valuestring, FORMAT_NAME) != 0 || !cJSON_IsNumber(v))
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: not an sjtalign model (expected \"format\": \"%s\")", path,
                          FORMAT_NAME);
    else if (v->valuedouble != FORMAT_VERSION)
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: format_version %g is not supported (expected %d)",
                          path, v->valuedouble, FORMAT_VERSION);
    else if (arch_int(arch, "vocab", &cfg->vocab) || arch_int(arch, "ctx", &cfg->ctx) ||
             arch_int(arch, "layers", &cfg->layers) || arch_int(arch, "heads", &cfg->heads) ||
             arch_int(arch, "embd", &cfg->embd))
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: \"architecture\" needs integer vocab, ctx, layers, heads, embd",
                          path);
    else if (sj_lm_config_validate(cfg, err) != SJ_OK) {
        sj_error_prefix(err, "%s: ", path);
        st = SJ_ERR_INPUT;
    }
    free(path);
    return st;
}

static sj_status read_verified_kind(const char *dir, const char *file, int kind,
                                    const char *want_sha, char **data, size_t *len, sj_error *err)
{
    char *path = sj_path_join(dir, file);
    sj_status st = sj_read_file_kind(path, kind, data, len, err);
    if (st == SJ_OK) {
        char sha[65];
        sj_sha256_hex(*data, *len, sha);
        if (!want_sha || strcmp(sha, want_sha) != 0) {
            st = sj_error_set(err, SJ_ERR_INPUT,
                              "%s: checksum %s does not match config.json (%s): the file is "
                              "damaged, truncated or from another model",
                              path, sha, want_sha ? want_sha : "missing");
            free(*data);
            *data = NULL;
        }
    } else {
        err->status = SJ_ERR_INPUT;
    }
    free(path);
    return st;
}

static sj_status read_verified(const char *dir, const char *file, const char *want_sha, char **data,
                               size_t *len, sj_error *err)
{
    return read_verified_kind(dir, file, SJ_INPUT_WEIGHTS, want_sha, data, len, err);
}

/* One extra JSON file: its checksum, then the same parser (duplicate keys,
 * nesting and size limits) as config.json. */
static cJSON *load_json_file(const char *dir, const char *name, const char *sha, sj_error *err)
{
    char *text;
    size_t len;
    if (read_verified_kind(dir, name, SJ_INPUT_DOCUMENT, sha, &text, &len, err) != SJ_OK)
        return NULL;
    char *path = sj_path_join(dir, name);
    cJSON *doc = NULL;
    if (!path)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (strlen(text) != len)
        sj_error_set(err, SJ_ERR_INPUT, "%s: a NUL byte in a JSON file", path);
    else if (!(doc = sj_json_parse(path, text, err)))
        err->status = SJ_ERR_INPUT;
    free(path);
    free(text);
    return doc;
}

static int is_sha256_hex(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The files config.json lists in "extra_files" (none when absent). */
static sj_status load_json_files(const char *dir, sj_lm_checkpoint *ck, sj_error *err)
{
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ck->config, "extra_files");
    if (!files)
        return SJ_OK;
    if (!cJSON_IsObject(files))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s/config.json: \"extra_files\" must be an object of file name: "
                            "sha256",
                            dir);
    size_t n = (size_t)cJSON_GetArraySize(files);
    ck->json_names = calloc(n ? n : 1, sizeof *ck->json_names);
    ck->json_docs = calloc(n ? n : 1, sizeof *ck->json_docs);
    if (!ck->json_names || !ck->json_docs)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        if (!json_name_ok(f->string) || !cJSON_IsString(f) || !is_sha256_hex(f->valuestring))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s/config.json: extra file \"%s\" needs a plain name ending "
                                ".json and a sha256 of 64 hex digits",
                                dir, f->string);
        cJSON *doc = load_json_file(dir, f->string, f->valuestring, err);
        if (!doc)
            return SJ_ERR_INPUT;
        ck->json_docs[ck->n_json] = doc;
        ck->json_names[ck->n_json] = sj_strdup(f->string);
        ck->n_json++;
        if (!ck->json_names[ck->n_json - 1])
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    return SJ_OK;
}

static sj_status load_optimizer(const char *dir, sj_lm_checkpoint *ck, sj_error *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(ck->config, "optimizer");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(o, "sha256");
    if (!cJSON_IsObject(o) || !cJSON_IsString(sha))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s holds no optimizer state (it was not saved for resuming)", dir);
    char *data;
    size_t len;
    if (read_verified(dir, "optimizer.safetensors", sha->valuestring, &data, &len, err) != SJ_OK)
        return SJ_ERR_INPUT;
    safetensors st = {0};
    sj_adamw_config dc = sj_adamw_defaults();
    sj_status s = safetensors_parse("optimizer.safetensors", (unsigned char *)data, len, &st, err);
    if (s == SJ_OK) {
        ck->opt = sj_adamw_new(ck->model->n_params, &dc);
        if (!ck->opt)
            s = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (s == SJ_OK)
        s = safetensors_get("optimizer.safetensors", &st, "adam.m", ck->opt->m, ck->opt->n, err);
    if (s == SJ_OK)
        s = safetensors_get("optimizer.safetensors", &st, "adam.v", ck->opt->v, ck->opt->n, err);
    if (s == SJ_OK) {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(st.header, "__metadata__");
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(meta, "step");
        if (!cJSON_IsString(step))
            s = sj_error_set(err, SJ_ERR_INPUT, "optimizer.safetensors: metadata \"step\" missing");
        else
            ck->opt->step = strtol(step->valuestring, NULL, 10);
    }
    cJSON_Delete(st.header);
    free(data);
    return s;
}

static int is_model_tensor(const sj_lm *m, const char *name)
{
    return sj_lm_tensor_by_name(m, name) != NULL;
}

/* A tensor outside the architecture must be one config.json lists as extra;
 * otherwise the config describes a smaller model than the weights hold. */
static int is_listed_extra(const cJSON *config, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(config, "extra_tensors"))
    {
        if (cJSON_IsString(x) && strcmp(x->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

static sj_status load_weights(const char *dir, sj_lm_checkpoint *ck, sj_error *err)
{
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(ck->config, "weights_sha256");
    char *data;
    size_t len;
    if (read_verified(dir, "model.safetensors", cJSON_IsString(sha) ? sha->valuestring : NULL,
                      &data, &len, err) != SJ_OK)
        return SJ_ERR_INPUT;
    char *wname = sj_path_join(dir, "model.safetensors"); /* names it in messages */
    safetensors st = {0};
    sj_status s = !wname ? sj_error_set(err, SJ_ERR_WORK, "out of memory")
                         : safetensors_parse(wname, (unsigned char *)data, len, &st, err);
    for (size_t i = 0; s == SJ_OK && i < ck->model->n_tensors; i++) {
        sj_lm_tensor *t = &ck->model->tensors[i];
        s = safetensors_get(wname, &st, t->name, t->data, t->rows * t->cols, err);
    }
    const cJSON *e;
    if (s == SJ_OK) {
        ck->extras = calloc((size_t)cJSON_GetArraySize(st.header) + 1, sizeof *ck->extras);
        if (!ck->extras)
            s = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (s == SJ_OK)
        cJSON_ArrayForEach(e, st.header)
        {
            if (strcmp(e->string, "__metadata__") == 0 || is_model_tensor(ck->model, e->string))
                continue;
            if (!is_listed_extra(ck->config, e->string)) {
                s = sj_error_set(err, SJ_ERR_INPUT,
                                 "%s: tensor \"%s\" is neither part of the architecture in "
                                 "config.json nor one of its extra_tensors: the config and the "
                                 "weights disagree",
                                 wname, e->string);
                break;
            }
            const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
            int nd = cJSON_GetArraySize(shape);
            sj_lm_tensor *x = &ck->extras[ck->n_extras];
            x->rows = nd >= 2 ? (size_t)cJSON_GetArrayItem(shape, 0)->valuedouble : 1;
            x->cols = 1;
            for (int d = nd >= 2 ? 1 : 0; d < nd; d++)
                x->cols *= (size_t)cJSON_GetArrayItem(shape, d)->valuedouble;
            x->is_matrix = nd >= 2;
            x->name = sj_strdup(e->string);
            x->data = malloc((x->rows * x->cols > 0 ? x->rows * x->cols : 1) * sizeof(float));
            if (!x->name || !x->data) {
                free((char *)x->name);
                free(x->data);
                s = sj_error_set(err, SJ_ERR_WORK, "out of memory");
                break;
            }
            ck->n_extras++;
            s = safetensors_get(wname, &st, x->name, x->data, x->rows * x->cols, err);
            if (s != SJ_OK)
                break;
        }
    cJSON_Delete(st.header);
    free(data);
    free(wname);
    return s;
}

/* A damaged or foreign config.json must not make us allocate gigabytes:
 * the weights file has to be large enough for the architecture before the
 * model is allocated. A file too small is first checked against its
 * checksum, which tells a truncated file from a config that describes
 * another model. A missing file is reported when it is read. */
static sj_status check_weights_size(const char *dir, const cJSON *config, const sj_lm_config *cfg,
                                    sj_error *err)
{
    char *path = sj_path_join(dir, "model.safetensors");
    struct stat sb;
    size_t need = sj_lm_config_n_params(cfg) * sizeof(float);
    sj_status st = SJ_OK;
    if (path && stat(path, &sb) == 0 && (uint64_t)sb.st_size < (uint64_t)need + 8) {
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(config, "weights_sha256");
        char *data;
        size_t len;
        st = read_verified(dir, "model.safetensors", cJSON_IsString(sha) ? sha->valuestring : NULL,
                           &data, &len, err);
        if (st == SJ_OK) {
            free(data);
            st = sj_error_set(err, SJ_ERR_INPUT,
                              "%s: %lld bytes, too small for the %zu parameters that config.json "
                              "describes: the config and the weights disagree",
                              path, (long long)sb.st_size, need / sizeof(float));
        }
    }
    free(path);
    return st;
}

static void describe(const sj_lm_config *c, char *out, size_t n)
{
    snprintf(out, n, "vocab %d, ctx %d, layers %d, heads %d, embd %d", c->vocab, c->ctx, c->layers,
             c->heads, c->embd);
}

sj_lm_checkpoint *sj_lm_load(const char *dir, const sj_lm_config *expect, int with_optimizer,
                             sj_error *err)
{
    sj_lm_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    sj_lm_config cfg;
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s is a file, not a model folder (a model is a folder holding "
                     "config.json, tokenizer.json and model.safetensors)",
                     dir);
        goto fail;
    }
    if (!is_dir(dir)) {
        char *left = sj_lm_save_leftover(dir);
        if (left)
            sj_error_set(err, SJ_ERR_INPUT,
                         "%s is missing: a save to it was interrupted after moving the previous "
                         "model aside to %s; restore that model with: mv '%s' '%s'",
                         dir, left, left, dir);
        else
            sj_error_set(err, SJ_ERR_INPUT, "%s: no such model directory", dir);
        free(left);
        goto fail;
    }
    if (read_config(dir, &ck->config, &cfg, err) != SJ_OK)
        goto fail;
    if (expect && memcmp(expect, &cfg, sizeof cfg) != 0) {
        char have[160], want[160];
        describe(&cfg, have, sizeof have);
        describe(expect, want, sizeof want);
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s: the checkpoint's architecture (%s) differs from the one requested "
                     "(%s)",
                     dir, have, want);
        goto fail;
    }
    char *tpath = sj_path_join(dir, "tokenizer.json");
    ck->tok = sj_tokenizer_load(tpath, err);
    free(tpath);
    if (!ck->tok) {
        err->status = SJ_ERR_INPUT;
        goto fail;
    }
    if (sj_tokenizer_vocab_size(ck->tok) > cfg.vocab) {
        sj_error_set(err, SJ_ERR_INPUT, "%s: the tokenizer has %d tokens but the model only %d",
                     dir, sj_tokenizer_vocab_size(ck->tok), cfg.vocab);
        goto fail;
    }
    if (check_weights_size(dir, ck->config, &cfg, err) != SJ_OK)
        goto fail;
    ck->model = sj_lm_new(&cfg, NULL, err);
    if (!ck->model)
        goto fail;
    if (load_weights(dir, ck, err) != SJ_OK)
        goto fail;
    if (load_json_files(dir, ck, err) != SJ_OK)
        goto fail;
    if (with_optimizer && load_optimizer(dir, ck, err) != SJ_OK)
        goto fail;
    return ck;
fail:
    sj_lm_checkpoint_free(ck);
    return NULL;
}
