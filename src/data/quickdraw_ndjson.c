/* quickdraw_ndjson.c — raw and simplified ndjson, one drawing per line, parsed with cJSON.
 *
 * Lines are read through our own bounded buffer (not getline) so a hostile file with a huge line
 * costs at most max_line bytes; and before handing a line to cJSON we count its separators, because
 * cJSON allocates a ~64-byte node per value: a 16 MiB line of "0," would otherwise cost ~500 MB. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "data/quickdraw_internal.h"
#include "util/common.h"

#define CHUNK (64u << 10)

typedef struct {
    char *in;              /* read-ahead chunk */
    size_t in_pos, in_len;
    int eof;
    char *line;            /* current line, NUL-terminated */
    size_t line_len, line_cap;
    uint64_t line_no;
} ndjson_state;

/* Reads the next line into st->line (without the newline). 1: got one, 0: end of file. */
static int read_line(qd_reader *r, ndjson_state *st) {
    st->line_len = 0;
    int any = 0;
    for (;;) {
        if (st->in_pos == st->in_len) {
            if (st->eof) break;
            st->in_len = fread(st->in, 1, CHUNK, r->f);
            st->in_pos = 0;
            if (st->in_len == 0) {
                if (ferror(r->f)) return sbir_error("%s:%llu: read error", r->path, (unsigned long long)st->line_no + 1);
                st->eof = 1;
                break;
            }
        }
        any = 1;
        char *start = st->in + st->in_pos;
        char *nl = memchr(start, '\n', st->in_len - st->in_pos);
        size_t take = nl ? (size_t)(nl - start) : st->in_len - st->in_pos;
        if (st->line_len + take > r->opt.max_line)
            return sbir_error("%s:%llu: line is longer than the limit of %zu bytes", r->path,
                              (unsigned long long)st->line_no + 1, r->opt.max_line);
        if (st->line_len + take + 1 > st->line_cap) {
            size_t cap = st->line_cap ? st->line_cap : 4096;
            while (cap < st->line_len + take + 1) cap *= 2;
            st->line = reallocCheck(st->line, cap);
            st->line_cap = cap;
        }
        memcpy(st->line + st->line_len, start, take);
        st->line_len += take;
        st->in_pos += take;
        if (nl) {
            st->in_pos++; /* the newline */
            break;
        }
    }
    if (!any) return 0;
    st->line_no++;
    if (st->line_len && st->line[st->line_len - 1] == '\r') st->line_len--;
    st->line[st->line_len] = 0;
    return 1;
}


static int bad(qd_reader *r, ndjson_state *st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(qd_reader *r, ndjson_state *st, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sbir_error("%s:%llu: %s", r->path, (unsigned long long)st->line_no, msg);
}

static int copy_string(qd_reader *r, ndjson_state *st, const cJSON *o, const char *key, char *out, size_t n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return SBIR_OK;
    if (!cJSON_IsString(v)) return bad(r, st, "\"%s\" must be a string", key);
    size_t len = strlen(v->valuestring);
    if (len >= n) return bad(r, st, "\"%s\" is longer than %zu bytes", key, n - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v->valuestring[i] < 0x20) return bad(r, st, "\"%s\" contains a control character", key);
    memcpy(out, v->valuestring, len + 1);
    return SBIR_OK;
}

static int parse_key_id(qd_reader *r, ndjson_state *st, const cJSON *o, uint64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "key_id");
    *out = 0;
    if (!v || cJSON_IsNull(v)) return SBIR_OK;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        /* beyond 2^53 a JSON number no longer names one integer: Google writes key_id as a string */
        if (!(d >= 0 && d <= 9007199254740992.0) || d != floor(d))
            return bad(r, st, "\"key_id\" must be a non-negative integer below 2^53 (or a string of digits)");
        *out = (uint64_t)d;
        return SBIR_OK;
    }
    if (!cJSON_IsString(v)) return bad(r, st, "\"key_id\" must be a string of digits");
    const char *p = v->valuestring;
    if (!*p) return bad(r, st, "\"key_id\" is empty");
    uint64_t k = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p)) return bad(r, st, "\"key_id\" must be a string of digits");
        unsigned d = (unsigned)(*p - '0');
        if (k > (UINT64_MAX - d) / 10) return bad(r, st, "\"key_id\" does not fit in 64 bits");
        k = k * 10 + d;
    }
    *out = k;
    return SBIR_OK;
}

/* "2017-03-02 23:25:10.07453 UTC" (Google's form) or a number of Unix seconds. */
static int parse_timestamp(qd_reader *r, ndjson_state *st, const cJSON *o, int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
    *out = 0;
    if (!v || cJSON_IsNull(v)) return SBIR_OK;
    if (cJSON_IsNumber(v)) {
        if (!(v->valuedouble >= 0 && v->valuedouble < 1e13)) return bad(r, st, "\"timestamp\" out of range");
        *out = (int64_t)v->valuedouble;
        return SBIR_OK;
    }
    if (!cJSON_IsString(v)) return bad(r, st, "\"timestamp\" must be a string");
    struct tm tm = {0};
    int n = 0;
    if (sscanf(v->valuestring, "%4d-%2d-%2d%*[ T]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970 || tm.tm_year > 9999)
        return bad(r, st, "\"timestamp\" is not a date like \"2017-03-02 23:25:10 UTC\"");
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return SBIR_OK;
}

static int parse_line(qd_reader *r, ndjson_state *st, sbir_sketch *s) {
    /* Bound cJSON's node count (see the file comment): values <= separators + 1. */
    size_t seps = 0;
    for (size_t i = 0; i < st->line_len; i++) seps += st->line[i] == ',' || st->line[i] == '[';
    uint64_t budget = (uint64_t)r->opt.max_points * 3 + (uint64_t)r->opt.max_strokes * 4 + 4096;
    if (seps > budget)
        return bad(r, st, "too many values (%zu) for one drawing (limits: %u points, %u strokes)", seps,
                   r->opt.max_points, r->opt.max_strokes);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(st->line, st->line_len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t col = at && at >= st->line && at <= st->line + st->line_len ? (size_t)(at - st->line) + 1 : 0;
        return bad(r, st, "invalid JSON near column %zu", col);
    }
    int rc = SBIR_ERR;
    for (const char *p = end; p && *p; p++)
        if (!isspace((unsigned char)*p)) {
            bad(r, st, "unexpected text after the JSON object at column %zu", (size_t)(p - st->line) + 1);
            goto out;
        }
    if (!cJSON_IsObject(root)) {
        bad(r, st, "expected a JSON object (one drawing per line)");
        goto out;
    }
    char where[1100];
    snprintf(where, sizeof where, "%s:%llu", r->path, (unsigned long long)st->line_no);
    sketch_clear(s);
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(root, "recognized");
    if (rec && !cJSON_IsNull(rec)) {
        if (cJSON_IsBool(rec)) s->recognized = cJSON_IsTrue(rec);
        else if (cJSON_IsNumber(rec) && (rec->valuedouble == 0 || rec->valuedouble == 1)) s->recognized = (int)rec->valuedouble;
        else {
            bad(r, st, "\"recognized\" must be true or false");
            goto out;
        }
    }
    if (copy_string(r, st, root, "word", s->word, sizeof s->word) ||
        copy_string(r, st, root, "countrycode", s->countrycode, sizeof s->countrycode) ||
        parse_key_id(r, st, root, &s->key_id) || parse_timestamp(r, st, root, &s->timestamp) ||
        qd_drawing_from_cjson(cJSON_GetObjectItemCaseSensitive(root, "drawing"), &r->opt, where, s))
        goto out;
    rc = 1;
out:
    cJSON_Delete(root);
    return rc;
}

static int ndjson_next(qd_reader *r, sbir_sketch *s) {
    ndjson_state *st = r->impl;
    for (;;) {
        int rc = read_line(r, st);
        if (rc <= 0) return rc;
        size_t i = 0;
        while (i < st->line_len && isspace((unsigned char)st->line[i])) i++;
        if (i == st->line_len) continue; /* blank lines (a trailing newline, CRLF files) */
        if (memchr(st->line, 0, st->line_len)) return bad(r, st, "line contains a NUL byte");
        return parse_line(r, st, s);
    }
}

static void ndjson_close(qd_reader *r) {
    ndjson_state *st = r->impl;
    if (!st) return;
    free(st->in);
    free(st->line);
    free(st);
    r->impl = NULL;
}

int qd_ndjson_open(qd_reader *r) {
    ndjson_state *st = callocCheck(1, sizeof *st);
    st->in = mallocCheck(CHUNK);
    r->impl = st;
    r->next = ndjson_next;
    r->close = ndjson_close;
    return SBIR_OK;
}
