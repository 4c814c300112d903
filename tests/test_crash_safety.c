/* test_crash_safety.c — SPEC section 8: files the program writes survive a kill at any moment, and
 * damage to them is detected.
 *
 *   - `sbir train` is killed with SIGKILL at random moments, many times, each run resuming the last;
 *     after every kill the model and checkpoint at their real names (never the *.tmp.* leftovers) are
 *     either absent or load, the checkpoint's step never goes backwards, and finally --resume finishes
 *     with the SAME fingerprint as an uninterrupted run;
 *   - `sbir import folders` rebuilding a collection is killed mid-build: the previous collection stays
 *     valid with its old contents; an uninterrupted run then gives the new contents;
 *   - bit flips: every flipped byte of a model's tensor data is refused with "checksum", and so is
 *     every flip in its JSON header (the CRC covers both); every flipped byte of an index file is
 *     refused by index_open. Collections: tests/test_collection_integrity.c (content checksum).
 * The kill delays come from a seeded RNG (SBIR_CRASH_SEED overrides; the seed is printed). The
 * networks and collection are tiny so the whole test takes well under a minute. */
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/collection.h"
#include "data/image.h"
#include "data/import_folders.h"
#include "data/quickdraw.h"
#include "data/synth.h"
#include "index/index_file.h"
#include "model/model.h"
#include "nn/safetensors.h"
#include "test.h"
#include "support/tiny_collection.h"
#include "util/atomic_file.h"
#include "util/common.h"

static char g_coll[4200], g_images[4300];
static unsigned long long g_rng;

static double rnd01(void) {
    g_rng = g_rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

static const char *sbir_binary(void) {
    static char p[4096];
    const char *b = getenv("BUILD");
    snprintf(p, sizeof p, "%s/sbir", b && *b ? b : "build");
    return p;
}

/* ---------------- the tiny collection ---------------- */

/* 5 classes x 7 media x 3 images and 12 sketches per class, 32 px. */
static int make_collection(void) {
    snprintf(g_images, sizeof g_images, "%s/synth/images", test_tmpdir());
    snprintf(g_coll, sizeof g_coll, "%s/coll.sqlite", test_tmpdir());
    return tiny_collection(test_tmpdir(), g_coll, 3, 12, 32, 11);
}

/* ---------------- running sbir ---------------- */

/* Starts sbir with argv (NULL-terminated, without the program name), output to /dev/null. */
static pid_t spawn(const char *const *args) {
    const char *argv[32];
    int n = 0;
    argv[n++] = "sbir";
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        execv(sbir_binary(), (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

#define EXTRA 1000

/* Temporaries a killed writer left next to path ("<path>.tmp.<pid>.<n>"): evidence that a kill landed
 * while the new file was being written, not before it started. */
static int count_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4300], prefix[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    snprintf(prefix, sizeof prefix, "%s.tmp.", slash + 1);
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d) closedir(d);
    return n;
}

/* The train command line; out is the model path, resume adds --resume. */
static void train_args(const char **a, const char *out, int resume) {
    int n = 0;
    static const char *const fixed[] = {"train", "--collection", NULL, "--out", NULL, "--size", "16", "--batch", "8",
                                        "--structure-spec", "c8,p,c16,p,g,l16", "--style-spec", "c8,p,c8,g,l8",
                                        "--structure-steps", "40", "--style-steps", "24", /* 64 steps */ "--eval-every", "8",
                                        "--seed", "5", "--quiet"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(fixed); i++) a[n++] = fixed[i];
    a[2] = g_coll, a[4] = out;
    if (resume) a[n++] = "--resume";
    a[n] = NULL;
}

static int fingerprint_of(const char *path, char out[17]) {
    sbir_model *m = model_load(path, 1, NET_BACKEND_REF, NULL);
    if (!m) return SBIR_ERR;
    snprintf(out, 17, "%s", m->fingerprint);
    model_free(m);
    return SBIR_OK;
}

/* Training step stored in a checkpoint (-1 if it does not load). */
static long checkpoint_step(const char *path) {
    safetensors *extra = NULL;
    sbir_model *m = model_load(path, 1, NET_BACKEND_REF, &extra);
    if (!m) return -1;
    const char *s = extra ? safetensors_meta(extra, "train_step") : NULL;
    long step = s ? atol(s) : 0;
    safetensors_close(extra);
    model_free(m);
    return step;
}

static void test_train_killed(void) {
    char ref[4300], out[4300], ckpt[4400], fr[17] = "", fk[17] = "";
    snprintf(ref, sizeof ref, "%s/ref.model", test_tmpdir());
    snprintf(out, sizeof out, "%s/killed.model", test_tmpdir());
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    const char *a[40];
    train_args(a, ref, 0);
    double t0 = sbir_now();
    int st = wait_status(spawn(a));
    double secs = sbir_now() - t0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uninterrupted training run failed (status %d)", st);
    CHECK(fingerprint_of(ref, fr) == SBIR_OK, "%s", sbir_last_error());
    /* start-up (loading the collection, building the networks) is a large part of such a short run */
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/startup.model", test_tmpdir());
    train_args(a, probe, 0);
    int na = 0;
    while (a[na]) na++;
    a[na] = "--stop-after", a[na + 1] = "1", a[na + 2] = NULL;
    t0 = sbir_now();
    wait_status(spawn(a));
    double startup = sbir_now() - t0;
    fprintf(stderr, "    uninterrupted run: %.2f s (start-up and one step %.2f s), fingerprint %s\n", secs, startup, fr);

    int killed = 0, finished = 0;
    long last_step = 0, max_step = 0;
    /* 12 kills; a run that ends before its kill (a loaded machine makes timings vary) restarts the
     * training from scratch, so the kills still land inside trainings */
    for (int k = 0; k < 40 && killed < 12; k++) {
        train_args(a, out, 1);
        pid_t pid = spawn(a);
        /* Every fourth kill lands in start-up; the others after it, at a random fraction of the time the
         * remaining steps take: each run resumes the last checkpoint, so kills keep landing inside the
         * training however far it got. */
        double remaining = (secs - startup) * (1.0 - (double)last_step / 64.0);
        double delay = k % 4 == 0 ? rnd01() * startup : startup + rnd01() * 0.9 * (remaining > 0 ? remaining : 0);
        sleep_s(delay);
        kill(pid, SIGKILL);
        st = wait_status(pid);
        int was_killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        killed += was_killed;
        if (!was_killed) {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a resumed run ended with status %d", st);
            finished = 1;
        }
        /* what is at the real names must load; *.tmp.* files are never looked at */
        long step = -2;
        if (file_exists(ckpt)) {
            step = checkpoint_step(ckpt);
            CHECK(step >= 0, "after kill %d at %.2f s: checkpoint does not load: %s", k + 1, delay, sbir_last_error());
            CHECK(step >= last_step, "after kill %d: checkpoint went back from step %ld to %ld", k + 1, last_step, step);
            if (step >= 0) last_step = step;
            if (step > max_step) max_step = step;
        }
        if (file_exists(out)) {
            char f[17];
            CHECK(fingerprint_of(out, f) == SBIR_OK, "after kill %d: model does not load: %s", k + 1, sbir_last_error());
        }
        if (finished && killed < 12) {
            unlink(out), unlink(ckpt);
            last_step = 0;
        }
    }
    fprintf(stderr, "    %d kills (random delays, seed above), %d while writing the model or checkpoint; "
            "checkpoints seen up to step %ld of 64%s\n", killed, count_temporaries(ckpt) + count_temporaries(out), max_step,
            finished ? "; a run finished before its kill, so training restarted" : "");
    train_args(a, out, 1);
    st = wait_status(spawn(a));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the final --resume run failed (status %d)", st);
    CHECK(fingerprint_of(out, fk) == SBIR_OK, "%s", sbir_last_error());
    CHECK(strcmp(fr, fk) == 0, "killed and resumed run differs from the uninterrupted one: %s vs %s", fk, fr);
    CHECK(killed >= 12, "only %d of the runs were actually killed", killed);
}

/* ---------------- import folders killed mid-build ---------------- */

/* Adds n more PNG images (96 x 96 noise, so each costs some decoding and CRC work) to the tree. */
static void add_images(int n, int start) {
    static const char *styles[] = {"oilpaint", "comic"};
    uint8_t px[96 * 96 * 3];
    for (int i = 0; i < n; i++) {
        char dir[4600], p[4700];
        snprintf(dir, sizeof dir, "%s/%s/cat", g_images, styles[i % 2]);
        for (size_t k = 0; k < sizeof px; k++) px[k] = (uint8_t)(rnd01() * 256);
        snprintf(p, sizeof p, "%s/extra_%05d.png", dir, start + i);
        if (image_write_png(p, px, 96, 96, 3)) CHECK(0, "%s", sbir_last_error());
    }
}

static int64_t count_images(const char *path) {
    sbir_collection *c = collection_open(path);
    if (!c) return -1;
    int64_t n = collection_count_images(c, NULL);
    collection_close(c);
    return n;
}

static void test_import_killed(void) {
    char out[4300];
    snprintf(out, sizeof out, "%s/folders.sqlite", test_tmpdir());
    const char *a[] = {"import", "folders", "--root", g_images, "--out", out, "--size-check", NULL};
    int st = wait_status(spawn(a));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "first import failed (status %d)", st);
    int64_t before = count_images(out);
    CHECK(before > 0, "first import: %s", sbir_last_error());
    unsigned char *orig; /* the previous collection, to put back when a rebuild finishes unkilled */
    size_t orig_n;
    if (read_file_all(out, 1 << 28, &orig, &orig_n) != SBIR_OK) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    add_images(EXTRA, 0);
    /* how long a full rebuild takes, into a scratch name */
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/probe.sqlite", test_tmpdir());
    const char *ap[] = {"import", "folders", "--root", g_images, "--out", probe, "--size-check", NULL};
    double t0 = sbir_now();
    st = wait_status(spawn(ap));
    double secs = sbir_now() - t0;
    int64_t after = count_images(probe);
    CHECK(after == before + EXTRA, "probe import: %lld images, expected %lld", (long long)after, (long long)before + EXTRA);
    fprintf(stderr, "    import of %lld images takes %.2f s\n", (long long)after, secs);
    int killed = 0, finished = 0;
    for (int k = 0; k < 40 && killed < 8; k++) {
        pid_t pid = spawn(a);
        sleep_s(rnd01() * secs * 0.9);
        kill(pid, SIGKILL);
        st = wait_status(pid);
        int was_killed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        killed += was_killed;
        int64_t n = count_images(out);
        if (was_killed && n != before + EXTRA) {
            CHECK(n == before, "after kill %d: the collection has %lld images (%s), expected the previous %lld", k + 1,
                  (long long)n, n < 0 ? sbir_last_error() : "", (long long)before);
        } else {
            /* not killed, or killed after the rename (then the new collection is complete: still atomic) */
            CHECK(n == before + EXTRA, "a finished run left %lld images", (long long)n);
            CHECK(write_file_atomic(out, orig, orig_n) == SBIR_OK, "%s", sbir_last_error()); /* the old one back */
            finished++;
        }
    }
    int tmps = count_temporaries(out);
    fprintf(stderr, "    %d imports killed (%d finished or got past the rename first and were undone), %d of the kills while writing the new "
            "collection (temporaries left); the previous collection stayed intact\n", killed, finished, tmps);
    CHECK(killed >= 8, "only %d imports were actually killed", killed);
    CHECK(tmps >= 1, "no kill landed while the collection was being written");
    st = wait_status(spawn(a));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "final import failed (status %d)", st);
    CHECK(count_images(out) == before + EXTRA, "final import: %lld images", (long long)count_images(out));
    free(orig);
}

/* sbir index rebuilt over an existing index and killed at random moments: the index at that path must
 * always open (CRC verified) with every image of the collection. */
static void test_index_killed(void) {
    char model[4300], idx[4300];
    snprintf(model, sizeof model, "%s/untrained.model", test_tmpdir());
    snprintf(idx, sizeof idx, "%s/killed.index", test_tmpdir());
    char *classes[] = {"bicycle", "bird", "car", "cat", "dog"};
    char *styles[] = {"3d_graphics", "comic", "graphite", "oilpaint", "pen_ink", "vectorart", "watercolor"};
    sbir_model *m = model_create(32, 5, classes, 7, styles, "c8,p,c16,p,g,l16", "c8,p,g,l8", 8, NET_BACKEND_DNNL);
    CHECK(m && model_save(m, model, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    model_free(m);
    const char *a[] = {"index", "--model", model, "--collection", g_coll, "--out", idx, NULL};
    double t0 = sbir_now();
    int st = wait_status(spawn(a));
    double secs = sbir_now() - t0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "first index failed (status %d)", st);
    sbir_index *ix = index_open(idx, 0);
    CHECK(ix != NULL, "%s", sbir_last_error());
    int64_t count = ix ? index_count(ix) : -1;
    index_close(ix);
    int killed = 0, bad = 0;
    for (int k = 0; k < 30 && killed < 8; k++) {
        pid_t pid = spawn(a);
        sleep_s(rnd01() * secs * 0.9);
        kill(pid, SIGKILL);
        st = wait_status(pid);
        killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
        ix = index_open(idx, 0);
        if (!ix || index_count(ix) != count) bad++;
        index_close(ix);
    }
    fprintf(stderr, "    index of %lld images takes %.2f s; %d runs killed, %d left an index that does not open whole\n",
            (long long)count, secs, killed, bad);
    CHECK(killed >= 4, "only %d index runs were actually killed", killed);
    CHECK(bad == 0, "%d kills left a damaged index", bad);
}

/* ---------------- bit flips ---------------- */

static void flip_copy(const unsigned char *buf, size_t n, size_t at, const char *path) {
    unsigned char *b = mallocCheck(n);
    memcpy(b, buf, n);
    b[at] ^= 0x10;
    test_write_file(path, b, n);
    free(b);
}

static void test_model_bit_flips(void) {
    char *classes[] = {"cat", "dog"}, *styles[] = {"comic", "oilpaint"};
    char path[4300], bad[4300];
    snprintf(path, sizeof path, "%s/flip.model", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/flipped.model", test_tmpdir());
    sbir_model *m = model_create(16, 2, classes, 2, styles, "c4,p,g,l8", "c4,g,l4", 1, NET_BACKEND_REF);
    CHECK(m != NULL, "%s", sbir_last_error());
    if (!m) return;
    for (size_t i = 0; i < m->structure->n_params; i++) m->structure->params[i] = 0.01f * (float)(i % 17);
    CHECK(model_save(m, path, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    char fp[17];
    snprintf(fp, sizeof fp, "%s", m->fingerprint);
    model_free(m);
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, 1 << 24, &buf, &n) != SBIR_OK) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    /* every byte of the tensor data (a stride keeps it quick: still hundreds of positions) */
    int data_flips = 0, data_caught = 0;
    for (size_t at = 8 + hlen; at < n; at += 7) {
        flip_copy(buf, n, at, bad);
        sbir_model *x = model_load(bad, 1, NET_BACKEND_REF, NULL);
        data_flips++;
        if (!x && strstr(sbir_last_error(), "checksum")) data_caught++;
        model_free(x);
    }
    CHECK(data_flips > 100 && data_caught == data_flips, "%d of %d flips in the tensor data refused with 'checksum'",
          data_caught, data_flips);
    /* the header is inside the checksum too: every flip must be refused */
    int head_flips = 0, head_refused = 0, head_silent = 0;
    for (size_t at = 0; at < 8 + hlen; at++) {
        flip_copy(buf, n, at, bad);
        sbir_model *x = model_load(bad, 1, NET_BACKEND_REF, NULL);
        head_flips++;
        if (!x) head_refused++;
        else if (strcmp(x->fingerprint, fp) != 0 || x->fusion[0] != 1 || x->fusion[1] != 1 || x->fusion[2] != 0 ||
                 strcmp(x->classes[0], "cat") || strcmp(x->classes[1], "dog") || strcmp(x->styles[0], "comic") ||
                 strcmp(x->styles[1], "oilpaint"))
            head_silent++;
        model_free(x);
    }
    fprintf(stderr,
            "    model: %d/%d data flips refused (checksum); header: %d flips, %d refused, %d loaded a DIFFERENT model "
            "silently, %d harmless (whitespace, unused keys)\n",
            data_caught, data_flips, head_flips, head_refused, head_silent, head_flips - head_refused - head_silent);
    CHECK(head_refused == head_flips, "%d of %d header flips were not refused (%d loaded a different model)",
          head_flips - head_refused, head_flips, head_silent);
    free(buf);
}

static void test_index_bit_flips(void) {
    enum { N = 6, DC = 8, DS = 4 };
    float c[N * DC], s[N * DS];
    for (int i = 0; i < N * DC; i++) c[i] = (float)((i * 37) % 11) / 11.0f;
    for (int i = 0; i < N * DS; i++) s[i] = (float)((i * 13) % 7) / 7.0f;
    sbir_index_item items[N];
    const char *paths[N] = {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"};
    for (int i = 0; i < N; i++) items[i] = (sbir_index_item){i, i % 2, i % 2};
    const char *cls[] = {"cat", "dog"}, *sty[] = {"comic", "oilpaint"};
    sbir_index_meta meta = {SBIR_ELEM_F32, 1, "0123456789abcdef", 2, cls, 2, sty};
    sbir_index_rows rows = {N, DC, DS, c, s, items, paths};
    char path[4300], bad[4300];
    snprintf(path, sizeof path, "%s/flip.idx", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/flipped.idx", test_tmpdir());
    CHECK(index_write(path, &meta, &rows) == SBIR_OK, "%s", sbir_last_error());
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, 1 << 24, &buf, &n) != SBIR_OK) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    int flips = 0, caught = 0;
    for (size_t at = 0; at < n; at++) {
        flip_copy(buf, n, at, bad);
        sbir_index *ix = index_open(bad, 0);
        flips++;
        if (!ix && strstr(sbir_last_error(), "flipped.idx")) caught++;
        else fprintf(stderr, "    index: a flip at byte %zu of %zu was not refused\n", at, n);
        index_close(ix);
    }
    CHECK(caught == flips, "index: %d of %d single-byte flips refused by index_open", caught, flips);
    fprintf(stderr, "    index: %d/%d single-byte flips refused\n", caught, flips);
    free(buf);
}

int main(void) {
    const char *seed = getenv("SBIR_CRASH_SEED");
    g_rng = seed ? strtoull(seed, NULL, 10) : (unsigned long long)time(NULL);
    fprintf(stderr, "  kill delays from seed %llu (SBIR_CRASH_SEED=%llu reproduces them)\n", g_rng, g_rng);
    if (make_collection() != SBIR_OK) {
        fprintf(stderr, "cannot build the test collection: %s\n", sbir_last_error());
        CHECK(0, "setup");
        return test_summary();
    }
    RUN(test_model_bit_flips);
    RUN(test_index_bit_flips);
    if (access(sbir_binary(), X_OK) != 0) {
        SKIP("%s not built: the kill tests need the program", sbir_binary());
        return test_summary();
    }
    RUN(test_train_killed);
    RUN(test_import_killed);
    RUN(test_index_killed);
    return test_summary();
}
