/* AdamW with decoupled weight decay, a warm-up + cosine learning-rate
 * schedule and global-norm gradient clipping. */
#include <math.h>
#include <stdlib.h>

#include "lm_internal.h"

sj_adamw_config sj_adamw_defaults(void)
{
    sj_adamw_config c = {.lr = 3e-3,
                         .beta1 = 0.9,
                         .beta2 = 0.95,
                         .eps = 1e-8,
                         .weight_decay = 0.1,
                         .grad_clip = 1.0,
                         .warmup = 0,
                         .total_steps = 0,
                         .min_lr_frac = 0.1};
    return c;
}

sj_adamw *sj_adamw_new(size_t n, const sj_adamw_config *cfg)
{
    sj_adamw *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->cfg = *cfg;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        sj_adamw_free(o);
        return NULL;
    }
    return o;
}

void sj_adamw_free(sj_adamw *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

double sj_lr_at(const sj_adamw_config *c, long step)
{
    if (c->warmup > 0 && step < c->warmup)
        return c->lr * (double)(step + 1) / (double)c->warmup;
    if (c->total_steps <= c->warmup)
        return c->lr;
    if (step >= c->total_steps)
        return c->lr * c->min_lr_frac;
    double progress = (double)(step - c->warmup) / (double)(c->total_steps - c->warmup);
    double cosine = 0.5 * (1.0 + cos(M_PI * progress));
    return c->lr * (c->min_lr_frac + (1.0 - c->min_lr_frac) * cosine);
}

void sj_adamw_update(sj_adamw *o, float *params, const float *grads, const uint8_t *decay,
                     double lr)
{
    o->step++;
    const float b1 = (float)o->cfg.beta1, b2 = (float)o->cfg.beta2;
    const float c1 = (float)(1.0 / (1.0 - pow(o->cfg.beta1, (double)o->step)));
    const float c2 = (float)(1.0 / (1.0 - pow(o->cfg.beta2, (double)o->step)));
    const float flr = (float)lr, eps = (float)o->cfg.eps, wd = (float)o->cfg.weight_decay;
    long n = (long)o->n;
#pragma omp parallel for simd schedule(static) if (10.0 * n > LM_PAR_MIN)
    for (long i = 0; i < n; i++) {
        float g = grads[i];
        float m = b1 * o->m[i] + (1.0f - b1) * g;
        float v = b2 * o->v[i] + (1.0f - b2) * g * g;
        o->m[i] = m;
        o->v[i] = v;
        float update = (m * c1) / (sqrtf(v * c2) + eps);
        if (decay && decay[i])
            update += wd * params[i];
        params[i] -= flr * update;
    }
}

double sj_grad_sq_norm(const float *g, size_t n)
{
    /* Blocks summed in a fixed order keep the result independent of the
     * thread schedule. */
    enum { BLOCK = 4096 };
    long n_blocks = (long)((n + BLOCK - 1) / BLOCK);
    double *part = calloc((size_t)(n_blocks ? n_blocks : 1), sizeof(double));
    if (!part) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += (double)g[i] * g[i];
        return s;
    }
#pragma omp parallel for schedule(static) if ((double)n > LM_PAR_MIN)
    for (long b = 0; b < n_blocks; b++) {
        size_t i0 = (size_t)b * BLOCK, i1 = i0 + BLOCK < n ? i0 + BLOCK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++)
            s += (double)g[i] * g[i];
        part[b] = s;
    }
    double s = 0.0;
    for (long b = 0; b < n_blocks; b++)
        s += part[b];
    free(part);
    return s;
}

void sj_grad_scale(float *g, size_t n, float factor)
{
    long ln = (long)n;
#pragma omp parallel for schedule(static) if ((double)ln > LM_PAR_MIN)
    for (long i = 0; i < ln; i++)
        g[i] *= factor;
}

double sj_lm_clip_grad(sj_lm *m, double max_norm)
{
    double norm = sqrt(sj_grad_sq_norm(m->grads, m->n_params));
    if (max_norm > 0.0 && norm > max_norm)
        sj_grad_scale(m->grads, m->n_params, (float)(max_norm / (norm + 1e-6)));
    return norm;
}

double sj_lm_adamw_step(sj_adamw *o, sj_lm *m)
{
    double lr = sj_lr_at(&o->cfg, o->step);
    sj_lm_clip_grad(m, o->cfg.grad_clip);
    sj_adamw_update(o, m->params, m->grads, m->decay, lr);
    return lr;
}
