/* collection.c — the SQLite catalog (see collection.h for the schema and the atomic-build contract). */
#include "data/collection.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_file.h"
#include "util/common.h"
#include "util/rng.h"

struct sbir_collection {
    sqlite3 *db;
    char *path;      /* the collection's final path */
    char *tmp;       /* writable: the temporary being built; NULL when read-only */
    char *root;      /* absolute root as given (not symlink-resolved), or NULL */
    char *root_real; /* realpath of the root, or NULL */
    sqlite3_stmt *ins_image, *ins_sketch;
};

static const char *k_schema =
    "CREATE TABLE images(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, class TEXT, style TEXT,"
    " split TEXT, width INT, height INT, checksum TEXT);"
    "CREATE INDEX images_class_style ON images(class, style);"
    "CREATE TABLE sketches(id INTEGER PRIMARY KEY, class TEXT, source TEXT, key_id TEXT, strokes TEXT,"
    " image_path TEXT, split TEXT);"
    "CREATE INDEX sketches_class ON sketches(class);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE embeddings(id INTEGER PRIMARY KEY, model TEXT, index_path TEXT, dim INT, count INT,"
    " created TEXT);";

/* " (a value over the limit of N MiB)" when SQLite's last error was SQLITE_TOOBIG, else "". */
static const char *toobig_note(sqlite3 *db) {
    static _Thread_local char note[64];
    note[0] = 0;
    if (db && sqlite3_errcode(db) == SQLITE_TOOBIG)
        snprintf(note, sizeof note, " (a value over the limit of %d MiB)", SBIR_COLLECTION_MAX_VALUE >> 20);
    return note;
}

static int db_error(sbir_collection *c, const char *what) {
    return sbir_error("%s: %s: %s%s", c->path, what, c->db ? sqlite3_errmsg(c->db) : "no database", toobig_note(c->db));
}

/* Every connection to a collection: no string or blob above SBIR_COLLECTION_MAX_VALUE is read (or
 * made), so a hostile row cannot cost more memory than that (SQLite checks the length before it
 * allocates). */
static void limit_values(sqlite3 *db) { sqlite3_limit(db, SQLITE_LIMIT_LENGTH, SBIR_COLLECTION_MAX_VALUE); }

static int exec(sbir_collection *c, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sbir_error("%s: %s", c->path, msg ? msg : sqlite3_errmsg(c->db));
        sqlite3_free(msg);
        return SBIR_ERR;
    }
    return SBIR_OK;
}

static void coll_free(sbir_collection *c) {
    if (!c) return;
    sqlite3_finalize(c->ins_image);
    sqlite3_finalize(c->ins_sketch);
    if (c->db) sqlite3_close(c->db);
    if (c->tmp) unlink(c->tmp);
    free(c->path);
    free(c->tmp);
    free(c->root);
    free(c->root_real);
    free(c);
}

/* cwd-absolute version of p without resolving symlinks. */
static char *absolutize(const char *p) {
    if (p[0] == '/') return strdupCheck(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return strdupCheck(p);
    size_t n = strlen(cwd) + strlen(p) + 2;
    char *s = mallocCheck(n);
    snprintf(s, n, "%s/%s", cwd, p[0] == '.' && p[1] == '/' ? p + 2 : p);
    return s;
}

static void set_root(sbir_collection *c, const char *root_in) {
    char *root = root_in ? strdupCheck(root_in) : NULL; /* root_in may be c->root itself */
    free(c->root);
    free(c->root_real);
    c->root = c->root_real = NULL;
    if (!root || !*root) {
        free(root);
        return;
    }
    c->root = absolutize(root);
    size_t n = strlen(c->root);
    while (n > 1 && c->root[n - 1] == '/') c->root[--n] = 0; /* "dir/" and "dir" are one root */
    char buf[PATH_MAX];
    if (realpath(root, buf)) c->root_real = strdupCheck(buf);
    free(root);
}

static int prepare_writers(sbir_collection *c) {
    if (sqlite3_prepare_v2(c->db,
                           "INSERT INTO images(path,class,style,split,width,height,checksum)"
                           " VALUES(?,?,?,?,?,?,?)",
                           -1, &c->ins_image, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db,
                           "INSERT INTO sketches(class,source,key_id,strokes,image_path,split)"
                           " VALUES(?,?,?,?,?,?)",
                           -1, &c->ins_sketch, NULL) != SQLITE_OK)
        return db_error(c, "prepare");
    return SBIR_OK;
}

/* Opens c->tmp (or c->path when read-only) with the right flags and pragmas. */
static int open_db(sbir_collection *c, int writable) {
    const char *file = writable ? c->tmp : c->path;
    int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(file, &c->db, flags, NULL) != SQLITE_OK) return db_error(c, "cannot open");
    limit_values(c->db);
    sqlite3_busy_timeout(c->db, 5000);
    /* The temporary is private until the rename, so no rollback journal on disk and no syncs per
     * transaction: commit fsyncs once. The in-memory journal keeps statement rollback (a UNIQUE
     * violation undoes just that row) working. */
    if (writable && exec(c, "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;")) return SBIR_ERR;
    return SBIR_OK;
}

static int64_t pragma_int(sbir_collection *c, const char *sql, int *err) {
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        *err = 1;
        return 0;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        *err = 1;
    sqlite3_finalize(st);
    return v;
}

static int has_table(sbir_collection *c, const char *name) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* ---- the content checksum ----
 *
 * SQLite keeps no page checksums, so a flipped bit in a collection could change a class, a path or a
 * stroke without any error. At commit the writer stores, in meta 'content_crc32', the CRC-32 of a
 * canonical serialisation of everything the readers can reach:
 *   - the schema (type, name, table and SQL of every sqlite_master row, by type and name);
 *   - every table of the schema scanned in rowid order, rowids included (a scan walks the cells in
 *     the order they are stored, so a flipped rowid would otherwise go unseen while a lookup by rowid
 *     through an index misses the row); meta without the checksum row itself;
 *   - every index of the schema scanned in index order (a covering scan: the values come from the
 *     index b-tree, so a flip in an index that a filtered query would use is caught too).
 * Each value is serialised with its SQLite type (integer: 8 bytes LE, float: its 8 bytes, text and
 * blob: a 4-byte length and the bytes, NULL: the type alone). Flips in unused space (free space in
 * pages, freelist pages, counters in the header that SQLite ignores for reading) change nothing a
 * reader sees and are not detected; flips that change what a reader sees are. Opening a collection
 * recomputes it (about one second per million images; SBIR_COLLECTION_NO_VERIFY=1 skips it). */

#define COLL_CRC_KEY "content_crc32"

typedef struct {
    const char *type, *name, *table; /* the schema object the part reads; absent objects hash a marker */
    const char *sql;
} crc_part;

static const crc_part k_crc_parts[] = {
    {NULL, NULL, NULL, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"},
    {"table", "images", "images", "SELECT rowid, * FROM images NOT INDEXED ORDER BY rowid"},
    {"index", "images_class_style", "images",
     "SELECT class, style, rowid FROM images INDEXED BY images_class_style ORDER BY class, style, rowid"},
    {"index", "sqlite_autoindex_images_1", "images",
     "SELECT path, rowid FROM images INDEXED BY sqlite_autoindex_images_1 ORDER BY path, rowid"},
    {"table", "sketches", "sketches", "SELECT rowid, * FROM sketches NOT INDEXED ORDER BY rowid"},
    {"index", "sketches_class", "sketches",
     "SELECT class, rowid FROM sketches INDEXED BY sketches_class ORDER BY class, rowid"},
    {"table", "meta", "meta", "SELECT rowid, * FROM meta NOT INDEXED WHERE key IS NOT '" COLL_CRC_KEY "' ORDER BY rowid"},
    {"index", "sqlite_autoindex_meta_1", "meta",
     "SELECT key, rowid FROM meta INDEXED BY sqlite_autoindex_meta_1 WHERE key IS NOT '" COLL_CRC_KEY
     "' ORDER BY key, rowid"},
    {"table", "embeddings", "embeddings", "SELECT rowid, * FROM embeddings NOT INDEXED ORDER BY rowid"},
};

typedef struct {
    unsigned char buf[1 << 16];
    size_t n;
    uint32_t crc;
} crc_sink;

static void sink_flush(crc_sink *s) {
    s->crc = sbir_crc32(s->crc, s->buf, s->n);
    s->n = 0;
}

static void sink_put(crc_sink *s, const void *p, size_t n) {
    if (s->n + n > sizeof s->buf) {
        sink_flush(s);
        if (n > sizeof s->buf) {
            s->crc = sbir_crc32(s->crc, p, n);
            return;
        }
    }
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

static void sink_u64(crc_sink *s, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    sink_put(s, b, 8);
}

static void sink_u8(crc_sink *s, unsigned v) {
    unsigned char b = (unsigned char)v;
    sink_put(s, &b, 1);
}

static int schema_has(sqlite3 *db, const crc_part *p, int *found) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type=? AND name=? AND tbl_name=?", -1, &st, NULL) !=
        SQLITE_OK)
        return SBIR_ERR;
    sqlite3_bind_text(st, 1, p->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p->table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SBIR_OK : SBIR_ERR;
}

/* The content CRC of the database (see above). On failure: SBIR_ERR and sbir_error naming `path`. */
static int content_crc(sqlite3 *db, const char *path, uint32_t *out) {
    crc_sink *s = callocCheck(1, sizeof *s);
    int rc = SBIR_OK;
    for (size_t k = 0; k < SBIR_ARRAY_LEN(k_crc_parts) && rc == SBIR_OK; k++) {
        const crc_part *p = &k_crc_parts[k];
        sink_u8(s, 'P');
        sink_u8(s, (unsigned)k);
        int found = 1;
        if (p->name && schema_has(db, p, &found) != SBIR_OK) {
            rc = sbir_error("%s: damaged collection: cannot read its schema (%s)", path, sqlite3_errmsg(db));
            break;
        }
        if (!found) {
            sink_u8(s, 'A');
            continue;
        }
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, p->sql, -1, &st, NULL) != SQLITE_OK) {
            rc = sbir_error("%s: damaged collection: cannot read %s '%s' (%s)", path, p->type ? p->type : "the schema",
                            p->name ? p->name : "sqlite_master", sqlite3_errmsg(db));
            sqlite3_finalize(st);
            break;
        }
        int ncol = sqlite3_column_count(st), step;
        uint64_t rows = 0;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            sink_u8(s, 'R');
            sink_u64(s, (uint64_t)ncol);
            for (int i = 0; i < ncol; i++) {
                int t = sqlite3_column_type(st, i);
                sink_u8(s, (unsigned)t);
                if (t == SQLITE_INTEGER) {
                    sink_u64(s, (uint64_t)sqlite3_column_int64(st, i));
                } else if (t == SQLITE_FLOAT) {
                    double d = sqlite3_column_double(st, i);
                    uint64_t bits;
                    memcpy(&bits, &d, sizeof bits);
                    sink_u64(s, bits);
                } else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
                    const void *v = t == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, i) : sqlite3_column_blob(st, i);
                    size_t len = (size_t)sqlite3_column_bytes(st, i);
                    sink_u64(s, len);
                    if (len && v) sink_put(s, v, len);
                }
            }
            rows++;
        }
        if (step != SQLITE_DONE)
            rc = sbir_error("%s: damaged collection: reading %s '%s' failed after %llu rows (%s)%s", path,
                            p->type ? p->type : "the schema", p->name ? p->name : "sqlite_master",
                            (unsigned long long)rows, sqlite3_errmsg(db), toobig_note(db));
        sqlite3_finalize(st);
        sink_u8(s, 'E');
        sink_u64(s, rows);
    }
    sink_flush(s);
    *out = s->crc;
    free(s);
    return rc;
}

/* Writable collections: stores the checksum of what the transaction holds now (commit calls it last). */
static int store_content_crc(sbir_collection *c) {
    uint32_t crc;
    char hex[16];
    if (content_crc(c->db, c->path, &crc) != SBIR_OK) return SBIR_ERR;
    snprintf(hex, sizeof hex, "%08x", crc);
    return collection_set_meta(c, COLL_CRC_KEY, hex);
}

static int parse_crc(const char *s, uint32_t *out) {
    if (!s || strlen(s) != 8) return SBIR_ERR;
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1;
        if (d < 0) return SBIR_ERR;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return SBIR_OK;
}

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* Recomputes the content checksum and compares it with the stored one. A collection of schema
 * version 1 (before checksums) has none: accepted with a warning, once per process. */
static int check_content_crc(sbir_collection *c, int64_t ver) {
    if (env_set("SBIR_COLLECTION_NO_VERIFY")) return SBIR_OK;
    char *stored = collection_get_meta(c, COLL_CRC_KEY);
    if (!stored) {
        if (ver >= 2)
            return sbir_error("%s: damaged collection: its checksum (meta '" COLL_CRC_KEY "') is missing", c->path);
        static _Atomic int warned;
        if (!warned++)
            fprintf(stderr,
                    "sbir: warning: %s: a collection written by an older sbir (schema version %lld) has no checksum, "
                    "so damage to it cannot be detected; rebuild it with sbir import to add one\n",
                    c->path, (long long)ver);
        return SBIR_OK;
    }
    uint32_t want, got;
    if (parse_crc(stored, &want) != SBIR_OK) {
        sbir_error("%s: damaged collection: its checksum '%.16s' is not 8 hex digits", c->path, stored);
        free(stored);
        return SBIR_ERR;
    }
    free(stored);
    if (content_crc(c->db, c->path, &got) != SBIR_OK) return SBIR_ERR;
    if (got != want)
        return sbir_error("%s: damaged collection: checksum mismatch (its rows give CRC-32 %08x, it was written with "
                          "%08x); rebuild it, or set SBIR_COLLECTION_NO_VERIFY=1 to read it anyway",
                          c->path, got, want);
    return SBIR_OK;
}

/* Is this an sbir collection we can read? Loads the root from meta. With check_crc, also verifies
 * the content checksum. Returns the schema version in *ver_out (may be NULL). */
static int verify(sbir_collection *c, int check_crc, int64_t *ver_out) {
    int err = 0;
    int64_t app = pragma_int(c, "PRAGMA application_id", &err);
    if (err) return sbir_error("%s: not an SQLite database (%s)", c->path, sqlite3_errmsg(c->db));
    if (app != SBIR_COLLECTION_APP_ID) {
        if (has_table(c, "modules") || has_table(c, "crowd_labels"))
            return sbir_error("%s: this is a BAM! database, not an sbir collection (build one with "
                              "'sbir import bam --db %s ...')",
                              c->path, c->path);
        return sbir_error("%s: not an sbir collection (SQLite application_id is %lld)", c->path, (long long)app);
    }
    int64_t ver = pragma_int(c, "PRAGMA user_version", &err);
    if (err) return db_error(c, "reading the schema version");
    if (ver < 1 || ver > SBIR_COLLECTION_VERSION)
        return sbir_error("%s: collection schema version %lld, this program reads versions 1 to %d%s", c->path,
                          (long long)ver, SBIR_COLLECTION_VERSION,
                          ver > SBIR_COLLECTION_VERSION ? " (written by a newer sbir)" : "");
    if (ver_out) *ver_out = ver;
    const char *tables[] = {"images", "sketches", "meta"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(tables); i++)
        if (!has_table(c, tables[i]))
            return sbir_error("%s: damaged collection: table '%s' is missing", c->path, tables[i]);
    if (check_crc && check_content_crc(c, ver) != SBIR_OK) return SBIR_ERR;
    char *root = collection_get_meta(c, "root");
    set_root(c, root);
    free(root);
    return SBIR_OK;
}

int collection_reseal(const char *path) {
    sbir_collection c = {0};
    c.path = (char *)path;
    if (sqlite3_open_v2(path, &c.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = db_error(&c, "cannot open");
        sqlite3_close(c.db);
        return rc;
    }
    limit_values(c.db);
    uint32_t crc;
    char hex[16];
    int rc = content_crc(c.db, path, &crc);
    sqlite3_stmt *st = NULL;
    if (rc == SBIR_OK) {
        snprintf(hex, sizeof hex, "%08x", crc);
        if (sqlite3_prepare_v2(c.db, "INSERT OR REPLACE INTO meta(key,value) VALUES('" COLL_CRC_KEY "',?)", -1, &st,
                               NULL) != SQLITE_OK)
            rc = db_error(&c, "storing the checksum");
    }
    if (rc == SBIR_OK) {
        sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_error(&c, "storing the checksum");
    }
    sqlite3_finalize(st);
    if (sqlite3_close(c.db) != SQLITE_OK && rc == SBIR_OK) rc = sbir_error("%s: close failed", path);
    return rc;
}

static char *make_tmp_name(const char *path) {
    static _Atomic unsigned counter;
    size_t n = strlen(path) + 64;
    char *t = mallocCheck(n);
    snprintf(t, n, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    return t;
}

static sbir_collection *open_read_only(const char *path, int check_crc);

static sbir_collection *create_at_tmp(sbir_collection *c, const char *root) {
    if (open_db(c, 1)) goto fail;
    char pragmas[128];
    snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d; PRAGMA user_version=%d;", SBIR_COLLECTION_APP_ID,
             SBIR_COLLECTION_VERSION);
    if (exec(c, "BEGIN") || exec(c, k_schema) || exec(c, pragmas)) goto fail;
    set_root(c, root);
    if (collection_set_meta(c, "format", "sbir-collection") || collection_set_meta(c, "created_by", "sbir 0.1.0"))
        goto fail;
    if (c->root && collection_set_meta(c, "root", c->root)) goto fail;
    if (prepare_writers(c)) goto fail;
    return c;
fail:
    coll_free(c);
    return NULL;
}

sbir_collection *collection_create(const char *path, const char *root) {
    if (root) {
        struct stat st;
        if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            sbir_error("%s: root is not a directory", root);
            return NULL;
        }
    }
    /* Replacing a previous collection is the point; replacing anything else (a BAM! database given as
     * --out by mistake) would destroy data the user cannot rebuild. */
    struct stat st;
    if (stat(path, &st) == 0) {
        sbir_collection *old = open_read_only(path, 0); /* a damaged collection may be replaced */
        if (!old) {
            sbir_error_prefix("%s exists and is not an sbir collection; refusing to overwrite it", path);
            return NULL;
        }
        collection_close(old);
    }
    sbir_collection *c = callocCheck(1, sizeof *c);
    c->path = strdupCheck(path);
    c->tmp = make_tmp_name(path);
    unlink(c->tmp);
    return create_at_tmp(c, root);
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return sbir_error("%s: cannot open: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return sbir_error("%s: cannot create: %s", to, strerror(errno));
    }
    char buf[1 << 16];
    size_t k;
    int rc = SBIR_OK;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, k, out) != k) {
            rc = sbir_error("%s: write failed: %s", to, strerror(errno));
            break;
        }
    if (ferror(in)) rc = sbir_error("%s: read failed", from);
    fclose(in);
    if (fclose(out) != 0 && rc == SBIR_OK) rc = sbir_error("%s: write failed: %s", to, strerror(errno));
    return rc;
}

sbir_collection *collection_edit(const char *path, const char *root) {
    struct stat st;
    if (stat(path, &st) != 0) return collection_create(path, root);
    /* Check it is a collection before copying it, so a BAM file is refused without a copy. */
    sbir_collection *probe = collection_open(path);
    if (!probe) return NULL;
    collection_close(probe);
    sbir_collection *c = callocCheck(1, sizeof *c);
    c->path = strdupCheck(path);
    c->tmp = make_tmp_name(path);
    if (copy_file(path, c->tmp) || open_db(c, 1) || verify(c, 0, NULL) || exec(c, "BEGIN") || prepare_writers(c)) {
        coll_free(c);
        return NULL;
    }
    return c;
}

static sbir_collection *open_read_only(const char *path, int check_crc) {
    struct stat st;
    if (stat(path, &st) != 0) {
        sbir_error("%s: cannot open collection: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        sbir_error("%s: not a collection file", path);
        return NULL;
    }
    sbir_collection *c = callocCheck(1, sizeof *c);
    c->path = strdupCheck(path);
    if (open_db(c, 0) || verify(c, check_crc, NULL)) {
        coll_free(c);
        return NULL;
    }
    return c;
}

sbir_collection *collection_open(const char *path) { return open_read_only(path, 1); }

static int fsync_path(const char *path, int dir) {
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int collection_commit(sbir_collection *c) {
    if (!c) return SBIR_ERR;
    if (!c->tmp) {
        coll_free(c);
        return SBIR_OK;
    }
    /* An edited version-1 collection becomes version 2; the checksum goes in last, over everything. */
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d;", SBIR_COLLECTION_VERSION);
    int rc = exec(c, pragma);
    if (rc == SBIR_OK) rc = store_content_crc(c);
    if (rc == SBIR_OK) rc = exec(c, "COMMIT");
    sqlite3_finalize(c->ins_image);
    sqlite3_finalize(c->ins_sketch);
    c->ins_image = c->ins_sketch = NULL;
    if (rc == SBIR_OK && sqlite3_close(c->db) != SQLITE_OK) rc = db_error(c, "close");
    if (rc == SBIR_OK) c->db = NULL;
    if (rc == SBIR_OK && fsync_path(c->tmp, 0) != 0) rc = sbir_error("%s: fsync failed: %s", c->tmp, strerror(errno));
    if (rc == SBIR_OK && rename(c->tmp, c->path) != 0)
        rc = sbir_error("%s: cannot rename into place: %s", c->path, strerror(errno));
    if (rc == SBIR_OK) {
        /* The rename is durable only once the directory is synced. */
        char *dir = strdupCheck(c->path);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash == dir ? (void)(slash[1] = 0) : (void)(*slash = 0);
        fsync_path(slash ? dir : ".", 1);
        free(dir);
        free(c->tmp);
        c->tmp = NULL;
    }
    coll_free(c); /* removes the temporary when anything failed */
    return rc;
}

void collection_close(sbir_collection *c) { coll_free(c); }

const char *collection_path(const sbir_collection *c) { return c->path; }
const char *collection_root(const sbir_collection *c) { return c->root; }
sqlite3 *collection_db(sbir_collection *c) { return c->db; }

char *collection_abs_path(const sbir_collection *c, const char *stored) {
    if (!stored) return NULL;
    if (stored[0] == '/' || !c->root) return strdupCheck(stored);
    size_t n = strlen(c->root) + strlen(stored) + 2;
    char *s = mallocCheck(n);
    snprintf(s, n, "%s/%s", c->root, stored);
    return s;
}

/* The path to store: relative to the root when it lies under it (as given, or after resolving
 * symlinks), otherwise as given. Returns a pointer into p or into *owned. */
static const char *relative_path(const sbir_collection *c, const char *p, char **owned) {
    *owned = NULL;
    if (!c->root) return p;
    char *abs = absolutize(p);
    const char *roots[2] = {c->root, c->root_real};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 2; i++) {
            size_t n = roots[i] ? strlen(roots[i]) : 0;
            if (n && strncmp(abs, roots[i], n) == 0 && abs[n] == '/' && abs[n + 1]) {
                *owned = strdupCheck(abs + n + 1);
                free(abs);
                return *owned;
            }
        }
        if (pass == 0) {
            char buf[PATH_MAX];
            if (!c->root_real || !realpath(p, buf)) break;
            free(abs);
            abs = strdupCheck(buf);
        }
    }
    free(abs);
    return p;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int run_insert(sbir_collection *c, sqlite3_stmt *st, const char *what, int64_t *id_out) {
    int rc = sqlite3_step(st);
    int out = SBIR_OK;
    if (rc != SQLITE_DONE)
        out = sbir_error("%s: %s: %s%s", c->path, what, sqlite3_errmsg(c->db), toobig_note(c->db));
    else if (id_out)
        *id_out = sqlite3_last_insert_rowid(c->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

int collection_add_image(sbir_collection *c, const char *path, const char *class_name, const char *style,
                         int width, int height, const char *checksum, int64_t *id_out) {
    if (!c->tmp) return sbir_error("%s: collection is open read-only", c->path);
    if (!path || !*path) return sbir_error("%s: add_image: empty path", c->path);
    char *owned;
    const char *rel = relative_path(c, path, &owned);
    sqlite3_stmt *st = c->ins_image;
    bind_text_or_null(st, 1, rel);
    bind_text_or_null(st, 2, class_name);
    bind_text_or_null(st, 3, style);
    bind_text_or_null(st, 4, sbir_split_name(sbir_split_of(rel)));
    if (width > 0) sqlite3_bind_int(st, 5, width);
    if (height > 0) sqlite3_bind_int(st, 6, height);
    bind_text_or_null(st, 7, checksum);
    char what[64 + PATH_MAX];
    snprintf(what, sizeof what, "adding image %s", rel);
    int rc = run_insert(c, st, what, id_out);
    free(owned);
    return rc;
}

int collection_add_sketch(sbir_collection *c, const char *class_name, const char *source, const char *key_id,
                          const char *strokes_json, const char *image_path, int64_t *id_out) {
    if (!c->tmp) return sbir_error("%s: collection is open read-only", c->path);
    if ((strokes_json == NULL) == (image_path == NULL))
        return sbir_error("%s: add_sketch: give exactly one of strokes and image path", c->path);
    char *owned = NULL, *key = NULL;
    const char *rel = image_path ? relative_path(c, image_path, &owned) : NULL;
    const char *split_key;
    if (key_id && source) {
        size_t n = strlen(source) + strlen(key_id) + 2;
        key = mallocCheck(n);
        snprintf(key, n, "%s:%s", source, key_id);
        split_key = key;
    } else {
        split_key = key_id ? key_id : rel;
    }
    if (!split_key) return sbir_error("%s: add_sketch: a stroke sketch needs a key_id", c->path);
    sqlite3_stmt *st = c->ins_sketch;
    bind_text_or_null(st, 1, class_name);
    bind_text_or_null(st, 2, source);
    bind_text_or_null(st, 3, key_id);
    bind_text_or_null(st, 4, strokes_json);
    bind_text_or_null(st, 5, rel);
    bind_text_or_null(st, 6, sbir_split_name(sbir_split_of(split_key)));
    int rc = run_insert(c, st, "adding a sketch", id_out);
    free(owned);
    free(key);
    return rc;
}

int collection_set_meta(sbir_collection *c, const char *key, const char *value) {
    if (!c->tmp) return sbir_error("%s: collection is open read-only", c->path);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO meta(key,value) VALUES(?,?)", -1, &st, NULL) != SQLITE_OK)
        return db_error(c, "set meta");
    bind_text_or_null(st, 1, key);
    bind_text_or_null(st, 2, value);
    int rc = run_insert(c, st, "set meta", NULL);
    sqlite3_finalize(st);
    if (rc == SBIR_OK && strcmp(key, "root") == 0) set_root(c, value);
    return rc;
}

char *collection_get_meta(sbir_collection *c, const char *key) {
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) != SQLITE_OK) return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdupCheck((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

/* ---- reading ---- */

/* Appends " WHERE a=? AND b=?" for the filter's set fields; returns the number of bound values. */
static int build_where(char *sql, size_t cap, const coll_filter *f, int sketches, const char *vals[4]) {
    int n = 0;
    if (!f) return 0;
    const char *cols[4] = {"split", "class", sketches ? NULL : "style", sketches ? "source" : NULL};
    const char *fv[4] = {f->split, f->class_name, f->style, f->source};
    for (int i = 0; i < 4; i++) {
        if (!cols[i] || !fv[i]) continue;
        size_t len = strlen(sql);
        snprintf(sql + len, cap - len, "%s%s=?", n ? " AND " : " WHERE ", cols[i]);
        vals[n++] = fv[i];
    }
    return n;
}

static sqlite3_stmt *prepare_filtered(sbir_collection *c, const char *head, const coll_filter *f, int sketches,
                                      const char *tail) {
    char sql[512];
    const char *vals[4];
    snprintf(sql, sizeof sql, "%s", head);
    int n = build_where(sql, sizeof sql, f, sketches, vals);
    size_t len = strlen(sql);
    snprintf(sql + len, sizeof sql - len, "%s", tail);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(c, "query");
        return NULL;
    }
    for (int i = 0; i < n; i++) sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
    return st;
}

static char *col_str(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? strdupCheck((const char *)s) : NULL;
}

static void image_from_row(sqlite3_stmt *st, coll_image *im) {
    im->id = sqlite3_column_int64(st, 0);
    im->path = col_str(st, 1);
    im->class_name = col_str(st, 2);
    im->style = col_str(st, 3);
    im->split = col_str(st, 4);
    im->width = sqlite3_column_int(st, 5);
    im->height = sqlite3_column_int(st, 6);
    im->checksum = col_str(st, 7);
}

static void image_clear(coll_image *im) {
    free(im->path);
    free(im->class_name);
    free(im->style);
    free(im->split);
    free(im->checksum);
}

static void sketch_from_row(sqlite3_stmt *st, coll_sketch *s) {
    s->id = sqlite3_column_int64(st, 0);
    s->class_name = col_str(st, 1);
    s->source = col_str(st, 2);
    s->key_id = col_str(st, 3);
    s->strokes = col_str(st, 4);
    s->image_path = col_str(st, 5);
    s->split = col_str(st, 6);
}

static void sketch_clear(coll_sketch *s) {
    free(s->class_name);
    free(s->source);
    free(s->key_id);
    free(s->strokes);
    free(s->image_path);
    free(s->split);
}

static const char *k_image_cols = "SELECT id,path,class,style,split,width,height,checksum FROM images";
static const char *k_sketch_cols = "SELECT id,class,source,key_id,strokes,image_path,split FROM sketches";

int collection_each_image(sbir_collection *c, const coll_filter *f, int (*fn)(const coll_image *, void *),
                          void *ctx) {
    sqlite3_stmt *st = prepare_filtered(c, k_image_cols, f, 0, " ORDER BY id");
    if (!st) return SBIR_ERR;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        coll_image im;
        image_from_row(st, &im);
        out = fn(&im, ctx);
        image_clear(&im);
        if (out) break;
    }
    if (!out && rc != SQLITE_DONE) out = db_error(c, "reading images");
    sqlite3_finalize(st);
    return out;
}

int collection_each_sketch(sbir_collection *c, const coll_filter *f, int (*fn)(const coll_sketch *, void *),
                           void *ctx) {
    sqlite3_stmt *st = prepare_filtered(c, k_sketch_cols, f, 1, " ORDER BY id");
    if (!st) return SBIR_ERR;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        coll_sketch s;
        sketch_from_row(st, &s);
        out = fn(&s, ctx);
        sketch_clear(&s);
        if (out) break;
    }
    if (!out && rc != SQLITE_DONE) out = db_error(c, "reading sketches");
    sqlite3_finalize(st);
    return out;
}

int collection_list_images(sbir_collection *c, const coll_filter *f, coll_image **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prepare_filtered(c, k_image_cols, f, 0, " ORDER BY id");
    if (!st) return SBIR_ERR;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            *out = reallocCheck(*out, cap * sizeof **out);
        }
        image_from_row(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        coll_images_free(*out, *n);
        *out = NULL;
        *n = 0;
        return db_error(c, "reading images");
    }
    return SBIR_OK;
}

void coll_images_free(coll_image *a, size_t n) {
    for (size_t i = 0; a && i < n; i++) image_clear(&a[i]);
    free(a);
}

int collection_list_sketches(sbir_collection *c, const coll_filter *f, coll_sketch **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prepare_filtered(c, k_sketch_cols, f, 1, " ORDER BY id");
    if (!st) return SBIR_ERR;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            *out = reallocCheck(*out, cap * sizeof **out);
        }
        sketch_from_row(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        coll_sketches_free(*out, *n);
        *out = NULL;
        *n = 0;
        return db_error(c, "reading sketches");
    }
    return SBIR_OK;
}

void coll_sketches_free(coll_sketch *a, size_t n) {
    for (size_t i = 0; a && i < n; i++) sketch_clear(&a[i]);
    free(a);
}

static int64_t count_rows(sbir_collection *c, const char *head, const coll_filter *f, int sketches) {
    sqlite3_stmt *st = prepare_filtered(c, head, f, sketches, "");
    if (!st) return -1;
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        db_error(c, "count");
    sqlite3_finalize(st);
    return v;
}

int64_t collection_count_images(sbir_collection *c, const coll_filter *f) {
    return count_rows(c, "SELECT COUNT(*) FROM images", f, 0);
}

int64_t collection_count_sketches(sbir_collection *c, const coll_filter *f) {
    return count_rows(c, "SELECT COUNT(*) FROM sketches", f, 1);
}

static int list_strings(sbir_collection *c, const char *sql, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return db_error(c, "query");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = reallocCheck(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = col_str(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        coll_strings_free(*out, *n);
        *out = NULL;
        *n = 0;
        return db_error(c, "query");
    }
    return SBIR_OK;
}

int collection_classes(sbir_collection *c, const char *which, char ***out, size_t *n) {
    const char *sql;
    if (which && strcmp(which, "images") == 0)
        sql = "SELECT DISTINCT class FROM images WHERE class IS NOT NULL ORDER BY 1";
    else if (which && strcmp(which, "sketches") == 0)
        sql = "SELECT DISTINCT class FROM sketches WHERE class IS NOT NULL ORDER BY 1";
    else if (!which)
        sql = "SELECT class FROM images WHERE class IS NOT NULL UNION "
              "SELECT class FROM sketches WHERE class IS NOT NULL ORDER BY 1";
    else
        return sbir_error("collection_classes: unknown table '%s'", which);
    return list_strings(c, sql, out, n);
}

int collection_styles(sbir_collection *c, char ***out, size_t *n) {
    return list_strings(c, "SELECT DISTINCT style FROM images WHERE style IS NOT NULL ORDER BY 1", out, n);
}

void coll_strings_free(char **a, size_t n) {
    for (size_t i = 0; a && i < n; i++) free(a[i]);
    free(a);
}

static int list_counts(sbir_collection *c, const char *sql, int has_style, coll_count **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) return db_error(c, "query");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = reallocCheck(*out, cap * sizeof **out);
        }
        coll_count *k = &(*out)[(*n)++];
        k->class_name = col_str(st, 0);
        k->style = has_style ? col_str(st, 1) : NULL;
        k->split = col_str(st, has_style ? 2 : 1);
        k->count = sqlite3_column_int64(st, has_style ? 3 : 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        coll_counts_free(*out, *n);
        *out = NULL;
        *n = 0;
        return db_error(c, "counts");
    }
    return SBIR_OK;
}

int collection_image_counts(sbir_collection *c, coll_count **out, size_t *n) {
    return list_counts(c, "SELECT class,style,split,COUNT(*) FROM images GROUP BY 1,2,3 ORDER BY 1,2,3", 1, out, n);
}

int collection_sketch_counts(sbir_collection *c, coll_count **out, size_t *n) {
    return list_counts(c, "SELECT class,split,COUNT(*) FROM sketches GROUP BY 1,2 ORDER BY 1,2", 0, out, n);
}

void coll_counts_free(coll_count *a, size_t n) {
    for (size_t i = 0; a && i < n; i++) {
        free(a[i].class_name);
        free(a[i].style);
        free(a[i].split);
    }
    free(a);
}
