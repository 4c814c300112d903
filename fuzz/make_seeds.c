/* make_seeds.c — writes the generated seed corpora for the fuzz targets: `make_seeds OUT [DATA]` fills
 * OUT/<target>/ with small valid inputs of every format, so the fuzzers start from files that pass the
 * first checks and mutate their way into the later ones.
 *
 * Two kinds of seeds:
 *   - synthetic ones made with the project's own writers (a tiny safetensors file, a tiny model and
 *     checkpoint, index files of each element type, a collection, a BAM!-shaped database, HTTP
 *     requests carrying a PNG sketch), always;
 *   - snippets of the real data in DATA (default ../shared/data, skipped when absent): the first lines
 *     of each Quick, Draw! ndjson file, drawings rewritten as .bin, .npy files cut to a few rows, a few
 *     small PACS images, and JPEG/PNG variants (progressive, greyscale, CMYK, restart markers,
 *     palette + tRNS, 16-bit, grey + alpha, interlaced) re-encoded from a downscaled BAM! image.
 * Nothing here is committed: the repository only holds hand-written seeds (fuzz/corpus/) because the
 * data must not be copied into it. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <png.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/collection.h"
#include "data/image.h"
#include "data/quickdraw.h"
#include "index/index_file.h"
#include "model/model.h"
#include "nn/safetensors.h"
#include "util/atomic_file.h"
#include "util/common.h"

static const char *g_out;

static void die(const char *what) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, sbir_last_error());
    exit(1);
}

/* OUT/target/name; creates OUT/target. */
static const char *seed_path(const char *target, const char *name) {
    static char p[4096];
    snprintf(p, sizeof p, "%s/%s", g_out, target);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", g_out, target, name);
    return p;
}

static void write_seed(const char *target, const char *name, const void *data, size_t n) {
    const char *p = seed_path(target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
        perror(p);
        exit(1);
    }
}

/* ---------------- synthetic seeds ---------------- */

static void seed_safetensors(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {-1, 0.5f, 7};
    st_tensor t[2] = {{"layer.weight", 2, {2, 3}, a}, {"layer.bias", 1, {3}, b}};
    const char *meta[] = {"format", "test", "note", "two tensors"};
    if (safetensors_write(seed_path("fuzz_safetensors", "two.safetensors"), t, 2, meta, 2)) die("safetensors");
    if (safetensors_write(seed_path("fuzz_safetensors", "one.safetensors"), t + 1, 1, NULL, 0)) die("safetensors");
}

static void seed_models(void) {
    char *classes[] = {"cat", "dog"}, *styles[] = {"comic", "watercolor"};
    sbir_model *m = model_create(8, 2, classes, 2, styles, "c4,p,g,l4", "c2,g,l3", 1, NET_BACKEND_REF);
    if (!m) die("model_create");
    if (model_save(m, seed_path("fuzz_model", "tiny.model"), NULL, 0, NULL, 0)) die("model_save");
    float opt[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    model_extra ex = {"opt.momentum", opt, 5};
    const char *meta[] = {"train_step", "12", "train_phase", "structure"};
    if (model_save(m, seed_path("fuzz_model", "checkpoint.model"), &ex, 1, meta, 2)) die("model_save");
    /* a model is also a safetensors file */
    if (model_save(m, seed_path("fuzz_safetensors", "tiny.model"), NULL, 0, NULL, 0)) die("model_save");
    model_free(m);
}

static void seed_indexes(void) {
    enum { N = 5, DC = 4, DS = 3 };
    float c[N * DC], s[N * DS];
    for (int i = 0; i < N * DC; i++) c[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < N * DS; i++) s[i] = (float)((i * 13) % 7) / 7.0f - 0.5f;
    sbir_index_item items[N];
    for (int i = 0; i < N; i++) items[i] = (sbir_index_item){100 + i, i % 2, i % 3 == 2 ? -1 : i % 2};
    const char *cls[] = {"cat", "dog"}, *sty[] = {"comic", "oilpaint"};
    const char *paths[N] = {"a/1.jpg", "a/2.jpg", "b/3.png", "\xc3\xa9t\xc3\xa9.jpg", "c/5.jpg"};
    struct {
        const char *name;
        sbir_elem elem;
        int pre, ds, with_paths;
    } v[] = {{"f32_pre_paths.idx", SBIR_ELEM_F32, 1, DS, 1}, {"f16_pre.idx", SBIR_ELEM_F16, 1, DS, 0},
             {"i8.idx", SBIR_ELEM_I8, 0, DS, 1},             {"f32_nostyle.idx", SBIR_ELEM_F32, 0, 0, 0}};
    for (size_t k = 0; k < SBIR_ARRAY_LEN(v); k++) {
        sbir_index_meta meta = {v[k].elem, v[k].pre, "0123456789abcdef", 2, cls, 2, sty};
        sbir_index_rows rows = {N, DC, v[k].ds, c, s, items, v[k].with_paths ? paths : NULL};
        if (index_write(seed_path("fuzz_index", v[k].name), &meta, &rows)) die("index_write");
    }
}

static void seed_collection(void) {
    const char *p = seed_path("fuzz_collection", "tiny.sqlite");
    remove(p);
    sbir_collection *c = collection_create(p, NULL);
    if (!c) die("collection_create");
    if (collection_add_image(c, "/nonexistent/photo/cat/1.jpg", "cat", "photo", 20, 12, "01234567", NULL) ||
        collection_add_image(c, "/nonexistent/comic/dog/2.png", "dog", "comic", 0, 0, NULL, NULL) ||
        collection_add_sketch(c, "cat", "quickdraw", "5201136883597312", "[[[0,10,20],[0,5,0]],[[3,4],[9,9]]]", NULL,
                              NULL) ||
        collection_add_sketch(c, "dog", "pacs", NULL, NULL, "/nonexistent/sketch/dog/1.png", NULL) ||
        collection_set_meta(c, "note", "seed")) {
        collection_close(c);
        die("collection_add");
    }
    if (collection_commit(c)) die("collection_commit");
}

static void seed_bam(void) {
    const char *p = seed_path("fuzz_import_bam", "tiny_bam.sqlite");
    remove(p);
    sqlite3 *db;
    if (sqlite3_open(p, &db) != SQLITE_OK) die("sqlite3_open");
    const char *sql =
        "CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text);"
        "INSERT INTO modules VALUES(1,10,'http://x/1.jpg',0,'cc'),(2,10,'http://x/2.jpg',0,'cc'),"
        "(3,11,'http://x/3.jpg',0,'cc'),(4,11,'http://x/4.jpg',1,'cc');"
        "CREATE TABLE scores(mid int, content_bicycle real, content_bird real, content_building real,"
        " content_cars real, content_cat real, content_dog real, content_flower real, content_people real,"
        " content_tree real, emotion_gloomy real, emotion_happy real, emotion_peaceful real, emotion_scary real,"
        " media_3d_graphics real, media_comic real, media_graphite real, media_oilpaint real, media_pen_ink real,"
        " media_vectorart real, media_watercolor real);"
        "INSERT INTO scores VALUES(1,0.1,0.2,0,0.9,0.1,0,0,0,0,0,0,0,0,0.1,0.8,0,0,0,0,0.2),"
        "(2,0,0,0,0,0.7,0.6,0,0,0,0,0,0,0,0,0,0,0,0,0,0.95),(3,0,0.9,0,0,0,0,0,0,0,0,0,0,0,0,0,0.7,0,0,0,0);"
        "CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute));"
        "INSERT INTO crowd_labels VALUES(1,'media_comic','positive'),(1,'content_cars','positive'),"
        "(2,'media_watercolor','positive'),(2,'content_cat','positive'),(2,'content_dog','unsure'),"
        "(3,'media_graphite','positive'),(3,'content_bird','positive'),(4,'media_oilpaint','negative');"
        "CREATE TABLE automatic_labels(mid int, media_3d_graphics text, media_comic text, media_graphite text,"
        " media_oilpaint text, media_pen_ink text, media_vectorart text, media_watercolor text,"
        " content_bicycle text, content_bird text, content_cars text, content_cat text, content_dog text);"
        "INSERT INTO automatic_labels VALUES(1,'negative','positive','negative','negative','negative','negative',"
        "'negative','negative','negative','positive','negative','negative'),"
        "(2,'negative','negative','negative','negative','negative','negative','positive','negative','negative',"
        "'negative','positive','negative');";
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "make_seeds: bam: %s\n", err);
        exit(1);
    }
    sqlite3_close(db);
}

/* Requests for fuzz_serve_http with a real PNG sketch: as a raw image/png body and as the data URLs of
 * a JSON search (sketch_png, style_images). The hand-written requests are in fuzz/corpus/. */
static void seed_serve_http(void) {
    enum { S = 24 };
    uint8_t px[S * S];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) px[y * S + x] = (x == y || x == S - 1 - y || y == S / 2) ? 0 : 255;
    uint8_t *png;
    size_t n;
    if (image_encode_png(px, S, S, 1, &png, &n)) die("image_encode_png");
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *b64 = mallocCheck(4 * (n / 3 + 1) + 1), *w = b64;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)png[i] << 16 | (i + 1 < n ? (uint32_t)png[i + 1] << 8 : 0) | (i + 2 < n ? png[i + 2] : 0);
        *w++ = t[v >> 18 & 63], *w++ = t[v >> 12 & 63];
        *w++ = i + 1 < n ? t[v >> 6 & 63] : '=';
        *w++ = i + 2 < n ? t[v & 63] : '=';
    }
    *w = 0;
    size_t cap = 2 * n + 4 * strlen(b64) + 1024, k;
    char *req = mallocCheck(cap);
    k = (size_t)snprintf(req, cap,
                         "POST /api/search?style=blue&k=5 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         n);
    memcpy(req + k, png, n);
    write_seed("fuzz_serve_http", "raw_png.http", req, k + n);
    char body[8192];
    snprintf(body, sizeof body,
             "{\"sketch_png\": \"data:image/png;base64,%s\", \"style_images\": [\"data:image/png;base64,%s\"], "
             "\"k\": 4}",
             b64, b64);
    k = (size_t)snprintf(req, cap,
                         "POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         strlen(body), body);
    write_seed("fuzz_serve_http", "data_urls.http", req, k);
    free(req);
    free(b64);
    free(png);
}

/* ---------------- seeds from the real data ---------------- */

/* The first n lines of a text file. */
static void seed_lines(const char *from, int n, const char *target, const char *name) {
    FILE *f = fopen(from, "rb");
    if (!f) return;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c, lines = 0;
    while (lines < n && (c = fgetc(f)) != EOF) {
        if (len + 1 >= cap) buf = reallocCheck(buf, cap = cap ? 2 * cap : 4096);
        buf[len++] = (char)c;
        if (c == '\n') lines++;
    }
    fclose(f);
    if (len) write_seed(target, name, buf, len);
    free(buf);
}

/* ndjson snippets, the same drawings as .bin, and their "drawing" JSON. */
static void seed_quickdraw(const char *data) {
    static const char *classes[] = {"bicycle", "bird", "car", "cat", "dog"};
    char from[4096], name[128];
    for (size_t k = 0; k < SBIR_ARRAY_LEN(classes); k++) {
        snprintf(from, sizeof from, "%s/quickdraw/simplified/%s.ndjson", data, classes[k]);
        snprintf(name, sizeof name, "simplified_%s.ndjson", classes[k]);
        seed_lines(from, 3, "fuzz_qd_ndjson", name);
        qd_reader *r = qd_open(from, NULL);
        if (r) {
            snprintf(name, sizeof name, "%s.bin", classes[k]);
            FILE *bin = fopen(seed_path("fuzz_qd_bin", name), "wb");
            sbir_sketch s;
            sketch_init(&s);
            for (int i = 0; i < 3 && qd_next(r, &s) == 1; i++) {
                if (bin && qd_bin_write(bin, &s)) die("qd_bin_write");
                char *json = qd_drawing_to_json(&s);
                snprintf(name, sizeof name, "simplified_%s_%d.json", classes[k], i);
                write_seed("fuzz_qd_drawing_json", name, json, strlen(json));
                free(json);
            }
            if (bin) fclose(bin);
            sketch_free(&s);
            qd_close(r);
        }
        snprintf(from, sizeof from, "%s/quickdraw/raw/%s.ndjson", data, classes[k]);
        snprintf(name, sizeof name, "raw_%s.ndjson", classes[k]);
        seed_lines(from, 2, "fuzz_qd_ndjson", name);
        if (k == 3 && (r = qd_open(from, NULL))) {
            sbir_sketch s;
            sketch_init(&s);
            if (qd_next(r, &s) == 1) {
                char *json = qd_drawing_to_json(&s);
                write_seed("fuzz_qd_drawing_json", "raw_cat.json", json, strlen(json));
                free(json);
            }
            sketch_free(&s);
            qd_close(r);
        }
    }
    /* .npy: the real header rewritten for 3 rows (v1.0) and 2 rows as (2, 28, 28) (v2.0), plus rows */
    static const char *npys[] = {"cat", "bicycle"};
    for (size_t k = 0; k < SBIR_ARRAY_LEN(npys); k++) {
        snprintf(from, sizeof from, "%s/quickdraw/bitmap/%s.npy", data, npys[k]);
        FILE *f = fopen(from, "rb");
        if (!f) continue;
        unsigned char head[128], rows[3 * 784];
        if (fread(head, 1, 128, f) != 128 || fseek(f, 128 + 784 * 40, SEEK_SET) || fread(rows, 1, sizeof rows, f) != sizeof rows) {
            fclose(f);
            continue;
        }
        fclose(f);
        unsigned char out[128 + sizeof rows];
        const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }";
        memcpy(out, "\x93NUMPY\x01\x00\x76\x00", 10);
        memset(out + 10, ' ', 118);
        memcpy(out + 10, dict, strlen(dict));
        out[127] = '\n';
        memcpy(out + 128, rows, sizeof rows);
        snprintf(name, sizeof name, "%s_v1.npy", npys[k]);
        write_seed("fuzz_qd_npy", name, out, sizeof out);
        dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 28, 28), }";
        memcpy(out, "\x93NUMPY\x02\x00\x74\x00\x00\x00", 12);
        memset(out + 12, ' ', 116);
        memcpy(out + 12, dict, strlen(dict));
        out[127] = '\n';
        snprintf(name, sizeof name, "%s_v2.npy", npys[k]);
        write_seed("fuzz_qd_npy", name, out, 128 + 2 * 784);
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first few (by name) files of a folder that are under max_bytes. */
static void seed_small_files(const char *dir, int n, size_t max_bytes, const char *target, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[4096];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 4096)
        if (e->d_name[0] != '.') names[k++] = strdupCheck(e->d_name);
    closedir(d);
    qsort(names, (size_t)k, sizeof names[0], cmp_str);
    int taken = 0;
    for (int i = 0; i < k; i++) {
        char p[4096], name[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unsigned char *buf;
        size_t len;
        if (taken < n && read_file_all(p, max_bytes, &buf, &len) == SBIR_OK) {
            snprintf(name, sizeof name, "%s_%s", prefix, names[i]);
            write_seed(target, name, buf, len);
            free(buf);
            taken++;
        }
        free(names[i]);
    }
}

static void jpeg_variant(const sbir_image *im, const char *name, int grey, int cmyk, int progressive,
                         int restart, int quality, int h_samp) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    jpeg_mem_dest(&c, &mem, &mem_len);
    c.image_width = (JDIMENSION)im->w, c.image_height = (JDIMENSION)im->h;
    c.input_components = grey ? 1 : cmyk ? 4 : 3;
    c.in_color_space = grey ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    if (restart) c.restart_interval = (unsigned)restart;
    if (!grey && !cmyk) c.comp_info[0].h_samp_factor = h_samp, c.comp_info[0].v_samp_factor = h_samp;
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = mallocCheck((size_t)im->w * 4);
    while (c.next_scanline < c.image_height) {
        const unsigned char *src = im->rgb + (size_t)c.next_scanline * im->w * 3;
        for (int x = 0; x < im->w; x++) {
            if (grey) row[x] = src[3 * x + 1];
            else if (cmyk) for (int k = 0; k < 4; k++) row[4 * x + k] = (unsigned char)(255 - src[3 * x + (k % 3)]);
            else memcpy(row + 3 * x, src + 3 * x, 3);
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    write_seed("fuzz_image", name, mem, mem_len);
    free(row);
    free(mem);
}

static void png_write_cb(png_structp p, png_bytep data, png_size_t n) {
    FILE *f = png_get_io_ptr(p);
    if (fwrite(data, 1, n, f) != n) png_error(p, "write");
}
static void png_flush_cb(png_structp p) { (void)p; }

/* PNG colour types and depths the project's own writer never makes. */
static void png_variant(const sbir_image *im, const char *name, int color_type, int depth, int interlace) {
    FILE *f = fopen(seed_path("fuzz_image", name), "wb");
    if (!f) return;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        fclose(f);
        return;
    }
    png_set_write_fn(p, f, png_write_cb, png_flush_cb);
    png_set_IHDR(p, info, (png_uint_32)im->w, (png_uint_32)im->h, depth, color_type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    int channels = color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_PALETTE ? 1
                   : color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                 ? 2
                   : color_type == PNG_COLOR_TYPE_RGB                                        ? 3
                                                                                             : 4;
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        png_byte trans[16];
        for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 8)}, trans[i] = (png_byte)(i * 17);
        png_set_PLTE(p, info, pal, 16);
        png_set_tRNS(p, info, trans, 16, NULL);
    }
    png_write_info(p, info);
    int bytes = depth == 16 ? 2 : 1;
    size_t row_bytes = depth < 8 ? ((size_t)im->w * depth + 7) / 8 : (size_t)im->w * channels * bytes;
    unsigned char *rows = callocCheck((size_t)im->h, row_bytes);
    png_bytep *rp = mallocCheck(sizeof(png_bytep) * (size_t)im->h);
    for (int y = 0; y < im->h; y++) {
        unsigned char *r = rows + row_bytes * y;
        rp[y] = r;
        for (int x = 0; x < im->w; x++) {
            const unsigned char *s = im->rgb + ((size_t)y * im->w + x) * 3;
            if (depth < 8) {
                int v = color_type == PNG_COLOR_TYPE_PALETTE ? s[0] >> 4 : s[1] >> (8 - depth);
                int per = 8 / depth, shift = 8 - depth * (x % per + 1);
                r[x / per] |= (unsigned char)(v << shift);
                continue;
            }
            unsigned char v[4] = {s[0], s[1], s[2], (unsigned char)(x * 255 / (im->w > 1 ? im->w - 1 : 1))};
            if (channels <= 2) v[0] = s[1], v[1] = v[3];
            for (int k = 0; k < channels; k++)
                for (int b = 0; b < bytes; b++) r[((size_t)x * channels + k) * bytes + b] = v[k];
        }
    }
    png_write_image(p, rp);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
    free(rows);
    free(rp);
}

static void seed_images(const char *data) {
    static const char *styles[] = {"art_painting", "cartoon", "photo", "sketch"};
    char dir[4096];
    for (size_t k = 0; k < SBIR_ARRAY_LEN(styles); k++) {
        snprintf(dir, sizeof dir, "%s/pacs/%s/dog", data, styles[k]);
        seed_small_files(dir, 2, 12000, "fuzz_image", styles[k]);
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/bam/watercolor_142090457.jpg", data);
    sbir_image full, im;
    if (image_decode_file(p, 64, &full) != SBIR_OK) return;
    if (image_resize(&full, 40, 28, &im) != SBIR_OK) die("image_resize");
    image_free(&full);
    jpeg_variant(&im, "bam_baseline420.jpg", 0, 0, 0, 0, 75, 2);
    jpeg_variant(&im, "bam_444_q95.jpg", 0, 0, 0, 0, 95, 1);
    jpeg_variant(&im, "bam_progressive.jpg", 0, 0, 1, 0, 80, 2);
    jpeg_variant(&im, "bam_grey.jpg", 1, 0, 0, 0, 70, 1);
    jpeg_variant(&im, "bam_cmyk.jpg", 0, 1, 0, 0, 70, 1);
    jpeg_variant(&im, "bam_restart.jpg", 0, 0, 0, 2, 60, 2);
    png_variant(&im, "bam_rgb8.png", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_NONE);
    png_variant(&im, "bam_rgb16_adam7.png", PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_ADAM7);
    png_variant(&im, "bam_rgba8.png", PNG_COLOR_TYPE_RGB_ALPHA, 8, PNG_INTERLACE_NONE);
    png_variant(&im, "bam_grey_alpha.png", PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE);
    png_variant(&im, "bam_grey16.png", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE);
    png_variant(&im, "bam_grey1.png", PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE);
    png_variant(&im, "bam_palette4_trns.png", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_ADAM7);
    image_free(&im);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: make_seeds OUT [DATA]\n");
        return 2;
    }
    g_out = argv[1];
    if (mkdir(g_out, 0755) && errno != EEXIST) {
        perror(g_out);
        return 1;
    }
    setenv("SBIR_QUIET", "1", 1);
    seed_safetensors();
    seed_models();
    seed_indexes();
    seed_collection();
    seed_bam();
    seed_serve_http();
    const char *data = argc > 2 ? argv[2] : "../shared/data";
    char readme[4096];
    struct stat st;
    snprintf(readme, sizeof readme, "%s/README.md", data);
    if (stat(readme, &st) == 0) {
        seed_quickdraw(data);
        seed_images(data);
    } else {
        fprintf(stderr, "make_seeds: %s absent: only synthetic seeds\n", data);
    }
    return 0;
}
