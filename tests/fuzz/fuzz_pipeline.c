/* libFuzzer target: pipeline files (checked before any stage runs, settings
 * against the commands' option tables linked in beside it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/sjtalign-fuzz-pipeline-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    sj_error err;
    sj_pipeline *p = sj_pipeline_load(path, &err);
    sj_pipeline_free(p);
    unlink(path);
    return 0;
}
