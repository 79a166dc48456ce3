/* sjtalign language model: a byte-level BPE tokenizer and a small GPT-style
 * decoder (token + position embeddings, pre-LayerNorm blocks with causal
 * multi-head self-attention and a GELU MLP, final LayerNorm, output layer tied
 * to the token embedding), fp32, trained with AdamW. Every matrix product goes
 * through cblas_sgemm; the other loops are threaded with OpenMP.
 *
 * How the alignment stage uses it
 * -------------------------------
 * A training example is one token sequence: bos, prompt tokens, sep,
 * completion tokens, eos. sj_lm_batch_set() turns it into inputs (all tokens
 * but the last) and targets (all tokens but the first, i.e. the next token),
 * and takes one weight per target: 0 for targets inside the prompt, 1 for the
 * completion tokens (and the final eos). Padding always has weight 0.
 *
 *  - Pre-training: every weight 1; sj_lm_ce_step() does forward, weighted
 *    cross-entropy and backward in one call.
 *  - SFT: the same with prompt weights 0.
 *  - Sequence objectives (DPO, PPO): sj_lm_forward() gives the per-token
 *    log-probability of each target at a temperature (log softmax(z/tau)),
 *    optionally the per-token entropy. The caller sums the weighted log-probs
 *    into sequence log-probs, computes its objective and its derivative with
 *    respect to every per-token log-prob, and passes that [B x T] array to
 *    sj_lm_backward(), which accumulates parameter gradients. A frozen
 *    reference model is an sj_lm_copy() whose gradients are never used.
 *  - Scalar heads (reward model, PPO value head): sj_lm_forward() returns the
 *    final hidden state (after the last LayerNorm) at one position per
 *    sequence (usually lengths[b] - 1, the last real token); the head lives in
 *    the caller, which passes d(objective)/d(hidden) [B x embd] to
 *    sj_lm_backward() (with dlogprob NULL when only the head path matters).
 *    The head's tensors travel with the checkpoint as extra named tensors,
 *    e.g. "head.weight" [1 x embd] and "head.bias" [1].
 *  - Sampling: sj_lm_generate() continues a prompt with a key/value cache,
 *    at a temperature with optional top-k, and returns each sampled token's
 *    log-probability under the full temperature-scaled distribution (the same
 *    number sj_lm_forward() gives for that token at that temperature).
 *
 * Gradients accumulate: call sj_lm_zero_grad() before each step. Objectives
 * are minimised; sj_lm_backward() takes d(objective)/d(logprob).
 *
 * Thread safety: a model holds the activations of its last forward pass, so
 * one model is used by one thread at a time; different models may be used
 * from different threads at once. The lm never changes process-wide state
 * during a pass: OpenBLAS is set to one thread once per process (the first
 * time a model is made), and OpenMP's thread count only by
 * sj_lm_set_threads. The kernel profile (sj_lm_profile_*) is process-wide
 * and meant for one model on one thread (the bench). */
#ifndef SJTALIGN_LM_H
#define SJTALIGN_LM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/util.h"

/* ---- threads -------------------------------------------------------------- */

/* Sets OpenMP's thread count (n >= 1; smaller is taken as 1) for the lm's
 * loops and matrix products; OpenBLAS stays at one thread inside each, so
 * the two pools never oversubscribe the cores. Call it before starting
 * threads of one's own: it changes process-wide settings. */
void sj_lm_set_threads(int n);

/* The target the lm's kernels were compiled for: "x86-64-v3" (AVX2, FMA)
 * or "portable". */
const char *sj_lm_kernels(void);

/* ---- tokenizer ------------------------------------------------------------ */

/* Reserved ids. Ids 4..259 are the 256 single bytes (byte b = 4 + b); merged
 * tokens follow from 260 in the order the merges were learned. */
enum {
    SJ_TOK_PAD = 0,
    SJ_TOK_EOS = 1,
    SJ_TOK_SEP = 2, /* separates prompt from completion */
    SJ_TOK_BOS = 3,
    SJ_TOK_BYTE0 = 4,
    SJ_TOK_N_BASE = 260, /* specials + bytes: the smallest vocabulary */
};

#define SJ_TOK_DEFAULT_VOCAB 512

typedef struct sj_tokenizer sj_tokenizer;

/* Learns byte-level BPE merges from n texts (lens[i] bytes each; lens may be
 * NULL for NUL-terminated texts) until the vocabulary holds vocab_size tokens
 * (>= 260) or no pair occurs twice. Texts are first split into words (a run
 * of letters, digits and non-ASCII bytes with at most one leading space; a run
 * of other printable bytes; a run of whitespace); merges never cross a word
 * boundary. Deterministic: ties go to the smallest pair of ids. */
sj_tokenizer *sj_tokenizer_train(const char *const *texts, const size_t *lens, size_t n,
                                 int vocab_size, sj_error *err);
void sj_tokenizer_free(sj_tokenizer *tok);
/* Number of tokens (specials, bytes and merges). */
int sj_tokenizer_vocab_size(const sj_tokenizer *tok);

/* Encodes any bytes (UTF-8 or not) into ids; never emits special ids.
 * *ids is allocated (caller frees); *n may be 0. */
sj_status sj_tokenizer_encode(const sj_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                              size_t *n, sj_error *err);
/* Decodes ids back to bytes (special tokens decode to nothing); the result
 * is NUL-terminated and *len excludes the NUL. decode(encode(x)) == x for
 * every byte string x. Returns NULL on an id outside the vocabulary. */
char *sj_tokenizer_decode(const sj_tokenizer *tok, const int32_t *ids, size_t n, size_t *len,
                          sj_error *err);
/* The bytes a token stands for (empty for specials); NULL for a bad id. */
const unsigned char *sj_tokenizer_token_bytes(const sj_tokenizer *tok, int32_t id, size_t *len);

/* tokenizer.json: {"type": "sjtalign-byte-bpe", "version": 1, "vocab_size",
 * "specials": {"pad": 0, "eos": 1, "sep": 2, "bos": 3}, "byte_offset": 4,
 * "merges": [[a, b], ...] (merge i makes token 260 + i)}. */
cJSON *sj_tokenizer_to_json(const sj_tokenizer *tok);
sj_tokenizer *sj_tokenizer_from_json(const char *name, const cJSON *doc, sj_error *err);
sj_status sj_tokenizer_save(const sj_tokenizer *tok, const char *path, sj_error *err);
sj_tokenizer *sj_tokenizer_load(const char *path, sj_error *err);

/* ---- model ------------------------------------------------------------------ */

typedef struct {
    int vocab;  /* tokens; must cover the tokenizer */
    int ctx;    /* longest sequence (positions), >= 8 */
    int layers; /* transformer blocks, >= 1 */
    int heads;  /* attention heads; embd % heads == 0 */
    int embd;   /* width of the residual stream */
} sj_lm_config;

/* Defaults for the demo: small and fast on two cores. */
#define SJ_LM_DEFAULT_LAYERS 2
#define SJ_LM_DEFAULT_HEADS 4
#define SJ_LM_DEFAULT_EMBD 96
#define SJ_LM_DEFAULT_CTX 128

/* Checks the architecture; the message names the offending option. */
sj_status sj_lm_config_validate(const sj_lm_config *cfg, sj_error *err);
/* Number of parameters of an architecture. */
size_t sj_lm_config_n_params(const sj_lm_config *cfg);

/* One named tensor: name, 1-D (rows = 1, cols = n) or 2-D [rows x cols]
 * shape, and its data. In the model these point into the contiguous blocks. */
typedef struct {
    const char *name;
    size_t rows, cols;
    int is_matrix; /* 2-D weight: receives weight decay */
    float *data;
} sj_lm_tensor;

/* Tensor names (also the safetensors names), in memory order:
 *   wte [vocab x embd]            token embedding, tied output layer
 *   wpe [ctx x embd]              position embedding
 *   h.L.ln_1.weight, h.L.ln_1.bias [embd]
 *   h.L.attn.qkv.weight [3 embd x embd], h.L.attn.qkv.bias [3 embd]
 *                                 rows: queries, then keys, then values; head
 *                                 h uses rows h*embd/heads .. within each
 *   h.L.attn.proj.weight [embd x embd], h.L.attn.proj.bias [embd]
 *   h.L.ln_2.weight, h.L.ln_2.bias [embd]
 *   h.L.mlp.fc.weight [4 embd x embd], h.L.mlp.fc.bias [4 embd]
 *   h.L.mlp.proj.weight [embd x 4 embd], h.L.mlp.proj.bias [embd]
 *   ln_f.weight, ln_f.bias [embd]
 * for L = 0 .. layers-1. Linear layers compute y = x W^T + b (W is
 * [out x in], as torch.nn.Linear). LayerNorm eps = 1e-5; GELU is the tanh
 * approximation. Logits = ln_f(x) wte^T. */
typedef struct sj_lm_acts sj_lm_acts;

typedef struct {
    sj_lm_config cfg;
    size_t n_params;
    float *params; /* n_params, one contiguous block */
    float *grads;  /* n_params, same layout */
    size_t n_tensors;
    sj_lm_tensor *tensors;  /* views into params, in memory order */
    sj_lm_tensor *gtensors; /* the same views into grads */
    uint8_t *decay;         /* n_params: 1 where weight decay applies */
    sj_lm_acts *acts;       /* activations of the last forward (internal) */
} sj_lm;

/* Allocates a model with parameters initialised GPT-2 style from rng
 * (normal(0, 0.02); residual projections scaled by 1/sqrt(2 layers); biases
 * 0; LayerNorm weights 1). rng may be NULL for all-zero parameters. */
sj_lm *sj_lm_new(const sj_lm_config *cfg, gsl_rng *rng, sj_error *err);
/* A deep copy of the parameters (gradients zero), e.g. a frozen reference. */
sj_lm *sj_lm_copy(const sj_lm *src, sj_error *err);
void sj_lm_free(sj_lm *m);
/* A tensor view by name, or NULL. */
const sj_lm_tensor *sj_lm_tensor_by_name(const sj_lm *m, const char *name);
void sj_lm_zero_grad(sj_lm *m);

/* ---- batches ---------------------------------------------------------------- */

/* B sequences of up to T positions, right-padded. Position t of sequence b
 * reads tokens[b*T + t] and predicts targets[b*T + t] with weight
 * weights[b*T + t]. Positions >= lengths[b] are padding (token SJ_TOK_PAD,
 * weight 0). The causal mask keeps padding from affecting real positions.
 *
 * Logit bias (a product of experts: another model's log-probabilities of a
 * few tokens added to the LM's logits where it predicts them): with n_bias >
 * 0, the next-token logits z of sequence b at input position bias_pos[b]
 * become z[bias_tokens[k]] += bias[b*n_bias + k] for every k, before the
 * temperature division, so that position's distribution is
 * softmax((z + bias) / tau). Everything downstream uses the biased logits:
 * logprobs, entropy, the logits output, sj_lm_ce_loss/ce_step, and the
 * gradients of sj_lm_backward/backward_all (those of log softmax((z +
 * bias)/tau); the bias itself is a constant). bias_pos[b] = -1 leaves row b
 * unbiased; n_bias = 0 leaves the whole batch exactly as without this
 * feature. Bias token ids are checked against the vocabulary by the
 * forward pass. */
typedef struct {
    int B, T;
    int32_t *tokens;
    int32_t *targets;
    float *weights;
    int *lengths;
    int n_bias;           /* number of biased vocabulary entries (0 = none) */
    int32_t *bias_tokens; /* [n_bias] vocabulary ids, shared by every row */
    int *bias_pos;        /* [B] input position whose next-token logits get the bias, -1 = none */
    float *bias;          /* [B x n_bias] */
} sj_lm_batch;

/* T is the number of input positions and must not exceed the model's ctx:
 * a whole sequence of ctx + 1 tokens fills a batch row of T = ctx. The new
 * batch has no logit bias (n_bias 0, every bias_pos -1). */
sj_lm_batch *sj_lm_batch_new(int B, int T);
void sj_lm_batch_free(sj_lm_batch *batch);
/* Clears every sequence to padding (length 0) and every bias_pos to -1
 * (the bias tokens stay). */
void sj_lm_batch_clear(sj_lm_batch *batch);
/* Sets sequence b from a whole token sequence seq[0..len-1] (2 <= len <=
 * T + 1): inputs seq[0..len-2], targets seq[1..len-1], lengths[b] = len - 1.
 * target_weights (len - 1 values, weight of predicting seq[t+1]) may be NULL
 * for all ones. Row b's bias_pos becomes -1 (set the bias after the
 * sequence). */
sj_status sj_lm_batch_set(sj_lm_batch *batch, int b, const int32_t *seq, int len,
                          const float *target_weights, sj_error *err);
/* Chooses the n biased vocabulary ids (distinct, >= 0; n = 0 removes the
 * bias): allocates bias_tokens and bias [B x n] (zeros) and sets every
 * bias_pos to -1. SJ_ERR_INPUT on a negative or repeated id. */
sj_status sj_lm_batch_set_bias_tokens(sj_lm_batch *batch, const int32_t *tokens, int n,
                                      sj_error *err);
/* Biases the next-token logits of sequence b at input position pos (0 <=
 * pos < lengths[b]) by bias[0..n_bias-1] (finite values, copied). */
sj_status sj_lm_batch_set_bias(sj_lm_batch *batch, int b, int pos, const float *bias,
                               sj_error *err);

/* ---- forward and backward --------------------------------------------------- */

/* What a forward pass returns; NULL pointers are not computed. Arrays are
 * [B x T] (row b holds sequence b) unless said otherwise. */
typedef struct {
    float temperature;     /* tau > 0 for logprobs and entropy (1 = plain) */
    float *logprobs;       /* out: log softmax(z/tau)[target] per position */
    float *entropy;        /* out: entropy of softmax(z/tau) per position */
    float *logits;         /* out: [B x T x vocab] logits z (with the batch's logit bias
                              added where it applies) */
    const int *hidden_pos; /* in: one position per sequence, or NULL */
    float *hidden;         /* out: [B x embd] final hidden state at hidden_pos */
    float *hidden_all;     /* out: [B x batch->T x embd] final hidden state at every
                              position (rows past the longest sequence are 0) */
    const int *logits_pos; /* in: one input position per sequence (-1 = none), or NULL */
    float *logits_at;      /* out: [B x vocab] logits z at logits_pos (with the logit bias;
                              rows with -1 are 0) */
    int sparse_head;       /* 1: the output layer (logits, softmax) runs only at the
                              positions something reads: targets with a nonzero weight
                              (when logprobs or entropy are asked for), bias_pos and
                              logits_pos; logprobs and entropy are 0 elsewhere, and
                              sj_lm_backward then refuses a nonzero dlogprob elsewhere.
                              Ignored when the full logits are asked for. 0: at every
                              position of B x T. */
    int forward_only;      /* 1: no sj_lm_backward follows (it is refused): the last
                              block runs only at the positions the outputs read (the
                              output layer's and hidden_pos), a third or less of its
                              work when few are read; with hidden_all every position
                              is read and runs. A prefixed pass is always
                              forward-only. */
} sj_lm_forward_io;

/* Runs the model on a batch (batch->T <= ctx) and keeps the activations for
 * sj_lm_backward(). Values at padding positions are computed but meaningless.
 * The output layer is the costly part of a small model (vocab x embd per
 * position): objectives that read a few positions per sequence (sequence
 * log-probs over the completion, a score token, a scalar head) should set
 * sparse_head (and logits_pos for single next-token distributions). The
 * activations are kept in a grow-only arena of the model: repeated passes
 * on batches no larger than an earlier one allocate nothing.
 * Fails with SJ_ERR_INPUT on a token (or logit-bias token) outside the
 * vocabulary, a bias_pos or logits_pos outside -1..lengths[b]-1 or a bias
 * that is not finite. */
sj_status sj_lm_forward(sj_lm *m, const sj_lm_batch *batch, sj_lm_forward_io *io, sj_error *err);

/* Back-propagates through the last forward pass (same batch and
 * temperature): dlogprob [B x T] is d(objective)/d(logprob of the target) at
 * each position (NULL = none; padding entries must be 0); dhidden [B x embd]
 * is d(objective)/d(hidden state at hidden_pos) (NULL = none; requires the
 * forward to have had hidden_pos). Gradients are added to m->grads. */
sj_status sj_lm_backward(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob,
                         const float *dhidden, sj_error *err);

/* As sj_lm_backward, with dhidden_all [B x batch->T x embd] the gradient
 * with respect to the final hidden state at every position (0 where it
 * does not matter), for objectives that read several positions of a
 * sequence (a PPO value model reads the state before every action). */
sj_status sj_lm_backward_all(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob,
                             const float *dhidden_all, sj_error *err);

/* ---- shared prefixes (inference) ------------------------------------------------ */

/* Sequences that all begin with the same tokens (every response to an
 * item starts with the item's prompt) can run those tokens once: a prefix
 * keeps their keys and values at every layer, and sj_lm_forward_prefixed
 * runs only each sequence's own tokens, attending over the kept ones. The
 * outputs equal those of sj_lm_forward on the whole sequences up to float
 * rounding. Inference only: no sj_lm_backward after a prefixed pass. */
typedef struct sj_lm_prefix sj_lm_prefix;

/* An empty prefix for models of m's architecture (room for up to ctx - 1
 * tokens' keys and values, allocated once). */
sj_lm_prefix *sj_lm_prefix_new(const sj_lm *m, sj_error *err);
void sj_lm_prefix_free(sj_lm_prefix *p);
/* Runs tokens[0..n-1] (0 <= n < ctx; 0 empties it) through m and keeps
 * their keys and values, replacing what the prefix held. Uses m's
 * activations (any stored pass is dropped). */
sj_status sj_lm_prefix_set(sj_lm_prefix *p, sj_lm *m, const int32_t *tokens, int n, sj_error *err);
/* Tokens the prefix holds. */
int sj_lm_prefix_len(const sj_lm_prefix *p);

/* sj_lm_forward on a batch whose every sequence continues the prefix:
 * position t of the batch is position prefix_len + t of the whole sequence
 * (prefix_len + the longest sequence <= ctx); the batch, io positions
 * (logits_pos, hidden_pos, bias_pos) and outputs all count from the first
 * token after the prefix. m must be the model the prefix was set with. The
 * prefix's attention scratch grows with the batch (a prefix, like a model,
 * is used by one thread at a time). */
sj_status sj_lm_forward_prefixed(sj_lm *m, sj_lm_prefix *prefix, const sj_lm_batch *batch,
                                 sj_lm_forward_io *io, sj_error *err);

/* Weighted mean cross-entropy (nats per weighted token):
 * L = -sum w log p(target) / sum w. Forward only. */
sj_status sj_lm_ce_loss(sj_lm *m, const sj_lm_batch *batch, double *loss, sj_error *err);
/* Forward, the loss above, and its backward (adds to m->grads). */
sj_status sj_lm_ce_step(sj_lm *m, const sj_lm_batch *batch, double *loss, sj_error *err);

/* Rows [lo, hi) of a batch as a batch of hi - lo rows of the same T: a view
 * into its arrays (nothing copied; valid while the batch is). */
sj_lm_batch sj_lm_batch_rows(const sj_lm_batch *batch, int lo, int hi);
/* A data-parallel share of sj_lm_ce_step: forward and backward on rows
 * [lo, hi) only, with their weighted log-probs divided by the weight sum of
 * the WHOLE batch, so that the losses (*loss) and gradients of shares that
 * cover [0, B) add up to those of sj_lm_ce_step on the whole batch. The
 * share [0, B) computes exactly what sj_lm_ce_step does; an empty share
 * adds nothing (*loss 0). The whole batch's weights are checked as
 * sj_lm_ce_step checks them. */
sj_status sj_lm_ce_step_rows(sj_lm *m, const sj_lm_batch *batch, int lo, int hi, double *loss,
                             sj_error *err);

/* ---- optimiser ----------------------------------------------------------------- */

typedef struct {
    double lr;           /* peak learning rate */
    double beta1, beta2; /* 0.9, 0.95 */
    double eps;          /* 1e-8 */
    double weight_decay; /* applied to matrices only (0.1) */
    double grad_clip;    /* global L2 norm; <= 0 = no clipping (1.0) */
    long warmup;         /* linear warm-up steps */
    long total_steps;    /* cosine decay to min_lr_frac * lr at total_steps */
    double min_lr_frac;  /* 0.1 */
} sj_adamw_config;

/* lr 3e-3 and the bracketed values above; warmup and total_steps 0. */
sj_adamw_config sj_adamw_defaults(void);

/* AdamW state over n parameters: first and second moments, each one
 * contiguous block, and the number of updates made. */
typedef struct {
    sj_adamw_config cfg;
    size_t n;
    float *m;
    float *v;
    long step;
} sj_adamw;

sj_adamw *sj_adamw_new(size_t n, const sj_adamw_config *cfg);
void sj_adamw_free(sj_adamw *opt);
/* Learning rate at a step (0-based): linear warm-up from lr/warmup to lr over
 * `warmup` steps, then cosine decay to min_lr_frac*lr at total_steps (held
 * there afterwards). Constant lr when total_steps <= warmup. */
double sj_lr_at(const sj_adamw_config *cfg, long step);
/* One update of params with grads at learning rate lr; decay (n bytes, 1 =
 * decay) may be NULL for no weight decay. Decoupled weight decay:
 * p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p). */
void sj_adamw_update(sj_adamw *opt, float *params, const float *grads, const uint8_t *decay,
                     double lr);
/* Sum of squares of a gradient block (accumulated in double). */
double sj_grad_sq_norm(const float *g, size_t n);
/* Scales a gradient block. */
void sj_grad_scale(float *g, size_t n, float factor);
/* Clips the model's gradients to a global L2 norm; returns the norm before
 * clipping. */
double sj_lm_clip_grad(sj_lm *m, double max_norm);
/* Clip (per opt->cfg.grad_clip) and update the model at sj_lr_at(opt->step);
 * returns the lr used. */
double sj_lm_adamw_step(sj_adamw *opt, sj_lm *m);

/* ---- sampling -------------------------------------------------------------------- */

typedef struct {
    float temperature; /* > 0 */
    int top_k;         /* 0 = whole vocabulary */
    int max_new;       /* most tokens to generate */
    int32_t stop;      /* stop after emitting this id (usually SJ_TOK_EOS); < 0 = never */
    /* Logit bias (see sj_lm_batch): the logits of the bias_step-th generated
     * token (0 = the first new token) become z[bias_tokens[k]] += bias[k]
     * before the temperature and top-k; n_bias 0 (zero-initialised opts) =
     * none. Ids distinct and inside the vocabulary, values finite. */
    const int32_t *bias_tokens; /* [n_bias] */
    const float *bias;          /* [n_bias] */
    int n_bias;
    int bias_step;
} sj_lm_sample_opts;

/* Continues prompt[0..n_prompt-1] (n_prompt >= 1) token by token with a
 * key/value cache, so the prefix is processed once. Writes up to max_new
 * tokens to out_tokens and the log-probability of each under softmax(z/tau)
 * over the whole vocabulary (before top-k) to out_logprobs (may be NULL);
 * at bias_step, z includes the logit bias, so that token's log-probability
 * is the one sj_lm_forward() gives with the same bias at that position;
 * *n_out receives the count. Stops after the stop token, after max_new
 * tokens, or when the context is full. Deterministic given rng's state. */
sj_status sj_lm_generate(sj_lm *m, const int32_t *prompt, int n_prompt,
                         const sj_lm_sample_opts *opts, gsl_rng *rng, int32_t *out_tokens,
                         float *out_logprobs, int *n_out, sj_error *err);

/* ---- training log ------------------------------------------------------------------ */

/* train_log.jsonl kept in memory: one JSON object per line, "step" first,
 * then the metrics in the order given (NaN or infinities become null). The
 * pre-training loop writes "loss", "lr", "tokens_per_s" and, when evaluated,
 * "val_loss"; other stages add their own names (e.g. "objective/kl"). */
typedef struct {
    const char *name;
    double value;
} sj_lm_metric;

typedef struct {
    sj_buf text;
    long last_step;
} sj_lm_log;

void sj_lm_log_init(sj_lm_log *log);
void sj_lm_log_free(sj_lm_log *log);
sj_status sj_lm_log_append(sj_lm_log *log, long step, const sj_lm_metric *metrics, size_t n,
                           sj_error *err);
/* Writes the log atomically. */
sj_status sj_lm_log_write(const sj_lm_log *log, const char *path, sj_error *err);
/* Reads a log back keeping only the lines with step <= max_step (resume). */
sj_status sj_lm_log_load(sj_lm_log *log, const char *path, long max_step, sj_error *err);

/* ---- checkpoints --------------------------------------------------------------------- */

/* A model directory holds:
 *   config.json        {"format": "sjtalign-lm", "format_version": 1,
 *                       "architecture": {"vocab", "ctx", "layers", "heads",
 *                       "embd", ...fixed details}, "tokenizer": {...settings},
 *                       "n_params", "weights_sha256" (of model.safetensors),
 *                       "extra_tensors": [names], "provenance": {...}}
 *   tokenizer.json     see sj_tokenizer_to_json
 *   model.safetensors  8-byte little-endian header length N, N bytes of JSON
 *                      header {"NAME": {"dtype": "F32", "shape": [...],
 *                      "data_offsets": [begin, end]}, ..., "__metadata__":
 *                      {"format": "pt"}}, then the raw little-endian tensors
 *                      (the model's tensors in memory order, then extras)
 *   optimizer.safetensors  (optional, for resuming) "adam.m", "adam.v" and
 *                      metadata "step"; its sha256 is in config.json
 *   train_log.jsonl    (optional) the training log
 *   NAME.json          (optional) extra JSON documents (sj_lm_save_opts
 *                      json_names), listed with their sha256 in config.json
 *                      "extra_files"
 *   NAME.csv           (optional) extra text tables (sj_lm_save_opts
 *                      csv_names), listed with their sha256 in config.json
 *                      "extra_tables"; loading does not read them
 * The directory is built under a temporary name beside the target and
 * renamed into place only when complete; a previous model at that path is
 * replaced only then. */
typedef struct {
    const sj_tokenizer *tok;    /* required */
    const cJSON *provenance;    /* optional, copied into config.json */
    const sj_lm_tensor *extras; /* optional extra tensors, e.g. "head.weight" */
    size_t n_extras;
    const sj_adamw *opt;  /* optional optimizer state */
    const sj_lm_log *log; /* optional train_log.jsonl */
    /* optional: what continuing an interrupted training stage needs, copied
     * into config.json as "resume" (a finished model has none) */
    const cJSON *resume;
    /* optional extra JSON documents saved as files of the folder (e.g. a
     * lexical model beside the LM): plain file names of [A-Za-z0-9_.-], not
     * starting with '.', ending ".json", other than config.json and
     * tokenizer.json, each once; listed in config.json as "extra_files":
     * {"NAME": "<sha256 of the file>", ...} */
    const char *const *json_names;
    const cJSON *const *json_docs;
    size_t n_json;
    /* optional extra CSV texts saved as files of the folder (e.g. a table
     * beside a JSON document): the same name rule ending ".csv" */
    const char *const *csv_names;
    const char *const *csv_texts;
    size_t n_csv;
} sj_lm_save_opts;

/* Saves atomically, as an output folder with a manifest (sj_outdir): an
 * existing dir is replaced only when it holds nothing but the unchanged
 * files its manifest lists (else SJ_ERR_INPUT names the file in the way).
 * Replacing a previous model moves it aside to
 * ".BASE.old.PID", renames the new folder into place, then removes the old
 * one; a save killed between the two renames leaves no BASE, only that
 * folder (sj_lm_load names it). Leftovers of saves whose process is gone are
 * removed by the next successful save to the same path. */
/* Under MPI it is collective: rank 0 alone writes (other ranks create no
 * file), and every rank returns rank 0's outcome. */
sj_status sj_lm_save(const char *dir, const sj_lm *m, const sj_lm_save_opts *opts, sj_error *err);

/* When `dir` does not exist but a save to it was killed between its two
 * renames, the path of the previous model it left (".BASE.old.PID" of a
 * process that no longer exists, holding a manifest); else NULL. When
 * several are left, the most recently modified. Caller frees. */
char *sj_lm_save_leftover(const char *dir);

/* Collective, before --resume reads the checkpoint in dir under MPI:
 * SJ_ERR_INPUT on every rank when dir exists on some ranks only, or when
 * its files differ between the ranks (every rank reads the checkpoint rank
 * 0 wrote, so they must share a file system). Nothing with one process. */
sj_status sj_lm_resume_same(const char *dir, sj_error *err);
/* The number of ranks a checkpoint's run was trained with (a data-parallel
 * run's result depends on it): `ranks` of the object (provenance or resume
 * state), 1 when absent (before MPI). SJ_ERR_INPUT naming dir when it is
 * not this job's sj_dist_size(): --resume continues with the same N. */
sj_status sj_lm_resume_ranks(const cJSON *state, const char *dir, sj_error *err);

/* A loaded model directory. */
typedef struct {
    sj_lm *model;
    sj_tokenizer *tok;
    cJSON *config; /* config.json as read */
    size_t n_extras;
    sj_lm_tensor *extras; /* extra tensors (owned; names and data) */
    sj_adamw *opt;        /* optimizer state when present and requested */
    size_t n_json;        /* extra JSON files listed in config.json "extra_files" */
    char **json_names;    /* [n_json] file names (owned) */
    cJSON **json_docs;    /* [n_json] their documents (owned) */
} sj_lm_checkpoint;

/* Loads and verifies a model directory: config.json is ours and valid,
 * sizes match the architecture, the weights' checksum matches, the
 * safetensors header is well-formed and covers the file exactly. A truncated
 * or foreign file gives SJ_ERR_INPUT naming the file. A missing directory
 * whose interrupted save left the previous model aside (see
 * sj_lm_save_leftover) is SJ_ERR_INPUT naming that folder and the command
 * that restores it. With expect non-NULL,
 * an architecture that differs is SJ_ERR_INPUT too. with_optimizer loads
 * optimizer.safetensors (an error if absent). Every extra JSON file that
 * config.json lists in "extra_files" is read, checked against its sha256
 * and parsed; a missing, changed or malformed one (or a bad listing) is
 * SJ_ERR_INPUT naming it. */
sj_lm_checkpoint *sj_lm_load(const char *dir, const sj_lm_config *expect, int with_optimizer,
                             sj_error *err);
/* An extra tensor by name, or NULL. */
const sj_lm_tensor *sj_lm_checkpoint_extra(const sj_lm_checkpoint *ck, const char *name);
/* An extra JSON file by name (e.g. "lexical.json"), or NULL when absent. */
const cJSON *sj_lm_checkpoint_json(const sj_lm_checkpoint *ck, const char *name);
void sj_lm_checkpoint_free(sj_lm_checkpoint *ck);

/* ---- the training loop of every training command ------------------------------------- */

/* Warm-up steps of a schedule over `steps` updates: floor(steps * fraction)
 * (fraction 0.1 gives steps / 10), 0 for a fraction <= 0. */
long sj_warmup_steps(long steps, double fraction);

/* The log line of one step, built by the stage's hooks. Adding never fails
 * loudly: an allocation failure sets `failed`, which the loop reports. */
typedef struct {
    sj_lm_metric *metrics;
    size_t n, cap;
    int failed;
    char progress[96]; /* text shown beside the progress bar */
    int finish;        /* set by the step: training ends after this line (an early stop) */
} sj_train_line;

void sj_train_line_add(sj_train_line *line, const char *name, double value);

/* The best state seen by the evaluations (keep-best): copies of registered
 * tensors and numbers taken whenever an evaluation's score beats every
 * earlier one. Scores compare lexicographically (score[0], then score[1]),
 * higher is better; NaN never wins; a tie keeps the earlier step. */
typedef struct {
    size_t n_tensors, n_numbers;
    float **live, **copy;
    size_t *len;
    double **live_number, *copy_number;
    long step;        /* step of the kept state; -1 while nothing is kept */
    double score[2];  /* its score */
    long evaluations; /* evaluations offered */
} sj_train_best;

void sj_train_best_init(sj_train_best *b);
/* Registers n floats (copied when a new best is found); allocates the copy. */
sj_status sj_train_best_track(sj_train_best *b, float *data, size_t n, sj_error *err);
sj_status sj_train_best_track_number(sj_train_best *b, double *slot, sj_error *err);
/* Offers the state after `step` with its score; returns 1 when it is the new
 * best (and copies it). */
int sj_train_best_offer(sj_train_best *b, long step, const double score[2]);
/* Puts the kept state back in the registered places (nothing when none). */
void sj_train_best_restore(const sj_train_best *b);
void sj_train_best_free(sj_train_best *b);

/* What a stage supplies to the loop; ctx is passed back to every hook. */
typedef struct {
    void *ctx;
    /* One update; `step` is its 0-based index. Adds the first metrics of
     * the step's log line (and may set line->progress and line->finish). */
    sj_status (*step)(void *ctx, long step, sj_train_line *line, sj_error *err);
    /* Evaluation after `done` steps (`last`: the final one); adds its
     * metrics and writes the selection score (higher is better). NULL:
     * the stage is never evaluated. */
    sj_status (*evaluate)(void *ctx, long done, int last, sj_train_line *line, double score[2],
                          sj_error *err);
    /* Saves what continuing needs after `done` steps: when stopping early,
     * and every save_every steps. NULL: nothing is saved. */
    sj_status (*checkpoint)(void *ctx, long done, sj_error *err);
    /* Text after the progress bar when the loop ends (may be NULL). */
    void (*finish_text)(void *ctx, long stopped, char *buf, size_t n);
} sj_train_hooks;

typedef struct {
    const char *label; /* progress label */
    long steps;        /* steps asked for */
    long done;         /* steps already done (a resumed run) */
    long eval_every;   /* evaluate when done % eval_every == 0 (> 0) and after the last step */
    int eval_first;    /* also evaluate after the first step */
    long save_every;   /* checkpoint every N steps (0 = only when stopping) */
    long stop_after;   /* stop (as if interrupted) after this step; 0 = never */
    const volatile sig_atomic_t *interrupted; /* optional flag, e.g. set on SIGINT */
    int quiet;
    sj_lm_log *log;      /* every step's line is appended */
    sj_train_best *best; /* optional: offered every evaluation */
} sj_train_opts;

typedef struct {
    long done;          /* steps done when the loop ended (a finishing step not counted) */
    long stopped;       /* step it stopped after with a checkpoint, 0 when it ran to the end */
    int finished_early; /* a step set line->finish */
} sj_train_result;

/* 1 when an evaluation is due after `done` of `steps` steps. */
int sj_train_eval_due(const sj_train_opts *o, long done, int last);

/* The loop: for each remaining step, the step hook, the evaluation when due
 * (offered to `best`), the log line, the progress bar; then stops with a
 * checkpoint when stop_after is reached or *interrupted is set and steps
 * remain (a signal during the last step lets the run finish). */
sj_status sj_train_run(const sj_train_opts *o, const sj_train_hooks *h, sj_train_result *res,
                       sj_error *err);

/* The exchange of a data-parallel training step (sjtalign/dist.h), after
 * every rank has run forward and backward on its share of the step's batch
 * with the loss divided by the whole batch's size: the model's gradient,
 * an optional head gradient (n_head floats) and the step's statistics
 * (n_sums doubles, at most 16: loss sums, counts) summed over the ranks in
 * ONE allreduce that also carries the ranks' interrupt flags (so the loop
 * stops every rank after the same step). Statistics travel as two floats
 * each (sj_dist_pack_double): about 48 bits of their sum. With one process
 * nothing moves and nothing changes, bit for bit. */
sj_status sj_train_exchange(sj_lm *m, float *head_grad, size_t n_head, double *sums, size_t n_sums,
                            sj_error *err);
/* Collective: fails every rank (SJ_ERR_WORK) unless every rank holds the
 * same model parameters (and head, when given): data-parallel training
 * keeps the ranks' copies identical, and a model saved by rank 0 stands
 * for all of them. Nothing is checked with one process. */
sj_status sj_train_same_weights(const sj_lm *m, const float *head, size_t n_head, sj_error *err);
/* Collective: rank 0's evaluation score on every rank (the loop calls it
 * after each evaluation, so keep-best decisions match on every rank). */
sj_status sj_train_agree_score(double score[2], sj_error *err);

/* ---- pre-training ------------------------------------------------------------------------ */

/* Options of the pre-training loop (the `pretrain` command). */
typedef struct {
    sj_lm_config model; /* vocab is the tokenizer's target size */
    long steps;         /* total optimiser steps */
    int batch;          /* sequences per step */
    double lr;
    uint64_t seed;
    double val_fraction; /* documents held out for validation (0.1) */
    long eval_every;     /* val_loss every N steps (and first and last) */
    long save_every;     /* checkpoint every N steps (0 = only at the end) */
    long stop_after;     /* stop (as if interrupted) after this step; 0 = never */
    /* optional flag (e.g. set by SIGINT): checkpoint, then stop early */
    const volatile sig_atomic_t *interrupted;
    int quiet;              /* no progress bar */
    double warmup_fraction; /* warm-up share of the steps, at most 100 steps, none under 20 (0.1) */
} sj_pretrain_opts;

sj_pretrain_opts sj_pretrain_defaults(void);

/* Trains a tokenizer and a model on n >= 2 documents (a share held out by
 * document for validation) and saves the model directory `out`
 * (checkpoints during training too). The model's vocab is the tokenizer's
 * actual size (at most opts->model.vocab). Training windows of ctx + 1
 * tokens are drawn from the documents joined as "bos doc eos ...", by a
 * random stream derived from the seed and the step number. Log line k holds
 * the training loss of step k's batch (before its update) and, when
 * evaluated, val_loss after update k. With resume, continues from the
 * checkpoint at `out` (its tokenizer, weights, optimizer state and log); an
 * uninterrupted run and an interrupted + resumed one with the same options
 * give bit-identical weights. Stopping early (stop_after or *interrupted)
 * leaves a checkpoint and sets *stopped_early (optional). `provenance`
 * (optional) is copied into config.json; final_val_loss (optional) receives
 * the last validation loss. */
sj_status sj_pretrain(const char *const *docs, const size_t *lens, size_t n,
                      const sj_pretrain_opts *opts, const char *out, int resume,
                      const cJSON *provenance, double *final_val_loss, int *stopped_early,
                      sj_error *err);

/* ---- benchmark ------------------------------------------------------------------------------ */

typedef struct {
    double tokens_per_s;
    double step_ms;
    double gflops;      /* model FLOPs per second achieved (6 N tokens + attention) */
    double peak_gflops; /* measured large square sgemm */
    double mfu;         /* gflops / (peak_gflops x ranks) */
    size_t params;
    /* Under MPI (sjtalign-mpi, mpirun -np N) each rank runs its share of
     * the batch and the ranks sum the gradient block in one allreduce per
     * step; with one process the two below are 0. */
    int ranks;
    double compute_ms;   /* a step's forward, backward and update, slowest rank's share */
    double exchange_ms;  /* a step's gradient exchange, waiting for the other ranks included */
    double allreduce_ms; /* one allreduce of the gradient block alone (median of 20) */
    size_t grad_bytes;   /* the block each step sums: params x 4 bytes */
} sj_lm_bench_result;

/* Times `steps` training steps (after one warm-up step) on random tokens;
 * under MPI, data-parallel over the ranks as the training commands run. */
sj_status sj_lm_bench(const sj_lm_config *cfg, int batch, int steps, uint64_t seed,
                      sj_lm_bench_result *res, sj_error *err);
/* Per-kernel wall-clock profile of forward, backward and optimiser calls:
 * enabling resets it; get fills up to max (name, seconds) pairs, e.g.
 * "forward.matmul", "backward.attention", "optimizer", and returns the count. */
void sj_lm_profile_enable(int on);
size_t sj_lm_profile_get(const char **names, double *seconds, size_t max);

/* FLOPs of one training step (forward + backward) on B x T tokens. */
double sj_lm_step_flops(const sj_lm_config *cfg, int B, int T);
/* FLOPs of the forward pass over one sequence of len tokens with the
 * output layer at head_positions of them (matrix products and attention). */
double sj_lm_forward_flops(const sj_lm_config *cfg, int len, int head_positions);
/* This machine's sgemm peak in GFLOP/s the way the lm computes: every
 * OpenMP thread runs its own single-threaded 1024^2 sgemm at once; best of
 * 5 rounds, summed over the threads. */
double sj_lm_sgemm_peak_gflops(void);

#endif
