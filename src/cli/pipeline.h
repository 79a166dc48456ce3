/* The pipeline behind `sjtalign run`: a JSON file naming the instrument, the
 * data, the columns, the groups and each stage's settings becomes a list of
 * stage invocations of this program, each skipped when a stamp recorded
 * beside the outputs shows its inputs and settings have not changed. */
#ifndef SJTALIGN_PIPELINE_H
#define SJTALIGN_PIPELINE_H

#include <stddef.h>

#include "sjtalign/util.h"

typedef struct {
    char *name;    /* e.g. "sft", "score-ppo", "audit-after" */
    char *command; /* the sjtalign subcommand */
    char *what;    /* one phrase for the start line */
    int argc;
    char **argv; /* argv[0] is the subcommand; argv[argc] is NULL */
    size_t n_inputs;
    char **inputs; /* files or folders read (their content is in the stamp key) */
    size_t n_outputs;
    char **outputs; /* files or folders written */
} sj_stage;

typedef struct {
    char *path; /* the pipeline file */
    char *name;
    char *stamps;  /* folder of stage stamps: <runs>/stamps */
    char *reports; /* report root, for the closing summary */
    size_t n_stages;
    sj_stage *stages;
} sj_pipeline;

/* Reads and checks a whole pipeline file before any stage runs. Input
 * errors name the file, the line and column of the key and its path
 * ("stages.sft.steps"): unknown keys and stages; stage settings that are
 * not an option of the stage's command (with a "did you mean"), whose JSON
 * type does not fit the option, whose value is out of range, that name an
 * output or a command-line-only option; a stage output that is one of the
 * pipeline's inputs (data, instrument, truth, judged_pairs, path settings)
 * or holds one, or that another stage also writes; a simulate stage whose
 * folder holds files simulate did not write; runs or reports folders that
 * are files, lie under /proc, /sys or /dev, or cannot be created; inputs
 * that do not exist. Path settings are resolved against the pipeline's
 * base and recorded as the stage's inputs. */
sj_pipeline *sj_pipeline_load(const char *path, sj_error *err);
void sj_pipeline_free(sj_pipeline *p);
/* Index of a stage by name (or by command for the first of its kind). */
long sj_pipeline_find_stage(const sj_pipeline *p, const char *name);

/* The stamp key of a stage: a hash of its command line and of the content
 * of every input. */
sj_status sj_stage_key(const sj_stage *s, char key[65], sj_error *err);
/* 1 when the stage's stamp matches its key and every output still has the
 * content recorded when the stage finished. */
int sj_stage_up_to_date(const sj_pipeline *p, const sj_stage *s, const char key[65]);
/* Records the key and the outputs' content after a successful stage. */
sj_status sj_stage_write_stamp(const sj_pipeline *p, const sj_stage *s, const char key[65],
                               double seconds, sj_error *err);
/* Removes a stage's stamp (forces it to run again). */
void sj_stage_forget(const sj_pipeline *p, const sj_stage *s);

/* Content hash of a file, or of a folder (its files' names and hashes,
 * hidden files excluded). */
sj_status sj_path_content_hash(const char *path, char out[65], sj_error *err);

#endif
