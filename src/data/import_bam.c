/* import_bam.c — see import_bam.h. One pass over modules LEFT JOINed with the chosen label source,
 * ordered by mid, so memory stays flat on BAM's 2.5M rows. */
#include "data/import_bam.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/collection.h"
#include "data/image.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/progress.h"

const char *const import_bam_default_media[7] = {"3d_graphics", "comic",     "graphite",  "oilpaint",
                                                 "pen_ink",     "vectorart", "watercolor"};
const char *const import_bam_default_contents[5] = {"bicycle", "bird", "cars", "cat", "dog"};

static const char *const k_all_media[7] = {"3d_graphics", "comic", "graphite", "oilpaint", "pen_ink", "vectorart",
                                           "watercolor"};
static const char *const k_all_contents[9] = {"bicycle", "bird",   "building", "cars", "cat",
                                              "dog",     "flower", "people",   "tree"};

const char *import_bam_class_name(const char *content) {
    if (strcmp(content, "cars") == 0) return "car";
    return content;
}

static const char *strip_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : s;
}

/* Validates and normalises the chosen attribute names (prefix removed). */
static int pick_names(const char *const *given, int n, const char *const *defaults, int n_def,
                      const char *const *known, int n_known, const char *prefix, const char *kind,
                      const char *out[IMPORT_BAM_MAX_ATTRS], int *n_out) {
    if (!given || n <= 0) {
        given = defaults;
        n = n_def;
    }
    if (n > IMPORT_BAM_MAX_ATTRS) return sbir_error("too many %s names (%d)", kind, n);
    for (int i = 0; i < n; i++) {
        const char *name = strip_prefix(given[i], prefix);
        int ok = 0;
        for (int k = 0; k < n_known; k++) ok |= strcmp(name, known[k]) == 0;
        if (!ok) {
            char list[256] = "";
            for (int k = 0; k < n_known; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? "," : "", known[k]);
            return sbir_error("unknown BAM! %s '%s' (known: %s)", kind, given[i], list);
        }
        for (int k = 0; k < i; k++)
            if (strcmp(out[k], name) == 0) return sbir_error("%s '%s' given twice", kind, name);
        out[i] = name;
    }
    *n_out = n;
    return SBIR_OK;
}

/* 1 if table has column col (exact name), 0 if not, and *table_exists says whether it exists. */
static int has_column(sqlite3 *db, const char *table, const char *col, int *table_exists) {
    char sql[160];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
    sqlite3_stmt *st;
    int found = 0, rows = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (name && strcmp(name, col) == 0) found = 1;
    }
    sqlite3_finalize(st);
    if (table_exists) *table_exists = rows > 0;
    return found;
}

static int require_columns(sqlite3 *db, const char *path, const char *table, const char *const *cols, int n) {
    int exists = 0;
    has_column(db, table, "mid", &exists);
    if (!exists) return sbir_error("%s: not a BAM! database: table '%s' is missing", path, table);
    for (int i = 0; i < n; i++)
        if (!has_column(db, table, cols[i], NULL))
            return sbir_error("%s: not a BAM! database: table '%s' has no column '%s'", path, table, cols[i]);
    return SBIR_OK;
}

typedef struct {
    const char *media[IMPORT_BAM_MAX_ATTRS], *contents[IMPORT_BAM_MAX_ATTRS];
    int n_media, n_contents;
    char cols[2 * IMPORT_BAM_MAX_ATTRS][64]; /* column names for automatic/scores: media first */
} attrs;

/* The SELECT that yields one row per module: mid, then labels (see decide()). */
static int build_query(sqlite3 *db, const import_bam_opts *o, attrs *a, char *sql, size_t cap) {
    const char *need[2 * IMPORT_BAM_MAX_ATTRS];
    int n = a->n_media + a->n_contents;
    for (int i = 0; i < n; i++) {
        int is_media = i < a->n_media;
        snprintf(a->cols[i], sizeof a->cols[i], "%s%s", is_media ? "media_" : "content_",
                 is_media ? a->media[i] : a->contents[i - a->n_media]);
        need[i] = a->cols[i];
    }
    const char *mod_cols[] = {"mid"};
    if (require_columns(db, o->db, "modules", mod_cols, 1)) return SBIR_ERR;
    if (o->labels == IMPORT_BAM_CROWD) {
        const char *cc[] = {"mid", "attribute", "label"};
        if (require_columns(db, o->db, "crowd_labels", cc, 3)) return SBIR_ERR;
        snprintf(sql, cap,
                 "SELECT m.mid, group_concat(c.attribute, char(1)) FROM modules m LEFT JOIN crowd_labels c"
                 " ON c.mid = m.mid AND lower(c.label) = 'positive' GROUP BY m.mid ORDER BY m.mid");
        return SBIR_OK;
    }
    const char *table = o->labels == IMPORT_BAM_SCORES ? "scores" : "automatic_labels";
    if (require_columns(db, o->db, table, need, n)) return SBIR_ERR;
    snprintf(sql, cap, "SELECT m.mid");
    for (int i = 0; i < n; i++) snprintf(sql + strlen(sql), cap - strlen(sql), ", t.\"%s\"", a->cols[i]);
    snprintf(sql + strlen(sql), cap - strlen(sql), " FROM modules m LEFT JOIN \"%s\" t ON t.mid = m.mid ORDER BY m.mid",
             table);
    return SBIR_OK;
}

static int positive_text(const unsigned char *v) {
    return v && (strcasecmp((const char *)v, "positive") == 0 || strcmp((const char *)v, "1") == 0);
}

/* From a result row: index of the medium and content, or the report bucket it falls in.
 * Returns 0 when usable. */
static int64_t *decide(sqlite3_stmt *st, const import_bam_opts *o, const attrs *a, import_bam_report *r, int *mi,
                       int *ci) {
    int n_pos[2] = {0, 0}, best[2] = {-1, -1};
    double best_score[2] = {0, 0};
    if (o->labels == IMPORT_BAM_CROWD) {
        const char *list = (const char *)sqlite3_column_text(st, 1);
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", list ? list : "");
        char *save = NULL;
        for (char *tok = strtok_r(buf, "\x01", &save); tok; tok = strtok_r(NULL, "\x01", &save)) {
            const char *m = strip_prefix(tok, "media_"), *c = strip_prefix(tok, "content_");
            for (int i = 0; i < a->n_media; i++)
                if (strcmp(m, a->media[i]) == 0) n_pos[0]++, best[0] = i;
            for (int i = 0; i < a->n_contents; i++)
                if (strcmp(c, a->contents[i]) == 0) n_pos[1]++, best[1] = i;
        }
    } else {
        for (int i = 0; i < a->n_media + a->n_contents; i++) {
            int g = i < a->n_media ? 0 : 1, idx = g ? i - a->n_media : i;
            int pos;
            double s = 0;
            if (o->labels == IMPORT_BAM_SCORES) {
                pos = sqlite3_column_type(st, i + 1) != SQLITE_NULL && (s = sqlite3_column_double(st, i + 1)) >= o->threshold;
            } else {
                pos = positive_text(sqlite3_column_text(st, i + 1));
            }
            if (!pos) continue;
            n_pos[g]++;
            if (best[g] < 0 || s > best_score[g]) best[g] = idx, best_score[g] = s;
        }
    }
    int scores = o->labels == IMPORT_BAM_SCORES;
    if (n_pos[0] == 0) return &r->no_medium;
    if (n_pos[0] > 1 && !scores) return &r->ambiguous;
    if (n_pos[1] == 0) return &r->no_content;
    if (n_pos[1] > 1 && !scores) return &r->ambiguous;
    *mi = best[0];
    *ci = best[1];
    return NULL;
}

/* <images>/<mid>.<ext> for the first extension that exists, or 0. */
static int find_image(const char *dir, long long mid, char *out, size_t cap) {
    static const char *exts[] = {"jpg", "jpeg", "png", "JPG", "JPEG", "PNG"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(exts); i++) {
        snprintf(out, cap, "%s/%lld.%s", dir, mid, exts[i]);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) return 1;
    }
    return 0;
}

static void add_example(import_bam_report *r, const char *msg) {
    if (r->n_examples < (int)SBIR_ARRAY_LEN(r->examples))
        snprintf(r->examples[r->n_examples++], sizeof r->examples[0], "%s", msg);
}

static int import_rows(sqlite3 *db, sqlite3_stmt *st, const import_bam_opts *o, const attrs *a, sbir_collection *c,
                       import_bam_report *r, int64_t total) {
    sbir_progress prog;
    progress_start(&prog, "import", (uint64_t)total);
    int rc, out = SBIR_OK;
    long long last_mid = 0;
    int have_last = 0;
    char path[4096];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long mid = sqlite3_column_int64(st, 0);
        if (have_last && mid == last_mid) continue; /* duplicate label rows for one mid */
        last_mid = mid;
        have_last = 1;
        r->mids++;
        int mi = -1, ci = -1;
        int64_t *bucket = decide(st, o, a, r, &mi, &ci);
        if (!bucket && !find_image(o->images, mid, path, sizeof path)) bucket = &r->no_file;
        if (!bucket) {
            unsigned char *buf;
            size_t n;
            int w = 0, h = 0;
            if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) {
                add_example(r, sbir_last_error());
                bucket = &r->not_image;
            } else {
                if (image_probe_mem(buf, n, path, &w, &h, NULL) ||
                    ((uint64_t)w * (uint64_t)h > image_max_pixels() &&
                     sbir_error("%s: %dx%d image exceeds the limit of %llu pixels", path, w, h,
                                (unsigned long long)image_max_pixels()))) {
                    add_example(r, sbir_last_error());
                    bucket = &r->not_image;
                } else {
                    char crc[9];
                    snprintf(crc, sizeof crc, "%08x", sbir_crc32(0, buf, n));
                    out = collection_add_image(c, path, import_bam_class_name(a->contents[ci]), a->media[mi], w, h,
                                               crc, NULL);
                    r->imported++;
                }
                free(buf);
            }
        }
        if (bucket) (*bucket)++;
        if (out) break;
        if ((r->mids & 255) == 0) progress_update(&prog, (uint64_t)r->mids, "%lld imported", (long long)r->imported);
    }
    progress_update(&prog, (uint64_t)r->mids, "%lld imported", (long long)r->imported);
    progress_end(&prog);
    if (!out && rc != SQLITE_DONE) out = sbir_error("%s: reading: %s", o->db, sqlite3_errmsg(db));
    return out;
}

int import_bam(const import_bam_opts *o, import_bam_report *r) {
    memset(r, 0, sizeof *r);
    double t0 = sbir_now();
    attrs a;
    memset(&a, 0, sizeof a);
    if (pick_names(o->media, o->n_media, import_bam_default_media, 7, k_all_media, 7, "media_", "medium", a.media,
                   &a.n_media) ||
        pick_names(o->contents, o->n_contents, import_bam_default_contents, 5, k_all_contents, 9, "content_",
                   "content", a.contents, &a.n_contents))
        return SBIR_ERR;
    struct stat st;
    if (stat(o->db, &st) != 0) return sbir_error("%s: cannot open: %s", o->db, strerror(errno));
    if (stat(o->images, &st) != 0 || !S_ISDIR(st.st_mode)) return sbir_error("%s: not a directory", o->images);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sbir_error("%s: cannot open: %s", o->db, sqlite3_errmsg(db));
        sqlite3_close(db);
        return SBIR_ERR;
    }
    char sql[4096];
    sqlite3_stmt *q = NULL;
    int64_t total = 0;
    int rc = SBIR_OK;
    {
        sqlite3_stmt *cnt = NULL;
        int s = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master LIMIT 1", -1, &cnt, NULL);
        if (s == SQLITE_OK) s = sqlite3_step(cnt);
        if (s != SQLITE_ROW && s != SQLITE_DONE)
            rc = sbir_error("%s: not an SQLite database (%s)", o->db, sqlite3_errmsg(db));
        sqlite3_finalize(cnt);
    }
    if (rc == SBIR_OK) rc = build_query(db, o, &a, sql, sizeof sql);
    if (rc == SBIR_OK) {
        sqlite3_stmt *cnt = NULL;
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM modules", -1, &cnt, NULL) == SQLITE_OK &&
            sqlite3_step(cnt) == SQLITE_ROW)
            total = sqlite3_column_int64(cnt, 0);
        sqlite3_finalize(cnt);
        if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
            rc = sbir_error("%s: query failed: %s", o->db, sqlite3_errmsg(db));
    }
    sbir_collection *c = NULL;
    if (rc == SBIR_OK && !(c = collection_create(o->out, o->images))) rc = SBIR_ERR;
    if (rc == SBIR_OK) {
        const char *lab = o->labels == IMPORT_BAM_CROWD ? "crowd" : o->labels == IMPORT_BAM_AUTOMATIC ? "automatic" : "scores";
        rc = collection_set_meta(c, "import", "bam");
        if (rc == SBIR_OK) rc = collection_set_meta(c, "bam_labels", lab);
    }
    if (rc == SBIR_OK) rc = import_rows(db, q, o, &a, c, r, total);
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (c) {
        if (rc == SBIR_OK && r->imported == 0) rc = sbir_error("%s: no image could be imported", o->db);
        if (rc == SBIR_OK)
            rc = collection_commit(c);
        else
            collection_close(c);
    }
    r->seconds = sbir_now() - t0;
    return rc;
}
