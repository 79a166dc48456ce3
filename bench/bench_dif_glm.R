# Baseline for bench/bench_dif.sh: the per-item logistic-regression DIF loop
# in R's glm (three nested models per item: y ~ s, y ~ s + g, y ~ s * g) on
# the data set bench_dif wrote. Prints the seconds of the loop alone.
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
g <- as.integer(d$group == "F")
resp <- as.matrix(d[, -1])
s <- rowSums(resp)
elapsed <- system.time({
  for (j in seq_len(ncol(resp))) {
    y <- resp[, j]
    m0 <- glm(y ~ s, family = binomial)
    m1 <- glm(y ~ s + g, family = binomial)
    m2 <- glm(y ~ s + g + s:g, family = binomial)
    lr <- c(deviance(m0) - deviance(m1), deviance(m1) - deviance(m2))
  }
})[["elapsed"]]
cat(sprintf("%.4f\n", elapsed))
