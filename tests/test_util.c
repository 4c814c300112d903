/* test_util.c — atomic files, checksums, the RNG, splits and the progress bar of a resumed job. */
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/progress.h"
#include "util/rng.h"

static void test_crc32_known_value(void) {
    /* The standard check value of CRC-32/ISO-HDLC. */
    CHECK(sbir_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 = %08x", sbir_crc32(0, "123456789", 9));
    uint32_t c = sbir_crc32(0, "1234", 4);
    CHECK(sbir_crc32(c, "56789", 5) == 0xCBF43926u, "chained crc differs");
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_atomic_write_replaces_and_aborts_cleanly(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/atomic.bin", test_tmpdir());
    CHECK(write_file_atomic(path, "first", 5) == SBIR_OK, "%s", sbir_last_error());
    sbir_afile *f = afile_open(path);
    CHECK(f != NULL, "%s", sbir_last_error());
    afile_write(f, "second-version", 14);
    CHECK(afile_size(f) == 14, "size");
    CHECK(afile_crc(f) == sbir_crc32(0, "second-version", 14), "running crc");
    afile_abort(f); /* a crash before commit: the old version must remain */
    unsigned char *buf;
    size_t n;
    CHECK(read_file_all(path, 1 << 20, &buf, &n) == SBIR_OK && n == 5 && memcmp(buf, "first", 5) == 0,
          "old content lost");
    free(buf);
    CHECK(count_entries(test_tmpdir()) == 1, "temporary file left behind");
    f = afile_open(path);
    afile_write(f, "second", 6);
    CHECK(afile_commit(f) == SBIR_OK, "%s", sbir_last_error());
    CHECK(read_file_all(path, 1 << 20, &buf, &n) == SBIR_OK && n == 6 && memcmp(buf, "second", 6) == 0,
          "new content missing");
    free(buf);
    CHECK(read_file_all(path, 3, &buf, &n) == SBIR_ERR, "size limit not enforced");
    CHECK(strstr(sbir_last_error(), "atomic.bin") != NULL, "error does not name the file: %s", sbir_last_error());
}

static void test_atomic_write_into_missing_dir_fails(void) {
    CHECK(write_file_atomic("/nonexistent-dir/x.bin", "a", 1) == SBIR_ERR, "should fail");
    CHECK(strstr(sbir_last_error(), "/nonexistent-dir/x.bin") != NULL, "%s", sbir_last_error());
}

static void test_rng_is_deterministic_and_uniform(void) {
    sbir_rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= rng_next(&a) == rng_next(&b);
    CHECK(same, "same seed gave different streams");
    double sum = 0, sum2 = 0;
    int n = 100000, buckets[10] = {0}, out_of_range = 0;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform(&a);
        if (!(u >= 0 && u < 1)) out_of_range++;
        else buckets[(int)(u * 10)]++;
        float z = rng_normal(&a);
        sum += z;
        sum2 += z * z;
    }
    CHECK(out_of_range == 0, "%d uniform draws outside [0, 1)", out_of_range);
    for (int i = 0; i < 10; i++) CHECK(buckets[i] > 9500 && buckets[i] < 10500, "bucket %d = %d", i, buckets[i]);
    CHECK(fabs(sum / n) < 0.02, "normal mean %g", sum / n);
    CHECK(fabs(sum2 / n - 1) < 0.03, "normal variance %g", sum2 / n);
}

static void test_splits_are_stable_and_proportional(void) {
    int counts[3] = {0};
    char key[64];
    int unstable = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "photo/dog/img_%05d.jpg", i);
        int s = sbir_split_of(key);
        unstable += s != sbir_split_of(key);
        counts[s]++;
    }
    CHECK(unstable == 0, "%d splits not stable", unstable);
    CHECK(abs(counts[0] - 14000) < 400, "train %d", counts[0]);
    CHECK(abs(counts[1] - 2000) < 250, "val %d", counts[1]);
    CHECK(abs(counts[2] - 4000) < 300, "test %d", counts[2]);
    CHECK(sbir_split_parse("test") == SBIR_SPLIT_TEST && sbir_split_parse("bogus") == -1, "parse");
}

/* A job resumed at 50 of 100 that then does 10 more in about 0.2 s: the bar starts at 50% (no 0%
 * line), and the rate counts the 10 steps done now (about 50/s), not the 60 done in all (300/s). */
static void test_progress_resumed(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/progress.txt", test_tmpdir());
    const char *q = getenv("SBIR_QUIET");
    char *saved_q = q ? strdupCheck(q) : NULL;
    setenv("SBIR_QUIET", "0", 1);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    CHECK(f && saved >= 0, "cannot redirect stderr");
    if (!f || saved < 0) return;
    dup2(fileno(f), 2);
    sbir_progress p;
    progress_start(&p, "job", 100);
    p.tty = 0; /* the plain-line form, whatever the test's stderr was */
    progress_resume(&p, 50);
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    progress_update(&p, 60, "status");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    if (saved_q) setenv("SBIR_QUIET", saved_q, 1);
    else unsetenv("SBIR_QUIET");
    free(saved_q);
    f = fopen(path, "r");
    char line[256] = "";
    int lines = 0, pct = -1;
    double rate = -1;
    unsigned long long done = 0, total = 0;
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        sscanf(line, "job: %d%% %llu/%llu %lf/s", &pct, &done, &total, &rate);
    }
    if (f) fclose(f);
    CHECK(lines == 1, "%d lines (a 0%% line before the resumed 60%%?)", lines);
    CHECK(pct == 60 && done == 60 && total == 100, "last line: %s", line);
    CHECK(rate > 5 && rate < 100, "rate %.1f/s: not the 10 steps done since the resume", rate);
}

int main(void) {
    RUN(test_crc32_known_value);
    RUN(test_atomic_write_replaces_and_aborts_cleanly);
    RUN(test_atomic_write_into_missing_dir_fails);
    RUN(test_rng_is_deterministic_and_uniform);
    RUN(test_splits_are_stable_and_proportional);
    RUN(test_progress_resumed);
    return test_summary();
}
