#include "util/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/common.h"

void progress_start(sbir_progress *p, const char *label, uint64_t total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total ? total : 1;
    p->t0 = sbir_now();
    p->tty = isatty(2);
    const char *q = getenv("SBIR_QUIET");
    p->quiet = q && *q && strcmp(q, "0") != 0;
    p->last_decile = -1;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void draw(sbir_progress *p, int final) {
    double el = sbir_now() - p->t0;
    double frac = (double)p->done / (double)p->total;
    if (frac > 1) frac = 1;
    uint64_t now_done = p->done > p->start ? p->done - p->start : 0;
    double rate = el > 0 ? (double)now_done / el : 0;
    double eta = rate > 0 ? (double)(p->total > p->done ? p->total - p->done : 0) / rate : -1;
    char e1[32], e2[32];
    fmt_time(e1, sizeof e1, el);
    fmt_time(e2, sizeof e2, final ? 0 : eta);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%-10s [%s] %3d%% %llu/%llu %.1f/s %s<%s %s\033[K", p->label, bar, (int)(frac * 100),
                (unsigned long long)p->done, (unsigned long long)p->total, rate, e1, e2, p->status);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %3d%% %llu/%llu %.1f/s elapsed %s eta %s %s\n", p->label, (int)(frac * 100),
                (unsigned long long)p->done, (unsigned long long)p->total, rate, e1, e2, p->status);
    }
    fflush(stderr);
}

void progress_resume(sbir_progress *p, uint64_t done) {
    p->done = p->start = done;
    p->last_decile = (int)(10.0 * (double)done / (double)p->total);
}

void progress_update(sbir_progress *p, uint64_t done, const char *fmt, ...) {
    p->done = done;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->status, sizeof p->status, fmt, ap);
        va_end(ap);
    }
    if (p->quiet) return;
    double t = sbir_now();
    if (p->tty) {
        if (t - p->last_draw < 0.1 && done < p->total) return;
        p->last_draw = t;
        draw(p, 0);
    } else {
        int decile = (int)(10.0 * (double)done / (double)p->total);
        if (decile <= p->last_decile) return;
        p->last_decile = decile;
        draw(p, 0);
    }
}

void progress_end(sbir_progress *p) {
    if (p->quiet) return;
    if (p->tty) draw(p, 1);
    else if (p->last_decile < 10) {
        p->last_decile = 10;
        draw(p, 1);
    }
}
