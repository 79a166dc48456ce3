/* The simulated human rater: honest but noisy, and on the biased items
 * harsher with focal-register responses. */
#include "sjtalign/sim.h"

static int clamp_score(int s)
{
    if (s < SJ_SIM_SCORE_MIN)
        return SJ_SIM_SCORE_MIN;
    if (s > SJ_SIM_SCORE_MAX)
        return SJ_SIM_SCORE_MAX;
    return s;
}

int sj_sim_rate(int true_score, int focal, double bias_size, double noise, double u_noise,
                double u_dir, double u_bias)
{
    int score = true_score;
    if (u_noise < noise)
        score = clamp_score(score + (u_dir < 0.5 ? -1 : 1));
    if (focal && u_bias < bias_size && score > SJ_SIM_SCORE_MIN)
        score--;
    return score;
}
