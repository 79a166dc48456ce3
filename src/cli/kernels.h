/* Choosing the build of the language model's kernels at run time. */
#ifndef SJTALIGN_CLI_KERNELS_H
#define SJTALIGN_CLI_KERNELS_H

/* When this is the portable build, the CPU has x86-64-v3's features and the
 * fast sibling (this program's path + "-x86-64-v3") is beside it, runs the
 * sibling with the same arguments. SJTALIGN_KERNELS=portable keeps the
 * portable kernels. Returns only when nothing was exec'd. */
void cli_select_kernels(char **argv);

#endif
