/* Path helpers: parent folder, last component, and resolution of links and
 * ".." so that an output can be compared with every input. */
#include "sjtalign/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *sj_path_parent(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t slash = n;
    while (slash > 0 && path[slash - 1] != '/')
        slash--;
    if (slash == 0)
        return sj_strdup(".");
    size_t end = slash - 1; /* the slash before the last component */
    while (end > 0 && path[end - 1] == '/')
        end--;
    return end == 0 ? sj_strdup("/") : sj_strndup(path, end);
}

const char *sj_path_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static char *absolute_of(const char *path)
{
    if (path[0] == '/')
        return sj_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    return sj_path_join(cwd, path);
}

/* Appends one component to a resolved absolute path, handling "." and "..". */
static void append_component(char *out, size_t *len, const char *part, size_t part_len)
{
    if (part_len == 1 && part[0] == '.')
        return;
    if (part_len == 2 && part[0] == '.' && part[1] == '.') {
        while (*len > 1 && out[*len - 1] != '/')
            (*len)--;
        if (*len > 1)
            (*len)--;
        out[*len] = '\0';
        return;
    }
    if (*len > 1)
        out[(*len)++] = '/';
    memcpy(out + *len, part, part_len);
    *len += part_len;
    out[*len] = '\0';
}

char *sj_path_resolve(const char *path)
{
    char *abs = absolute_of(path);
    if (!abs)
        return NULL;
    /* Find the longest prefix that exists; realpath() resolves its links. */
    size_t cut = strlen(abs);
    char resolved[PATH_MAX];
    for (;;) {
        char saved = abs[cut];
        abs[cut] = '\0';
        const char *prefix = cut == 0 ? "/" : abs;
        char *ok = realpath(prefix, resolved);
        abs[cut] = saved;
        if (ok)
            break;
        if (cut == 0) {
            free(abs);
            return NULL;
        }
        while (cut > 0 && abs[cut - 1] != '/')
            cut--;
        while (cut > 0 && abs[cut - 1] == '/')
            cut--;
    }
    size_t rest_len = strlen(abs + cut);
    size_t cap = strlen(resolved) + rest_len + 2;
    char *out = malloc(cap);
    if (!out) {
        free(abs);
        return NULL;
    }
    strcpy(out, resolved);
    size_t len = strlen(out);
    for (const char *p = abs + cut; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t part_len = end ? (size_t)(end - p) : strlen(p);
        if (part_len)
            append_component(out, &len, p, part_len);
        p += part_len;
    }
    free(abs);
    return out;
}

int sj_path_same(const char *a, const char *b)
{
    char *ra = sj_path_resolve(a);
    char *rb = sj_path_resolve(b);
    int same = ra && rb && strcmp(ra, rb) == 0;
    free(ra);
    free(rb);
    return same;
}

int sj_path_inside(const char *path, const char *dir)
{
    char *rp = sj_path_resolve(path);
    char *rd = sj_path_resolve(dir);
    int inside = 0;
    if (rp && rd) {
        size_t n = strlen(rd);
        inside =
            strncmp(rp, rd, n) == 0 && (rp[n] == '\0' || rp[n] == '/' || (n == 1 && rd[0] == '/'));
    }
    free(rp);
    free(rd);
    return inside;
}
