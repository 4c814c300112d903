/* fuzz_common.h — what every libFuzzer target shares (header only: fuzz/ is not part of the library).
 *
 * Most readers take a path, not a buffer, so a target writes each input to a scratch file in a private
 * directory (on /dev/shm when it exists: a RAM file keeps executions fast) and hands the reader that
 * path. The directory is removed at exit. Targets also quieten progress output, keep OpenMP to one
 * thread (the runs share two cores) and define FUZZ_ABORT for invariants the reader must keep: a
 * violated invariant is a finding, so it aborts and libFuzzer records the input. */
#ifndef SBIR_FUZZ_COMMON_H
#define SBIR_FUZZ_COMMON_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"

#define FUZZ_ABORT(...)                                   \
    do {                                                  \
        fprintf(stderr, "FUZZ INVARIANT %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fputc('\n', stderr);                              \
        abort();                                          \
    } while (0)

static char g_fuzz_dir[512];

/* Removes the scratch directory and what is in it (one level: targets never make subfolders deeper). */
static inline void fuzz_rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) fuzz_rm_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline void fuzz_cleanup(void) {
    if (g_fuzz_dir[0]) fuzz_rm_tree(g_fuzz_dir);
}

/* The private scratch directory, created on first use. */
static inline const char *fuzz_dir(void) {
    if (g_fuzz_dir[0]) return g_fuzz_dir;
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : getenv("TMPDIR");
    snprintf(g_fuzz_dir, sizeof g_fuzz_dir, "%s/sbir-fuzz-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(g_fuzz_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
    return g_fuzz_dir;
}

/* Writes data to <scratch>/<name> and returns the path (a static buffer per call site is not needed:
 * the caller copies it or uses it before the next call). */
static inline const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* The environment every target wants; call from LLVMFuzzerInitialize. */
static inline void fuzz_setup_env(void) {
    setenv("SBIR_QUIET", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 0);
}

#endif
