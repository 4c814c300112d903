/* bam_select.c — see bam_select.h. One pass over modules LEFT JOINed with the label source, ordered by
 * mid, so memory stays flat on BAM's 2.5M rows; m.src is the second column. */
#include "data/bam_select.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/common.h"

static const char *const k_all_media[7] = {"3d_graphics", "comic", "graphite", "oilpaint", "pen_ink", "vectorart",
                                           "watercolor"};
static const char *const k_all_contents[9] = {"bicycle", "bird",   "building", "cars", "cat",
                                              "dog",     "flower", "people",   "tree"};

struct bam_select {
    sqlite3 *db;
    sqlite3_stmt *q;
    import_bam_labels labels;
    double threshold;
    const char *media[IMPORT_BAM_MAX_ATTRS], *contents[IMPORT_BAM_MAX_ATTRS];
    int n_media, n_contents;
    char cols[2 * IMPORT_BAM_MAX_ATTRS][64];
    char path[1024];
    long long last_mid;
    int have_last;
    int64_t count;
};

static const char *strip_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : s;
}

static int pick_names(const char *const *given, int n, const char *const *defaults, int n_def,
                      const char *const *known, int n_known, const char *prefix, const char *kind,
                      const char **out, int *n_out) {
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

static int require_columns(bam_select *s, const char *table, const char *const *cols, int n) {
    int exists = 0;
    has_column(s->db, table, "mid", &exists);
    if (!exists) return sbir_error("%s: not a BAM! database: table '%s' is missing", s->path, table);
    for (int i = 0; i < n; i++)
        if (!has_column(s->db, table, cols[i], NULL))
            return sbir_error("%s: not a BAM! database: table '%s' has no column '%s'", s->path, table, cols[i]);
    return SBIR_OK;
}

static int build_query(bam_select *s, char *sql, size_t cap) {
    const char *need[2 * IMPORT_BAM_MAX_ATTRS];
    int n = s->n_media + s->n_contents;
    for (int i = 0; i < n; i++) {
        int is_media = i < s->n_media;
        snprintf(s->cols[i], sizeof s->cols[i], "%s%s", is_media ? "media_" : "content_",
                 is_media ? s->media[i] : s->contents[i - s->n_media]);
        need[i] = s->cols[i];
    }
    const char *mod_cols[] = {"mid", "src"};
    if (require_columns(s, "modules", mod_cols, 2)) return SBIR_ERR;
    if (s->labels == IMPORT_BAM_CROWD) {
        const char *cc[] = {"mid", "attribute", "label"};
        if (require_columns(s, "crowd_labels", cc, 3)) return SBIR_ERR;
        snprintf(sql, cap,
                 "SELECT m.mid, m.src, group_concat(c.attribute, char(1)) FROM modules m LEFT JOIN crowd_labels c"
                 " ON c.mid = m.mid AND lower(c.label) = 'positive' GROUP BY m.mid ORDER BY m.mid");
        return SBIR_OK;
    }
    const char *table = s->labels == IMPORT_BAM_SCORES ? "scores" : "automatic_labels";
    if (require_columns(s, table, need, n)) return SBIR_ERR;
    snprintf(sql, cap, "SELECT m.mid, m.src");
    for (int i = 0; i < n; i++) snprintf(sql + strlen(sql), cap - strlen(sql), ", t.\"%s\"", s->cols[i]);
    snprintf(sql + strlen(sql), cap - strlen(sql), " FROM modules m LEFT JOIN \"%s\" t ON t.mid = m.mid ORDER BY m.mid",
             table);
    return SBIR_OK;
}

bam_select *bam_select_open(const bam_select_opts *o) {
    bam_select *s = callocCheck(1, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", o->db);
    s->labels = o->labels;
    s->threshold = o->threshold;
    if (pick_names(o->media, o->n_media, import_bam_default_media, 7, k_all_media, 7, "media_", "medium", s->media,
                   &s->n_media) ||
        pick_names(o->contents, o->n_contents, import_bam_default_contents, 5, k_all_contents, 9, "content_",
                   "content", s->contents, &s->n_contents)) {
        free(s);
        return NULL;
    }
    struct stat st;
    if (stat(o->db, &st) != 0) {
        sbir_error("%s: cannot open: %s", o->db, strerror(errno));
        free(s);
        return NULL;
    }
    int rc = SBIR_OK;
    if (sqlite3_open_v2(o->db, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        rc = sbir_error("%s: cannot open: %s", o->db, sqlite3_errmsg(s->db));
    if (rc == SBIR_OK) {
        sqlite3_stmt *cnt = NULL;
        int r = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master LIMIT 1", -1, &cnt, NULL);
        if (r == SQLITE_OK) r = sqlite3_step(cnt);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            rc = sbir_error("%s: not an SQLite database (%s)", o->db, sqlite3_errmsg(s->db));
        sqlite3_finalize(cnt);
    }
    char sql[4096];
    if (rc == SBIR_OK) rc = build_query(s, sql, sizeof sql);
    if (rc == SBIR_OK) {
        sqlite3_stmt *cnt = NULL;
        if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM modules", -1, &cnt, NULL) == SQLITE_OK &&
            sqlite3_step(cnt) == SQLITE_ROW)
            s->count = sqlite3_column_int64(cnt, 0);
        sqlite3_finalize(cnt);
        if (sqlite3_prepare_v2(s->db, sql, -1, &s->q, NULL) != SQLITE_OK)
            rc = sbir_error("%s: query failed: %s", o->db, sqlite3_errmsg(s->db));
    }
    if (rc) {
        bam_select_close(s);
        return NULL;
    }
    return s;
}

static int positive_text(const unsigned char *v) {
    return v && (strcasecmp((const char *)v, "positive") == 0 || strcmp((const char *)v, "1") == 0);
}

/* import_bam.c's decide(), with the label columns shifted by one (src is column 1). */
static bam_select_why decide(bam_select *s, bam_row *row) {
    sqlite3_stmt *st = s->q;
    int n_pos[2] = {0, 0}, best[2] = {-1, -1};
    double best_score[2] = {0, 0};
    if (s->labels == IMPORT_BAM_CROWD) {
        const char *list = (const char *)sqlite3_column_text(st, 2);
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", list ? list : "");
        char *save = NULL;
        for (char *tok = strtok_r(buf, "\x01", &save); tok; tok = strtok_r(NULL, "\x01", &save)) {
            const char *m = strip_prefix(tok, "media_"), *c = strip_prefix(tok, "content_");
            for (int i = 0; i < s->n_media; i++)
                if (strcmp(m, s->media[i]) == 0) n_pos[0]++, best[0] = i;
            for (int i = 0; i < s->n_contents; i++)
                if (strcmp(c, s->contents[i]) == 0) n_pos[1]++, best[1] = i;
        }
    } else {
        for (int i = 0; i < s->n_media + s->n_contents; i++) {
            int g = i < s->n_media ? 0 : 1, idx = g ? i - s->n_media : i;
            int pos;
            double v = 0;
            if (s->labels == IMPORT_BAM_SCORES)
                pos = sqlite3_column_type(st, i + 2) != SQLITE_NULL && (v = sqlite3_column_double(st, i + 2)) >= s->threshold;
            else
                pos = positive_text(sqlite3_column_text(st, i + 2));
            if (!pos) continue;
            n_pos[g]++;
            if (best[g] < 0 || v > best_score[g]) best[g] = idx, best_score[g] = v;
        }
    }
    int scores = s->labels == IMPORT_BAM_SCORES;
    if (n_pos[0] == 0) return BAM_NO_MEDIUM;
    if (n_pos[0] > 1 && !scores) return BAM_AMBIGUOUS;
    if (n_pos[1] == 0) return BAM_NO_CONTENT;
    if (n_pos[1] > 1 && !scores) return BAM_AMBIGUOUS;
    row->medium = best[0];
    row->content = best[1];
    return BAM_SELECTED;
}

int bam_select_next(bam_select *s, bam_row *row) {
    for (;;) {
        int rc = sqlite3_step(s->q);
        if (rc == SQLITE_DONE) return 0;
        if (rc != SQLITE_ROW) return sbir_error("%s: reading: %s", s->path, sqlite3_errmsg(s->db));
        long long mid = sqlite3_column_int64(s->q, 0);
        if (s->have_last && mid == s->last_mid) continue; /* duplicate label rows for one mid */
        s->last_mid = mid;
        s->have_last = 1;
        memset(row, 0, sizeof *row);
        row->mid = mid;
        row->src = (const char *)sqlite3_column_text(s->q, 1);
        row->medium = row->content = -1;
        row->why = decide(s, row);
        return 1;
    }
}

int64_t bam_select_count(bam_select *s) { return s->count; }
int bam_select_n_media(const bam_select *s) { return s->n_media; }
int bam_select_n_contents(const bam_select *s) { return s->n_contents; }
const char *bam_select_medium(const bam_select *s, int i) { return s->media[i]; }
const char *bam_select_content(const bam_select *s, int i) { return s->contents[i]; }

void bam_select_close(bam_select *s) {
    if (!s) return;
    sqlite3_finalize(s->q);
    sqlite3_close(s->db);
    free(s);
}
