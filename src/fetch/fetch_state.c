/* fetch_state.c — see fetch_state.h. */
#include "fetch/fetch_state.h"

#include <sqlite3.h>
#include <string.h>

#include "util/common.h"

struct fetch_state {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
    char path[4200];
    int in_tx, pending;
    double tx_start;
};

static int exec(fetch_state *s, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        sbir_error("%s: %s", s->path, err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        return SBIR_ERR;
    }
    return SBIR_OK;
}

fetch_state *fetch_state_open(const char *dir) {
    fetch_state *s = callocCheck(1, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s/%s", dir, FETCH_STATE_FILE);
    int rc = SBIR_OK;
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        rc = sbir_error("%s: cannot open: %s", s->path, sqlite3_errmsg(s->db));
    if (rc == SBIR_OK) sqlite3_busy_timeout(s->db, 5000);
    /* WAL: a crash mid-transaction rolls back cleanly and readers (sbir import) are never blocked. */
    if (rc == SBIR_OK) rc = exec(s, "PRAGMA journal_mode=WAL");
    if (rc == SBIR_OK)
        rc = exec(s, "CREATE TABLE IF NOT EXISTS fetch(mid INTEGER PRIMARY KEY, url TEXT, status TEXT NOT NULL,"
                     " http INTEGER, attempts INTEGER, file TEXT, error TEXT, updated REAL)");
    if (rc == SBIR_OK && (sqlite3_prepare_v2(s->db, "SELECT status, file FROM fetch WHERE mid = ?", -1, &s->get, NULL) ||
                          sqlite3_prepare_v2(s->db,
                                             "INSERT OR REPLACE INTO fetch VALUES(?, ?, ?, ?, ?, ?, ?, "
                                             "(julianday('now') - 2440587.5) * 86400.0)",
                                             -1, &s->put, NULL)))
        rc = sbir_error("%s: %s (not a fetch state file?)", s->path, sqlite3_errmsg(s->db));
    if (rc) {
        sqlite3_finalize(s->get);
        sqlite3_finalize(s->put);
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    return s;
}

int fetch_state_get(fetch_state *s, long long mid, char *status, size_t scap, char *file, size_t fcap) {
    sqlite3_reset(s->get);
    sqlite3_bind_int64(s->get, 1, mid);
    int rc = sqlite3_step(s->get);
    if (rc == SQLITE_DONE) return 0;
    if (rc != SQLITE_ROW) return sbir_error("%s: %s", s->path, sqlite3_errmsg(s->db));
    const char *st = (const char *)sqlite3_column_text(s->get, 0), *f = (const char *)sqlite3_column_text(s->get, 1);
    snprintf(status, scap, "%s", st ? st : "");
    snprintf(file, fcap, "%s", f ? f : "");
    sqlite3_reset(s->get);
    return 1;
}

static int commit(fetch_state *s) {
    if (!s->in_tx) return SBIR_OK;
    s->in_tx = 0;
    s->pending = 0;
    return exec(s, "COMMIT");
}

int fetch_state_put(fetch_state *s, long long mid, const char *url, const char *status, long http, int attempts,
                    const char *file, const char *error) {
    if (!s->in_tx) {
        if (exec(s, "BEGIN")) return SBIR_ERR;
        s->in_tx = 1;
        s->tx_start = sbir_now();
    }
    sqlite3_reset(s->put);
    sqlite3_bind_int64(s->put, 1, mid);
    sqlite3_bind_text(s->put, 2, url, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 3, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->put, 4, http);
    sqlite3_bind_int(s->put, 5, attempts);
    if (file && *file) sqlite3_bind_text(s->put, 6, file, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s->put, 6);
    if (error && *error) sqlite3_bind_text(s->put, 7, error, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s->put, 7);
    int rc = sqlite3_step(s->put);
    sqlite3_reset(s->put);
    sqlite3_clear_bindings(s->put);
    if (rc != SQLITE_DONE) return sbir_error("%s: %s", s->path, sqlite3_errmsg(s->db));
    if (++s->pending >= 256 || sbir_now() - s->tx_start > 1.0) return commit(s);
    return SBIR_OK;
}

int fetch_state_close(fetch_state *s) {
    if (!s) return SBIR_OK;
    int rc = commit(s);
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->put);
    if (sqlite3_close(s->db) != SQLITE_OK && rc == SBIR_OK) rc = sbir_error("%s: close failed", s->path);
    free(s);
    return rc;
}
