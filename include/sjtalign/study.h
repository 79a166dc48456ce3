/* sjtalign replication studies: a pipeline run over seeds x conditions
 * (`sjtalign study`), and the summary of how well alignment removed the
 * injected rater bias across those replications. The study file's format
 * is in docs/STUDY.md; the runner that starts the replications is
 * src/cli/cmd_study.c, everything it reads and writes is here. */
#ifndef SJTALIGN_STUDY_H
#define SJTALIGN_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sjtalign/util.h"

#define SJ_STUDY_SCHEMA_VERSION 1

/* The scorers a replication audits, as the pipeline's compare stage labels
 * them: the fine-tuned scorer and the two aligned ones. */
#define SJ_STUDY_MODELS 3
extern const char *const SJ_STUDY_MODEL_LABELS[SJ_STUDY_MODELS]; /* "SFT", "PPO", "DPO" */

/* The targets of issue 17 on every aligned scorer of every condition. */
#define SJ_STUDY_REDUCTION_TARGET 0.70
#define SJ_STUDY_REDUCTION_STRETCH 0.80
#define SJ_STUDY_HALVED_TARGET 0.90
#define SJ_STUDY_CLEAN_TARGET 0.90 /* share with no unbiased item flagged */

/* ---- the study file ------------------------------------------------------ */

typedef struct {
    char *name;      /* also its folder under out/ */
    cJSON *simulate; /* the base pipeline's stages.simulate with this condition's overrides */
    cJSON *stages;   /* per-stage overrides of the other stages (an object, maybe empty) */
    size_t n_biased; /* the items of the simulate stage's "bias" */
    char **biased;   /* in the order the bias string names them */
    double *bias;    /* their sizes */
} sj_study_condition;

typedef struct {
    char *path; /* the study file */
    char *name;
    char *pipeline_path; /* the base pipeline file; NULL when inline */
    cJSON *pipeline;     /* the base pipeline, with "base" made absolute */
    char *out;           /* absolute */
    size_t n_seeds;
    uint64_t *seeds;
    size_t n_conditions;
    sj_study_condition *conditions;
    long jobs; /* 0: not given (the runner picks) */
    /* OPENBLAS_CORETYPE of the replications, set by the runner: the user's
     * setting, else the CPU's widest kernels when the library picked others
     * (OpenBLAS 0.3.21 runs AVX2 ones on AVX-512 CPUs it does not know);
     * NULL when the library's own choice stands. */
    const char *blas_core;
} sj_study_spec;

/* Reads and checks a study file. Input errors (SJ_ERR_INPUT) name the
 * file, line and column and what was expected: JSON syntax, unknown keys,
 * a missing or malformed pipeline, seeds or conditions, a condition name
 * that is not a plain folder name or appears twice, a simulate override
 * that is not an option of `sjtalign simulate` ("bias" must read
 * ITEM:SIZE,...), a base pipeline without a simulate, score, audit or
 * compare stage, or with judged_pairs (judgments belong to one data set). */
sj_study_spec *sj_study_load(const char *path, sj_error *err);
void sj_study_free(sj_study_spec *s);

/* The folder of replication (condition c, seed index k): out/<name>/seed-<s>. */
char *sj_study_replication_dir(const sj_study_spec *s, size_t c, size_t k);
/* The pipeline document of a replication: the base pipeline with the
 * study seed, the condition's settings, and its data (simulated into
 * dir/data), runs and reports under dir. NULL when out of memory. */
cJSON *sj_study_replication_pipeline(const sj_study_spec *s, size_t c, size_t k, const char *dir);

/* Parses "S02:0.6,S05:0.4" into items and sizes; -1 with `why` set when it
 * is not of that shape (an item twice, a size not a number in [0, 1]). */
int sj_study_parse_bias(const char *text, char ***items, double **sizes, size_t *n, char *why,
                        size_t why_len);

/* ---- one replication's figures ------------------------------------------- */

typedef enum {
    SJ_STUDY_NOT_RUN = 0, /* not started (the study was interrupted first) */
    SJ_STUDY_RAN,         /* ran and finished */
    SJ_STUDY_UP_TO_DATE,  /* every stage's stamp matched: not run again */
    SJ_STUDY_FAILED,      /* exit code other than 0, or its reports unreadable */
    SJ_STUDY_INTERRUPTED, /* stopped by Ctrl-C/SIGTERM; the next run continues it */
} sj_study_status;

const char *sj_study_status_name(sj_study_status s);

/* One biased item under one scorer: |SMD/SD| under SFT and under this
 * scorer, the reduction (|sft| - |this|) / |sft| (NaN when either is
 * missing or |sft| is 0), and whether SFT inherited the injected bias (its
 * audit flagged the item, B/C or BB/CC). A reduction of a bias SFT did not
 * inherit is a ratio of noise to noise, so the targets read only inherited
 * ones. */
typedef struct {
    double abs_sft, abs_model, reduction;
    int inherited;
} sj_study_item_fig;

typedef struct {
    int present;              /* the replication audited this scorer */
    sj_study_item_fig *items; /* one per biased item of the condition */
    int n_unbiased_flagged;   /* items without injected bias flagged B/C or BB/CC */
    char *unbiased_flagged;   /* "S04 BB; S07 CC", or NULL */
    int n_machine_made;       /* flagged here, not in the human nor the true scores */
    char *machine_made;       /* "S04 BB", or NULL */
    double qwk_truth;         /* QWK with the true scores (NaN when absent) */
    double qwk_human;         /* QWK with the human scores */
    double kl;                /* PPO: the last fixed-set KL logged; NaN otherwise */
    int hacking;              /* PPO: the log shows the reward-hacking pattern */
} sj_study_model_fig;

typedef struct {
    size_t condition;
    uint64_t seed;
    char *dir;
    char *log;
    sj_study_status status;
    int exit_code;
    double seconds;
    char *error; /* why its figures are missing (failed or unreadable), or NULL */
    sj_study_model_fig models[SJ_STUDY_MODELS];
    char *human_flagged; /* items flagged in the human scores, or NULL */
    char *truth_flagged; /* items flagged in the true scores, or NULL */
} sj_study_rep;

/* Reads a finished replication's figures from dir/reports (compare/
 * compare.json and before/audit.json) and computes the DIF of its true
 * scores on the audited persons. On failure rep->error says why and the
 * replication counts as failed. */
sj_status sj_study_collect(const sj_study_spec *s, sj_study_rep *rep, sj_error *err);
void sj_study_rep_clear(sj_study_rep *rep);

/* ---- the summary ---------------------------------------------------------- */

/* A mean over replications with its 95% t-interval: mean +- t(0.975, n-1)
 * * sd / sqrt(n) (sd with n - 1); lo and hi are NaN for n < 2 and mean is
 * NaN for n = 0. NaN values are left out. */
typedef struct {
    double mean, lo, hi;
    size_t n;
} sj_study_mean;

sj_study_mean sj_study_mean_ci(const double *values, size_t n);

typedef enum { SJ_TARGET_NA = 0, SJ_TARGET_MET, SJ_TARGET_MISSED } sj_target_state;
const char *sj_target_state_name(sj_target_state s);

#define SJ_STUDY_TARGETS 5
typedef struct {
    const char *name; /* "reduction", "reduction_stretch", "halved", "no_unbiased_flagged",
                         "truth_qwk_not_below_sft" */
    const char *rule; /* in words */
    double value;
    double threshold;
    sj_target_state state;
} sj_study_target;

typedef struct {
    const char *item;
    sj_study_mean abs_sft, abs_model;
    sj_study_mean reduction;     /* over the replications where SFT inherited the bias */
    sj_study_mean reduction_all; /* over every replication */
    double halved_share;         /* of those inherited: reduction at least 0.5 */
    double inherited_share;      /* replications where SFT inherited the bias */
} sj_study_item_summary;

typedef struct {
    size_t condition;
    int model;                        /* index into SJ_STUDY_MODEL_LABELS */
    size_t n_ok, n_failed, n_missing; /* missing: ok but this scorer not audited */
    size_t n_items;
    sj_study_item_summary *items;
    sj_study_mean reduction;       /* per replication: the mean over the inherited biases */
    sj_study_mean reduction_all;   /* per replication: the mean over every biased item */
    double halved_share;           /* every inherited bias's |SMD/SD| at most half of SFT's */
    double inherited_share;        /* biased item x replication cells SFT inherited */
    double unbiased_flagged_share; /* some item without injected bias flagged B/C */
    double machine_made_share;     /* some machine-made DIF */
    sj_study_mean machine_made;    /* machine-made DIF items per replication */
    sj_study_mean qwk_truth, qwk_human;
    sj_study_mean qwk_truth_change, qwk_human_change; /* this scorer minus SFT */
    size_t truth_below;                               /* replications with truth QWK below SFT's */
    sj_study_mean kl;
    size_t hacking;
    sj_study_target targets[SJ_STUDY_TARGETS];
} sj_study_summary;

/* The summary of every condition x scorer over the replications with
 * figures (status RAN or UP_TO_DATE and no error); `out` gets
 * n_conditions * SJ_STUDY_MODELS entries, condition-major. */
sj_status sj_study_summarise(const sj_study_spec *s, const sj_study_rep *reps, size_t n_reps,
                             sj_study_summary **out, sj_error *err);
void sj_study_summaries_free(sj_study_summary *sums, size_t n);
/* Sets the targets of one summary from its figures (SFT's are n/a). */
void sj_study_set_targets(sj_study_summary *sum);

/* ---- the outputs ------------------------------------------------------------ */

/* The study document (schema_version, kind "study", settings, counts,
 * replications, summary, targets, summary_text). */
cJSON *sj_study_document(const sj_study_spec *s, const sj_study_rep *reps, size_t n_reps,
                         const sj_study_summary *sums, const char *command_line);
/* Writes out/study.json, out/study.csv and out/index.html from the
 * document, each atomically, and reads the JSON and CSV back. */
sj_status sj_study_write(const cJSON *doc, const char *out_dir, sj_error *err);
/* The page (self-contained HTML) of a study document. */
sj_status sj_study_html(const cJSON *doc, sj_buf *out, sj_error *err);

#endif
