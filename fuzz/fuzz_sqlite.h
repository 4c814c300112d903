/* fuzz_sqlite.h — turning a fuzz input into an SQLite file, for the collection and BAM! targets.
 *
 * SQLite's own file parser is fuzzed by its authors; what we must fuzz is our code on top: the schema
 * checks and what the readers do with whatever a table holds (NULLs, numbers where text is expected,
 * views instead of tables, missing columns, huge or odd strings). Random bytes almost never make a
 * valid database, so an input is either
 *   - a database file, when it starts with the SQLite magic ("SQLite format 3\0"): written as is, or
 *   - an SQL script, run in a fresh database: the fuzzer mutates statements and values, which reaches
 *     our checks far faster. "$ROOT" in the script is replaced by a scratch folder holding a few
 *     images (1.png, 2.png, a broken 3.jpg), so rows can name files that exist.
 * The script runs under an authorizer (no ATTACH, only harmless pragmas), a length limit and a
 * progress handler that stops runaway statements (recursive CTEs), so a script can neither touch other
 * files nor hang the harness. VACUUM (VACUUM INTO writes a file) is refused by a text check. */
#ifndef SBIR_FUZZ_SQLITE_H
#define SBIR_FUZZ_SQLITE_H

#include <ctype.h>
#include <sqlite3.h>

#include "data/image.h"
#include "fuzz_common.h"

static char g_fuzz_img_dir[1024];

/* <scratch>/img with two small PNGs and a file that is not an image. */
static const char *fuzz_image_dir(void) {
    if (g_fuzz_img_dir[0]) return g_fuzz_img_dir;
    snprintf(g_fuzz_img_dir, sizeof g_fuzz_img_dir, "%s/img", fuzz_dir());
    mkdir(g_fuzz_img_dir, 0700);
    uint8_t px[20 * 12 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 7);
    char p[1200];
    for (int k = 1; k <= 2; k++) {
        snprintf(p, sizeof p, "%s/%d.png", g_fuzz_img_dir, k);
        if (image_write_png(p, px, k == 1 ? 20 : 12, k == 1 ? 12 : 20, 3)) {
            fprintf(stderr, "%s\n", sbir_last_error());
            abort();
        }
    }
    snprintf(p, sizeof p, "%s/3.jpg", g_fuzz_img_dir);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fputs("\xff\xd8\xff not really a jpeg", f);
    fclose(f);
    return g_fuzz_img_dir;
}

static int fuzz_sql_auth(void *ctx, int action, const char *a, const char *b, const char *c, const char *d) {
    (void)ctx, (void)b, (void)c, (void)d;
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH: return SQLITE_DENY;
    case SQLITE_PRAGMA:
        return a && (!sqlite3_stricmp(a, "application_id") || !sqlite3_stricmp(a, "user_version") ||
                     !sqlite3_stricmp(a, "page_size") || !sqlite3_stricmp(a, "encoding") ||
                     !sqlite3_stricmp(a, "auto_vacuum"))
                   ? SQLITE_OK
                   : SQLITE_DENY;
    default: return SQLITE_OK;
    }
}

static int fuzz_sql_progress(void *ctx) {
    int *budget = ctx;
    return --*budget < 0; /* non-zero interrupts the statement */
}

/* Replaces every "$ROOT" with the image folder; malloc'd. */
static char *fuzz_expand_root(const uint8_t *data, size_t size) {
    const char *root = fuzz_image_dir();
    size_t rl = strlen(root), cap = size * (rl > 5 ? rl / 5 + 1 : 1) + 1, k = 0;
    char *s = mallocCheck(cap);
    for (size_t i = 0; i < size; i++) {
        if (i + 5 <= size && memcmp(data + i, "$ROOT", 5) == 0) {
            memcpy(s + k, root, rl);
            k += rl;
            i += 4;
        } else {
            s[k++] = (char)data[i];
        }
    }
    s[k] = 0;
    return s;
}

static int fuzz_contains_nocase(const char *s, const char *word) {
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0) return 1;
    return 0;
}

/* Makes `path` from the input; 0 when a database (possibly empty or half-built) is there. */
static int fuzz_make_db(const char *name, const uint8_t *data, size_t size, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", fuzz_dir(), name);
    unlink(path);
    if (size >= 16 && memcmp(data, "SQLite format 3", 16) == 0) {
        fuzz_write(name, data, size);
        return 0;
    }
    char *sql = fuzz_expand_root(data, size);
    if (fuzz_contains_nocase(sql, "vacuum")) {
        free(sql);
        return -1;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) abort();
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 1 << 20);
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_exec(db, "PRAGMA journal_mode=OFF", NULL, NULL, NULL);
    int budget = 20000;
    sqlite3_progress_handler(db, 100, fuzz_sql_progress, &budget);
    sqlite3_set_authorizer(db, fuzz_sql_auth, NULL);
    /* Statement by statement, going on after errors: one broken statement should not throw away the
     * rest of a script the fuzzer is mutating. */
    const char *at = sql;
    while (*at && budget > 0) {
        sqlite3_stmt *st = NULL;
        const char *tail = NULL;
        int rc = sqlite3_prepare_v2(db, at, -1, &st, &tail);
        if (st)
            while (sqlite3_step(st) == SQLITE_ROW) {}
        sqlite3_finalize(st);
        if (rc != SQLITE_OK || !tail || tail == at) {
            /* skip past the next ';' to resynchronise */
            const char *semi = strchr(at, ';');
            if (!semi) break;
            tail = semi + 1;
        }
        at = tail;
    }
    sqlite3_close_v2(db);
    free(sql);
    return 0;
}

#endif
