/* Atomic writes, checksums, error values, seeded random numbers and the
 * growable buffer's sticky failure flag. */
#include "test_helpers.h"

#include <cjson/cJSON.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "sjtalign/util.h"

static void atomic_write_replaces_target(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "out.txt");
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_write_file_atomic(path, "first", 5, &err), SJ_OK);
    assert_int_equal(sj_write_file_atomic(path, "second", 6, &err), SJ_OK);
    char *data;
    size_t len;
    assert_int_equal(sj_read_file(path, &data, &len, &err), SJ_OK);
    assert_int_equal(len, 6);
    assert_string_equal(data, "second");
    assert_int_equal(test_count_entries(dir), 1);
    free(data);
    free(path);
    test_rmdir(dir);
}

static void abort_leaves_nothing(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "report.csv");
    sj_atomic_file af;
    assert_int_equal(sj_atomic_open(&af, path, NULL), SJ_OK);
    fputs("half a table", af.fp);
    assert_int_equal(test_count_entries(dir), 1); /* only the temporary */
    sj_atomic_abort(&af);
    assert_int_equal(test_count_entries(dir), 0);
    free(path);
    test_rmdir(dir);
}

static void abort_keeps_previous_version(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "model.json");
    assert_int_equal(sj_write_file_atomic(path, "old", 3, NULL), SJ_OK);
    sj_atomic_file af;
    assert_int_equal(sj_atomic_open(&af, path, NULL), SJ_OK);
    fputs("new but unfinished", af.fp);
    sj_atomic_abort(&af);
    char *data;
    assert_int_equal(sj_read_file(path, &data, NULL, NULL), SJ_OK);
    assert_string_equal(data, "old");
    assert_int_equal(test_count_entries(dir), 1);
    free(data);
    free(path);
    test_rmdir(dir);
}

static void write_into_missing_folder_fails_cleanly(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "no/such/folder/out.csv");
    sj_error err;
    sj_error_clear(&err);
    /* A missing folder is the user's to fix: exit code 2, naming it. */
    assert_int_equal(sj_write_file_atomic(path, "x", 1, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "cannot write"));
    assert_non_null(strstr(err.msg, "out.csv"));
    assert_non_null(strstr(err.msg, "no/such/folder does not exist"));
    assert_int_equal(test_count_entries(dir), 0);
    free(path);
    test_rmdir(dir);
}

static void write_into_read_only_folder_fails_cleanly(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip(); /* root writes anywhere; the full-disk test below covers the commit path */
    char *dir = test_mkdtemp();
    assert_int_equal(chmod(dir, 0555), 0);
    char *path = sj_path_join(dir, "out.csv");
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_write_file_atomic(path, "x", 1, &err), SJ_ERR_WORK);
    chmod(dir, 0755);
    assert_int_equal(test_count_entries(dir), 0);
    free(path);
    test_rmdir(dir);
}

static void full_device_fails_at_commit_without_leftovers(void **state)
{
    (void)state;
    /* /dev/full accepts open and fails every write with ENOSPC; a commit
     * that flushes to it must fail and remove its temporary. We cannot
     * create temporaries in /dev, so emulate by writing more than the
     * buffer to a stream whose fd we point at /dev/full. */
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "big.bin");
    sj_atomic_file af;
    assert_int_equal(sj_atomic_open(&af, path, NULL), SJ_OK);
    FILE *full = fopen("/dev/full", "wb");
    if (!full) {
        sj_atomic_abort(&af);
        free(path);
        test_rmdir(dir);
        skip();
    }
    assert_true(dup2(fileno(full), fileno(af.fp)) >= 0);
    fclose(full);
    fputs("data that cannot be stored", af.fp);
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_atomic_commit(&af, &err), SJ_ERR_WORK);
    assert_non_null(strstr(err.msg, "big.bin"));
    assert_int_equal(test_count_entries(dir), 0);
    free(path);
    test_rmdir(dir);
}

static void sha256_matches_published_vectors(void **state)
{
    (void)state;
    char hex[65];
    /* FIPS 180-2 appendix B test vectors. */
    sj_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sj_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void error_messages_name_position(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_error_at(&err, SJ_ERR_INPUT, "data.csv", 3, 2, "bad %s", "cell"),
                     SJ_ERR_INPUT);
    assert_string_equal(err.msg, "data.csv:3:2: bad cell");
    sj_error_at(&err, SJ_ERR_INPUT, "data.csv", 7, 0, "ragged");
    assert_string_equal(err.msg, "data.csv:7: ragged");
    sj_error_prefix(&err, "reading %s: ", "responses");
    assert_string_equal(err.msg, "reading responses: data.csv:7: ragged");
    assert_int_equal(err.status, SJ_ERR_INPUT);
}

static void same_seed_same_stream(void **state)
{
    (void)state;
    gsl_rng *a = sj_rng_new(42), *b = sj_rng_new(42), *c = sj_rng_new(43);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b), z = gsl_rng_get(c);
        assert_int_equal(x, y);
        differs |= x != z;
    }
    assert_true(differs);
    /* MT19937 seeded with 4357 (GSL's documented default) starts 4293858116. */
    gsl_rng *d = sj_rng_new(4357);
    assert_int_equal(gsl_rng_get(d), 4293858116UL);
    assert_int_not_equal(sj_seed_derive(1, "sft"), sj_seed_derive(1, "ppo"));
    assert_int_equal(sj_seed_derive(1, "sft"), sj_seed_derive(1, "sft"));
    sj_rng_free(a);
    sj_rng_free(b);
    sj_rng_free(c);
    sj_rng_free(d);
}

static void mkdir_p_creates_parents(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *deep = sj_path_join(dir, "a/b/c");
    assert_int_equal(sj_mkdir_p(deep, NULL), SJ_OK);
    assert_int_equal(sj_mkdir_p(deep, NULL), SJ_OK);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(deep);
    test_rmdir(dir);
}

/* ---- output folders -------------------------------------------------------- */

#define SHA_ONE "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
#define SHA_TWO "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3"

static char *read_text(const char *dir, const char *name)
{
    char *path = sj_path_join(dir, name);
    char *data = NULL;
    sj_error err;
    assert_int_equal(sj_read_file(path, &data, NULL, &err), SJ_OK);
    free(path);
    return data;
}

static void expect_text(const char *dir, const char *name, const char *want)
{
    char *got = read_text(dir, name);
    assert_string_equal(got, want);
    free(got);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char *path = sj_path_join(dir, name);
    test_write_text(path, text, strlen(text));
    free(path);
}

/* Builds `dir` as an output folder holding name = text. */
static void write_outdir(const char *dir, const char *name, const char *text)
{
    sj_outdir d;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_open(&d, dir, "test", &err), SJ_OK);
    char *path = sj_outdir_file(&d, name);
    test_write_text(path, text, strlen(text));
    free(path);
    assert_int_equal(sj_outdir_commit(&d, "test", &err), SJ_OK);
}

/* The id of a process that has ended (a save "killed" long ago). */
static long dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return (long)pid;
}

static void outdir_replaces_its_own_folder(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "report");
    write_outdir(out, "a.txt", "one");
    assert_int_equal(test_count_entries(out), 2);
    char *text = read_text(out, SJ_MANIFEST_NAME);
    cJSON *m = cJSON_Parse(text);
    assert_string_equal(cJSON_GetObjectItem(m, "format")->valuestring, "sjtalign-output-manifest");
    assert_int_equal(cJSON_GetObjectItem(m, "format_version")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(m, "command")->valuestring, "test");
    cJSON *files = cJSON_GetObjectItem(m, "files");
    assert_int_equal(cJSON_GetArraySize(files), 1);
    cJSON *f = cJSON_GetArrayItem(files, 0);
    assert_string_equal(cJSON_GetObjectItem(f, "name")->valuestring, "a.txt");
    assert_int_equal(cJSON_GetObjectItem(f, "bytes")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(f, "sha256")->valuestring, SHA_ONE);
    cJSON_Delete(m);
    free(text);
    /* Replaced whole: the earlier file goes, nothing is left beside it. */
    sj_error err;
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_OK);
    write_outdir(out, "b.txt", "two");
    assert_int_equal(test_count_entries(out), 2);
    expect_text(out, "b.txt", "two");
    text = read_text(out, SJ_MANIFEST_NAME);
    assert_non_null(strstr(text, SHA_TWO));
    assert_null(strstr(text, "a.txt"));
    free(text);
    assert_int_equal(test_count_entries(root), 1);
    /* An empty folder may be replaced too. */
    char *empty = sj_path_join(root, "empty");
    assert_int_equal(mkdir(empty, 0755), 0);
    write_outdir(empty, "a.txt", "one");
    expect_text(empty, "a.txt", "one");
    assert_int_equal(test_count_entries(root), 2);
    free(empty);
    free(out);
    test_rmdir(root);
}

/* The folder holds a.txt (ours, "one"), its manifest and whatever the test
 * adds; refusing must leave all of it as it was. */
static void expect_refused_unchanged(const char *root, const char *out, int entries,
                                     const char *message)
{
    char *before = read_text(out, SJ_MANIFEST_NAME);
    sj_outdir d;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, message));
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_open(&d, out, "test", &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, message));
    assert_null(d.tmp_dir);
    assert_int_equal(test_count_entries(out), entries);
    assert_int_equal(test_count_entries(root), 1); /* no temporary beside it */
    char *after = read_text(out, SJ_MANIFEST_NAME);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void outdir_refuses_a_foreign_file(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "f");
    write_outdir(out, "a.txt", "one");
    put_text(out, "thesis.docx", "my thesis");
    char *want = sj_asprintf("%s/thesis.docx was not written by sjtalign", out);
    expect_refused_unchanged(root, out, 3, want);
    expect_text(out, "a.txt", "one");
    expect_text(out, "thesis.docx", "my thesis");
    free(want);
    /* A foreign file that appears while the new folder is built is caught
     * at the commit: nothing replaced, no temporary left. */
    char *path = sj_path_join(out, "thesis.docx");
    assert_int_equal(unlink(path), 0);
    sj_outdir d;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_open(&d, out, "test", &err), SJ_OK);
    char *inner = sj_outdir_file(&d, "a.txt");
    test_write_text(inner, "two", 3);
    put_text(out, "late.txt", "mine too");
    assert_int_equal(sj_outdir_commit(&d, "test", &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "late.txt was not written by sjtalign"));
    expect_text(out, "a.txt", "one");
    expect_text(out, "late.txt", "mine too");
    assert_int_equal(test_count_entries(root), 1);
    /* A sub-folder is not ours either. */
    char *late = sj_path_join(out, "late.txt");
    assert_int_equal(unlink(late), 0);
    char *sub = sj_path_join(out, "data");
    assert_int_equal(mkdir(sub, 0755), 0);
    want = sj_asprintf("%s/data was not written by sjtalign", out);
    expect_refused_unchanged(root, out, 3, want);
    free(want);
    free(sub);
    free(late);
    free(inner);
    free(path);
    free(out);
    test_rmdir(root);
}

static void outdir_is_replaced_only_by_its_command(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "model");
    write_outdir(out, "a.txt", "one");
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_OK);
    assert_int_equal(sj_outdir_check_replaceable_by(out, "test", &err), SJ_OK);
    assert_int_equal(sj_outdir_check_replaceable_by(out, "audit", &err), SJ_ERR_INPUT);
    char *want = sj_asprintf("%s was written by `sjtalign test`; `sjtalign audit` replaces only "
                             "a folder it wrote itself",
                             out);
    assert_non_null(strstr(err.msg, want));
    /* known only at the commit, as for a report: refused there */
    sj_outdir d;
    assert_int_equal(sj_outdir_open(&d, out, NULL, &err), SJ_OK);
    char *path = sj_outdir_file(&d, "index.html");
    test_write_text(path, "<p>", 3);
    assert_int_equal(sj_outdir_commit(&d, "audit", &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, want));
    expect_text(out, "a.txt", "one");
    assert_int_equal(test_count_entries(out), 2);
    assert_int_equal(test_count_entries(root), 1);
    free(path);
    free(want);
    free(out);
    test_rmdir(root);
}

static void outdir_refuses_a_changed_file(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "f");
    write_outdir(out, "a.txt", "one");
    put_text(out, "a.txt", "won"); /* same size, other content */
    char *want = sj_asprintf("%s/a.txt was changed after sjtalign wrote it", out);
    expect_refused_unchanged(root, out, 2, want);
    expect_text(out, "a.txt", "won");
    /* A listed file that is gone loses nothing: the folder may be replaced. */
    char *path = sj_path_join(out, "a.txt");
    assert_int_equal(unlink(path), 0);
    sj_error err;
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_OK);
    free(path);
    free(want);
    free(out);
    test_rmdir(root);
}

static void outdir_refuses_a_folder_without_manifest(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "f");
    assert_int_equal(mkdir(out, 0755), 0);
    put_text(out, "audit.json", "{}");
    put_text(out, "thesis.docx", "my thesis");
    sj_outdir d;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_open(&d, out, "test", &err), SJ_ERR_INPUT);
    char *want = sj_asprintf("%s/audit.json (and 1 more) was not written by sjtalign (the folder "
                             "has no .sjtalign-manifest.json)",
                             out);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(test_count_entries(out), 2);
    assert_int_equal(test_count_entries(root), 1);
    expect_text(out, "audit.json", "{}");
    expect_text(out, "thesis.docx", "my thesis");
    /* A manifest that is damaged (a name outside the folder) proves nothing. */
    char *thesis = sj_path_join(out, "thesis.docx");
    assert_int_equal(unlink(thesis), 0);
    put_text(
        out, SJ_MANIFEST_NAME,
        "{\"format\": \"sjtalign-output-manifest\", \"format_version\": 1, \"command\": "
        "\"audit\", \"files\": [{\"name\": \"../audit.json\", \"bytes\": 2, \"sha256\": \"" SHA_ONE
        "\"}]}");
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is damaged or not an sjtalign manifest"));
    /* ... nor does one that gives a key twice */
    put_text(out, SJ_MANIFEST_NAME,
             "{\"format\": \"sjtalign-output-manifest\", \"format_version\": 1, \"command\": "
             "\"audit\", \"files\": [], \"files\": []}");
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_check_replaceable(out, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is damaged or not an sjtalign manifest"));
    expect_text(out, "audit.json", "{}");
    free(thesis);
    free(want);
    free(out);
    test_rmdir(root);
}

static void outdir_refuses_links_fifos_and_files(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *real = sj_path_join(root, "real");
    write_outdir(real, "a.txt", "one");
    char *link = sj_path_join(root, "link");
    assert_int_equal(symlink(real, link), 0);
    sj_outdir d;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_outdir_open(&d, link, "test", &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is a symbolic link"));
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    expect_text(real, "a.txt", "one");
    char *fifo = sj_path_join(root, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(sj_outdir_check_replaceable(fifo, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is a FIFO (named pipe)"));
    char *file = sj_path_join(root, "file");
    put_text(root, "file", "x");
    assert_int_equal(sj_outdir_check_replaceable(file, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is a file"));
    assert_int_equal(sj_outdir_open(&d, ".", "test", &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "needs a name of its own"));
    assert_int_equal(test_count_entries(root), 4);
    free(file);
    free(fifo);
    free(link);
    free(real);
    test_rmdir(root);
}

static void outdir_cleans_up_after_a_crash(void **state)
{
    (void)state;
    char *root = test_mkdtemp();
    char *out = sj_path_join(root, "model");
    write_outdir(out, "a.txt", "one");
    /* Killed between the two renames: only the previous folder, aside. */
    long dead = dead_pid();
    char *old = sj_asprintf("%s/.model.old.%ld", root, dead);
    assert_int_equal(rename(out, old), 0);
    char *left = sj_outdir_leftover(out);
    assert_non_null(left);
    assert_string_equal(left, old);
    free(left);
    /* A temporary of a dead save, one of a live process, and a previous
     * folder moved aside by another dead save that holds a user's file. */
    char *tmp = sj_asprintf("%s/.model.tmp.%ld", root, dead);
    assert_int_equal(mkdir(tmp, 0755), 0);
    put_text(tmp, "a.txt", "half");
    char *live = sj_asprintf("%s/.model.tmp.%ld", root, (long)getppid());
    assert_int_equal(mkdir(live, 0755), 0);
    long dead2 = dead_pid();
    char *old2 = sj_asprintf("%s/.model.old.%ld", root, dead2);
    write_outdir(old2, "a.txt", "one");
    put_text(old2, "notes.txt", "mine");
    assert_int_equal(test_count_entries(root), 4);
    /* A new folder in place removes the dead saves' leftovers, and of the
     * previous folders only the files their manifests list. */
    write_outdir(out, "b.txt", "two");
    expect_text(out, "b.txt", "two");
    assert_null(sj_outdir_leftover(out));
    struct stat st;
    assert_int_not_equal(lstat(old, &st), 0);
    assert_int_not_equal(lstat(tmp, &st), 0);
    assert_int_equal(lstat(live, &st), 0);
    assert_int_equal(test_count_entries(old2), 1);
    expect_text(old2, "notes.txt", "mine");
    assert_int_equal(test_count_entries(root), 3);
    free(old2);
    free(live);
    free(tmp);
    free(old);
    free(out);
    test_rmdir(root);
}

/* A failed append leaves the text as it was and turns every later append
 * into a no-op, so a writer can check the flag once at the end. The failure
 * is forced with a size that could never be allocated (SIZE_MAX / 2 bytes:
 * the buffer refuses it before calling realloc, whose doubling would
 * overflow). */
static void buf_failure_is_sticky(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_false(sj_buf_failed(&b));
    assert_int_equal(sj_buf_append(&b, "ab", 2), 0);
    assert_int_equal(sj_buf_append(&b, "x", SIZE_MAX / 2), -1);
    assert_true(sj_buf_failed(&b));
    assert_int_equal(sj_buf_append(&b, "cd", 2), -1);
    assert_int_equal(sj_buf_printf(&b, "%d", 42), -1);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    assert_true(sj_buf_failed(&b));
    /* Freeing returns the buffer to its first state. */
    sj_buf_free(&b);
    assert_false(sj_buf_failed(&b));
    assert_int_equal(sj_buf_printf(&b, "%s-%d", "ok", 7), 0);
    assert_string_equal(b.data, "ok-7");
    sj_buf_free(&b);
}

/* A length whose sum with the text already held would wrap around is
 * refused too, not allocated as a small block. */
static void buf_refuses_wrapping_length(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_int_equal(sj_buf_append(&b, "abc", 3), 0);
    assert_int_equal(sj_buf_append(&b, "x", SIZE_MAX - 2), -1);
    assert_true(sj_buf_failed(&b));
    assert_string_equal(b.data, "abc");
    sj_buf_free(&b);
}

/* sj_buf_fail marks a buffer failed for a writer's own failure; appends
 * then do nothing. Growth past the first 256-byte block keeps the text. */
static void buf_fail_by_hand_and_growth(void **state)
{
    (void)state;
    sj_buf b = {0};
    for (int i = 0; i < 100; i++)
        assert_int_equal(sj_buf_printf(&b, "%02d,", i), 0);
    assert_int_equal(b.len, 300); /* 100 entries of 3 bytes */
    assert_memory_equal(b.data, "00,01,02,", 9);
    assert_string_equal(b.data + 297, "99,");
    sj_buf_fail(&b);
    assert_int_equal(sj_buf_append(&b, "z", 1), -1);
    assert_int_equal(b.len, 300);
    sj_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atomic_write_replaces_target),
        cmocka_unit_test(buf_failure_is_sticky),
        cmocka_unit_test(buf_refuses_wrapping_length),
        cmocka_unit_test(buf_fail_by_hand_and_growth),
        cmocka_unit_test(abort_leaves_nothing),
        cmocka_unit_test(abort_keeps_previous_version),
        cmocka_unit_test(write_into_missing_folder_fails_cleanly),
        cmocka_unit_test(write_into_read_only_folder_fails_cleanly),
        cmocka_unit_test(full_device_fails_at_commit_without_leftovers),
        cmocka_unit_test(sha256_matches_published_vectors),
        cmocka_unit_test(error_messages_name_position),
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(mkdir_p_creates_parents),
        cmocka_unit_test(outdir_replaces_its_own_folder),
        cmocka_unit_test(outdir_refuses_a_foreign_file),
        cmocka_unit_test(outdir_is_replaced_only_by_its_command),
        cmocka_unit_test(outdir_refuses_a_changed_file),
        cmocka_unit_test(outdir_refuses_a_folder_without_manifest),
        cmocka_unit_test(outdir_refuses_links_fifos_and_files),
        cmocka_unit_test(outdir_cleans_up_after_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
