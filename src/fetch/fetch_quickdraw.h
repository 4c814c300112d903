/* fetch_quickdraw.h — `sbir fetch quickdraw`: Google's per-class Quick, Draw! files.
 *
 *   <base>/simplified/<class>.ndjson   <base>/raw/<class>.ndjson
 *   <base>/numpy_bitmap/<class>.npy    <base>/binary/<class>.bin
 * with <base> = FETCH_QD_DEFAULT_BASE (Google's public bucket) or a mirror, and the class spelled as
 * the bucket spells it, percent-encoded ("The Eiffel Tower" -> "The%20Eiffel%20Tower"). Each file is
 * streamed to DIR/<class>.<ext>.part (resumed with a Range request after an interruption), its size
 * checked against what the server announced, its first drawing read to prove it is the format asked
 * for (a mirror's HTML error page is not), then renamed to DIR/<class>.<ext> — or, with max_per_class,
 * trimmed to its first N drawings (fetch/qd_trim.h). A class whose file is already in DIR is skipped. */
#ifndef SBIR_FETCH_QUICKDRAW_H
#define SBIR_FETCH_QUICKDRAW_H

#include <signal.h>
#include <stdint.h>

#define FETCH_QD_DEFAULT_BASE "https://storage.googleapis.com/quickdraw_dataset/full"

typedef enum { QD_FETCH_SIMPLIFIED = 0, QD_FETCH_RAW, QD_FETCH_BITMAP, QD_FETCH_BINARY } qd_fetch_format;

typedef struct {
    const char *const *classes;
    int n_classes;
    qd_fetch_format format;
    const char *out;
    const char *base_url;  /* NULL: FETCH_QD_DEFAULT_BASE */
    int64_t max_per_class; /* 0: keep every drawing */
    int jobs;              /* files at once (default 4) */
    int retries;           /* default 5 */
    double backoff_s;      /* default 1 */
    double stall_s;        /* give up on a connection silent this long (default 60) */
    uint64_t max_bytes;    /* largest accepted file (default 8 GiB) */
    int progress;
    volatile sig_atomic_t *stop;
} fetch_qd_opts;

typedef struct {
    int classes, downloaded, present, failed;
    uint64_t bytes;
    char examples[8][400];
    int n_examples;
    double seconds;
} fetch_qd_report;

void fetch_qd_opts_default(fetch_qd_opts *o);
/* "simplified", "raw", "bitmap" (or "numpy_bitmap", "npy"), "binary" (or "bin"). */
int fetch_qd_format_parse(const char *s, qd_fetch_format *f);
/* Local file name of a class: "<class>.<ext>" (SBIR_ERR for names that are not plain file names). */
int fetch_qd_file_name(const char *cls, qd_fetch_format f, char *out, size_t cap);
/* The URL of a class's file under base. */
int fetch_qd_url(const char *base, const char *cls, qd_fetch_format f, char *out, size_t cap);
/* SBIR_ERR when a class could not be fetched (after the others were tried) or the run could not start. */
int fetch_quickdraw(const fetch_qd_opts *o, fetch_qd_report *r);

#endif
