/* import_bam.c — see import_bam.h. Which mids qualify is bam_select's rule (shared with sbir fetch
 * bam); this file looks up each selected image, checks it and adds it to the collection. */
#include "data/import_bam.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/bam_select.h"
#include "data/collection.h"
#include "data/image.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/progress.h"

const char *const import_bam_default_media[7] = {"3d_graphics", "comic",     "graphite",  "oilpaint",
                                                 "pen_ink",     "vectorart", "watercolor"};
const char *const import_bam_default_contents[5] = {"bicycle", "bird", "cars", "cat", "dog"};

const char *import_bam_class_name(const char *content) {
    if (strcmp(content, "cars") == 0) return "car";
    return content;
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

/* Adds one selected mid's image, or says which report bucket it falls in. */
static int64_t *import_one(bam_select *s, const bam_row *row, const import_bam_opts *o, sbir_collection *c,
                           import_bam_report *r, int *failed) {
    char path[4096];
    if (!find_image(o->images, row->mid, path, sizeof path)) return &r->no_file;
    unsigned char *buf;
    size_t n;
    int w = 0, h = 0;
    if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) {
        add_example(r, sbir_last_error());
        return &r->not_image;
    }
    int64_t *bucket = NULL;
    if (image_probe_mem(buf, n, path, &w, &h, NULL) ||
        ((uint64_t)w * (uint64_t)h > image_max_pixels() &&
         sbir_error("%s: %dx%d image exceeds the limit of %llu pixels", path, w, h,
                    (unsigned long long)image_max_pixels()))) {
        add_example(r, sbir_last_error());
        bucket = &r->not_image;
    } else {
        char crc[9];
        snprintf(crc, sizeof crc, "%08x", sbir_crc32(0, buf, n));
        *failed = collection_add_image(c, path, import_bam_class_name(bam_select_content(s, row->content)),
                                       bam_select_medium(s, row->medium), w, h, crc, NULL);
        r->imported++;
    }
    free(buf);
    return bucket;
}

int import_bam(const import_bam_opts *o, import_bam_report *r) {
    memset(r, 0, sizeof *r);
    double t0 = sbir_now();
    bam_select_opts so = {o->db, o->labels, o->threshold, o->media, o->n_media, o->contents, o->n_contents};
    bam_select *s = bam_select_open(&so);
    if (!s) return SBIR_ERR;
    struct stat st;
    if (stat(o->images, &st) != 0 || !S_ISDIR(st.st_mode)) {
        bam_select_close(s);
        return sbir_error("%s: not a directory", o->images);
    }
    int rc = SBIR_OK;
    sbir_collection *c = collection_create(o->out, o->images);
    if (!c) rc = SBIR_ERR;
    if (rc == SBIR_OK) {
        const char *lab = o->labels == IMPORT_BAM_CROWD ? "crowd" : o->labels == IMPORT_BAM_AUTOMATIC ? "automatic" : "scores";
        rc = collection_set_meta(c, "import", "bam");
        if (rc == SBIR_OK) rc = collection_set_meta(c, "bam_labels", lab);
    }
    sbir_progress prog;
    progress_start(&prog, "import", (uint64_t)bam_select_count(s));
    bam_row row;
    int k = 0;
    while (rc == SBIR_OK && (k = bam_select_next(s, &row)) == 1) {
        r->mids++;
        int64_t *bucket = row.why == BAM_NO_MEDIUM    ? &r->no_medium
                          : row.why == BAM_NO_CONTENT ? &r->no_content
                          : row.why == BAM_AMBIGUOUS  ? &r->ambiguous
                                                      : import_one(s, &row, o, c, r, &rc);
        if (bucket) (*bucket)++;
        if ((r->mids & 255) == 0) progress_update(&prog, (uint64_t)r->mids, "%lld imported", (long long)r->imported);
    }
    if (k == SBIR_ERR) rc = SBIR_ERR;
    progress_update(&prog, (uint64_t)r->mids, "%lld imported", (long long)r->imported);
    progress_end(&prog);
    bam_select_close(s);
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
