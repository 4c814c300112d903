/* bam_select.h — the BAM! label rule, as a row iterator over modules that also yields each module's src
 * URL: `sbir import bam` (import_bam.c) imports the selected rows, `sbir fetch bam` downloads them.
 *   crowd      crowd_labels rows with label 'positive' (any case) count;
 *   automatic  automatic_labels columns with value 'positive' (or '1') count;
 *   scores     scores columns >= threshold count; several resolve to the highest score;
 *   a mid is selected when it has exactly one positive medium among `media` and exactly one positive
 *   content among `contents` (crowd/automatic; more than one is "ambiguous"); names are accepted with
 *   or without their "media_"/"content_" prefix; NULL/0 lists mean the seed's 7 media and 5 contents.
 * Rows come in mid order, one per module (duplicate label rows collapsed). */
#ifndef SBIR_BAM_SELECT_H
#define SBIR_BAM_SELECT_H

#include <stdint.h>

#include "data/import_bam.h"

typedef struct {
    const char *db;
    import_bam_labels labels;
    double threshold;
    const char *const *media;
    int n_media;
    const char *const *contents;
    int n_contents;
} bam_select_opts;

typedef enum { BAM_SELECTED = 0, BAM_NO_MEDIUM, BAM_NO_CONTENT, BAM_AMBIGUOUS } bam_select_why;

typedef struct {
    long long mid;
    const char *src;  /* valid until the next call; NULL when the module has no src */
    bam_select_why why;
    int medium, content; /* indices into bam_select_media()/contents() when selected */
} bam_row;

typedef struct bam_select bam_select;

bam_select *bam_select_open(const bam_select_opts *o); /* NULL + sbir_error (names the db and what is missing) */
int bam_select_next(bam_select *s, bam_row *row);      /* 1 row, 0 end, SBIR_ERR */
int64_t bam_select_count(bam_select *s);               /* rows of modules */
int bam_select_n_media(const bam_select *s);
int bam_select_n_contents(const bam_select *s);
const char *bam_select_medium(const bam_select *s, int i);  /* "watercolor" */
const char *bam_select_content(const bam_select *s, int i); /* "cars" (BAM!'s word) */
void bam_select_close(bam_select *s);

#endif
