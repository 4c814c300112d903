/* image_jpeg.c — JPEG decoding through libjpeg-turbo, from memory, with DCT-domain downscaling.
 *
 * libjpeg's default error handler calls exit(); ours longjmps back with the formatted message. Its
 * "corrupt data" warnings (premature end of file, bad Huffman codes, markers inside entropy data) are
 * promoted to errors too: libjpeg would otherwise fill the missing part with grey and return success. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
/* jpeglib.h needs FILE and size_t declared first. */
#include <jpeglib.h>
#include <jerror.h>

#include "data/image.h"
#include "util/common.h"

/* A progressive JPEG may legally hold thousands of tiny scans, each a full pass over the coefficients:
 * a small file can then take minutes to decode. Real encoders use about 10. */
#define JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr pub; /* first: libjpeg casts cinfo->err to this */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr_mgr;

static void on_error_exit(j_common_ptr cinfo) {
    jerr_mgr *e = (jerr_mgr *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    if (level != -1) return; /* trace messages */
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF || code == JWRN_HUFF_BAD_CODE || code == JWRN_HIT_MARKER ||
        code == JWRN_MUST_RESYNC || code == JWRN_NOT_SEQUENTIAL || code == JWRN_TOO_MUCH_DATA)
        on_error_exit(cinfo);
    cinfo->err->num_warnings++; /* benign (extraneous bytes, odd JFIF version...): keep going */
}

static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jerr_mgr *e = (jerr_mgr *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void setup(struct jpeg_decompress_struct *cinfo, jerr_mgr *err, struct jpeg_progress_mgr *prog) {
    cinfo->err = jpeg_std_error(&err->pub);
    err->pub.error_exit = on_error_exit;
    err->pub.emit_message = on_emit_message;
    err->msg[0] = 0;
    jpeg_create_decompress(cinfo);
    prog->progress_monitor = on_progress;
    cinfo->progress = prog;
    /* Bound libjpeg's own working memory (coefficient buffers of progressive files). */
    cinfo->mem->max_memory_to_use = 1024L << 20;
}

int image_jpeg_probe(const void *data, size_t n, const char *name, int *w, int *h) {
    struct jpeg_decompress_struct cinfo;
    jerr_mgr err;
    struct jpeg_progress_mgr prog;
    setup(&cinfo, &err, &prog);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return sbir_error("%s: JPEG: %s", name, err.msg);
    }
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    *w = (int)cinfo.image_width;
    *h = (int)cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return SBIR_OK;
}

/* Smallest DCT scale num/8 whose output keeps the longer side >= min_side. Only 1/8, 2/8 and 4/8:
 * libjpeg-turbo has SIMD inverse DCTs for those (and 8/8); the other scales run plain C code that is
 * slower than a full decode for small images. */
int image_jpeg_scale_num(long longer, int min_side) {
    if (min_side <= 0) return 8;
    for (int num = 1; num < 8; num *= 2)
        if ((longer * num + 7) / 8 >= min_side) return num;
    return 8;
}

int image_jpeg_decode(const void *data, size_t n, const char *name, int min_side, sbir_image *out) {
    struct jpeg_decompress_struct cinfo;
    jerr_mgr err;
    struct jpeg_progress_mgr prog;
    /* Written between setjmp and a possible longjmp: must be volatile to survive it. */
    uint8_t *volatile pix = NULL;
    JSAMPLE *volatile row = NULL;
    memset(out, 0, sizeof *out);
    setup(&cinfo, &err, &prog);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pix);
        free(row);
        return sbir_error("%s: JPEG: %s", name, err.msg);
    }
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    uint64_t npix = (uint64_t)cinfo.image_width * cinfo.image_height;
    if (npix == 0 || npix > image_max_pixels()) {
        jpeg_destroy_decompress(&cinfo);
        return sbir_error("%s: JPEG: %ux%u image exceeds the limit of %llu pixels", name, cinfo.image_width,
                          cinfo.image_height, (unsigned long long)image_max_pixels());
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    long longer = (long)SBIR_MAX(cinfo.image_width, cinfo.image_height);
    cinfo.scale_num = (unsigned)image_jpeg_scale_num(longer, min_side);
    cinfo.scale_denom = 8;
    jpeg_start_decompress(&cinfo);
    int W = (int)cinfo.output_width, H = (int)cinfo.output_height, C = cinfo.output_components;
    if (C != (cmyk ? 4 : 3)) {
        snprintf(err.msg, sizeof err.msg, "unexpected %d output components", C);
        longjmp(err.jump, 1);
    }
    pix = mallocCheck((size_t)W * H * 3);
    row = mallocCheck((size_t)W * C);
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pix + (size_t)cinfo.output_scanline * W * 3;
        JSAMPROW rows[1] = {cmyk ? row : dst};
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(err.msg, sizeof err.msg, "decoder made no progress");
            longjmp(err.jump, 1);
        }
        if (cmyk) {
            /* Adobe writes CMYK inverted (0 = full ink), which is what nearly every CMYK JPEG is. */
            int inverted = cinfo.saw_Adobe_marker;
            for (int x = 0; x < W; x++) {
                int k = row[4 * x + 3];
                for (int ch = 0; ch < 3; ch++) {
                    int v = row[4 * x + ch];
                    dst[3 * x + ch] = inverted ? (uint8_t)((v * k + 127) / 255)
                                               : (uint8_t)(((255 - v) * (255 - k) + 127) / 255);
                }
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->w = W;
    out->h = H;
    out->rgb = pix;
    return SBIR_OK;
}
