/* The per-pair and per-token losses of the alignment stages, each with its
 * gradient, kept free of any model so they can be checked by hand. */
#include "sjtalign/align.h"

#include <math.h>

double sja_log_sigmoid(double x)
{
    /* log σ(x) = −log(1 + e^−x); written so neither branch overflows. */
    if (x >= 0)
        return -log1p(exp(-x));
    return x - log1p(exp(x));
}

static double sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

double sja_bt_loss(double r_chosen, double r_rejected, double margin, double *d_chosen,
                   double *d_rejected)
{
    double z = r_chosen - r_rejected - margin;
    /* d/dz of −log σ(z) is −σ(−z). */
    double g = -sigmoid(-z);
    if (d_chosen)
        *d_chosen = g;
    if (d_rejected)
        *d_rejected = -g;
    return -sja_log_sigmoid(z);
}

/* A tie is read as half a win of a over b and half a win of b over a:
 * the Bradley–Terry likelihood of one observation split evenly between the
 * two outcomes. It needs no tie parameter (unlike Rao–Kupper or Davidson),
 * keeps the loss on the same scale as a win, and is smallest where the two
 * rewards are equal. */
double sja_bt_tie_loss(double r_a, double r_b, double *d_a, double *d_b)
{
    double d = r_a - r_b;
    /* d/dd of −½[log σ(d) + log σ(−d)] is −½[σ(−d) − σ(d)] = σ(d) − ½. */
    double g = sigmoid(d) - 0.5;
    if (d_a)
        *d_a = g;
    if (d_b)
        *d_b = -g;
    return -0.5 * (sja_log_sigmoid(d) + sja_log_sigmoid(-d));
}

double sja_bt_batch_loss(const double *r_first, const double *r_second, const unsigned char *tie,
                         const double *w, size_t n, double margin, double *d_first,
                         double *d_second)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double weight = w ? w[i] : 1.0, da, db;
        double loss = tie && tie[i] ? sja_bt_tie_loss(r_first[i], r_second[i], &da, &db)
                                    : sja_bt_loss(r_first[i], r_second[i], margin, &da, &db);
        total += weight * loss;
        if (d_first)
            d_first[i] = weight * da / (double)n;
        if (d_second)
            d_second[i] = weight * db / (double)n;
    }
    return n ? total / (double)n : 0.0;
}

double sja_dpo_tie_loss(double beta, double logp_a, double ref_a, double logp_b, double ref_b,
                        double *d_a, double *d_b)
{
    double z = beta * ((logp_a - ref_a) - (logp_b - ref_b));
    double g = (sigmoid(z) - 0.5) * beta;
    if (d_a)
        *d_a = g;
    if (d_b)
        *d_b = -g;
    return -0.5 * (sja_log_sigmoid(z) + sja_log_sigmoid(-z));
}

double sja_dpo_loss(double beta, double logp_chosen, double ref_chosen, double logp_rejected,
                    double ref_rejected, double *d_chosen, double *d_rejected)
{
    double z = beta * ((logp_chosen - ref_chosen) - (logp_rejected - ref_rejected));
    double g = -sigmoid(-z) * beta;
    if (d_chosen)
        *d_chosen = g;
    if (d_rejected)
        *d_rejected = -g;
    return -sja_log_sigmoid(z);
}

double sja_ppo_policy_loss(double logp, double old_logp, double advantage, double clip,
                           double *d_logp, int *clipped)
{
    double ratio = exp(logp - old_logp);
    double clipped_ratio = ratio < 1 - clip ? 1 - clip : (ratio > 1 + clip ? 1 + clip : ratio);
    double unclipped_loss = -advantage * ratio;
    double clipped_loss = -advantage * clipped_ratio;
    int use_clipped = clipped_loss > unclipped_loss;
    if (clipped)
        *clipped = use_clipped;
    /* The clipped branch is constant in logp; the other has d/dlogp −A·ρ. */
    if (d_logp)
        *d_logp = use_clipped ? 0.0 : -advantage * ratio;
    return use_clipped ? clipped_loss : unclipped_loss;
}

double sja_ppo_value_loss(double value, double old_value, double ret, double clip, double *d_value,
                          int *clipped)
{
    double lo = old_value - clip, hi = old_value + clip;
    double v_clipped = value < lo ? lo : (value > hi ? hi : value);
    double e1 = value - ret, e2 = v_clipped - ret;
    int use_clipped = e2 * e2 > e1 * e1;
    if (clipped)
        *clipped = use_clipped;
    if (d_value) {
        if (!use_clipped)
            *d_value = e1;
        else /* Within the band clip(v) = v and the gradient is the same. */
            *d_value = (value > lo && value < hi) ? e2 : 0.0;
    }
    return 0.5 * (use_clipped ? e2 * e2 : e1 * e1);
}

void sja_gae(const double *rewards, const double *values, size_t T, double gamma, double lambda,
             double *advantages, double *returns)
{
    double next_adv = 0.0, next_value = 0.0;
    for (size_t k = T; k-- > 0;) {
        double delta = rewards[k] + gamma * next_value - values[k];
        next_adv = delta + gamma * lambda * next_adv;
        advantages[k] = next_adv;
        returns[k] = next_adv + values[k];
        next_value = values[k];
    }
}

void sja_kl_rewards(const double *logp, const double *ref_logp, size_t T, double beta, double score,
                    double *rewards)
{
    for (size_t t = 0; t < T; t++)
        rewards[t] = -beta * (logp[t] - ref_logp[t]);
    if (T > 0)
        rewards[T - 1] += score;
}

void sja_whiten(double *x, size_t n, int keep_mean)
{
    if (n < 2)
        return;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    double inv_sd = 1.0 / sqrt(ss / (double)(n - 1) + 1e-8);
    for (size_t i = 0; i < n; i++)
        x[i] = (x[i] - mean) * inv_sd + (keep_mean ? mean : 0.0);
}

void sja_kl_control_update(sja_kl_control *c, double current_kl, double n_steps)
{
    if (c->target <= 0 || c->horizon <= 0)
        return;
    double e = current_kl / c->target - 1.0;
    if (e < -0.2)
        e = -0.2;
    if (e > 0.2)
        e = 0.2;
    c->value *= 1.0 + e * n_steps / c->horizon;
}
