/* routes.c — which route a request is, and the GET routes: the page, styles, images, health. These
 * run on the I/O threads; they read files and decode at most one image for a thumbnail, and never
 * touch a network (only the workers do). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/image.h"
#include "serve/server_internal.h"
#include "serve/web_assets.h"
#include "util/common.h"

#define IMAGE_PREFIX "/api/image/"
#define MAX_IMAGE_FILE ((off_t)64 << 20) /* larger gallery files are not served */

static const web_asset *find_asset(const char *url) {
    if (strcmp(url, "/") == 0) url = "/index.html";
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].path, url) == 0) return &web_assets[i];
    return NULL;
}

int route_of(const char *method, const char *url, int *method_ok) {
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int route = ROUTE_NONE;
    if (strcmp(url, "/api/search") == 0) route = ROUTE_SEARCH;
    else if (strcmp(url, "/api/styles") == 0) route = ROUTE_STYLES;
    else if (strcmp(url, "/healthz") == 0) route = ROUTE_HEALTH;
    else if (strncmp(url, IMAGE_PREFIX, strlen(IMAGE_PREFIX)) == 0) route = ROUTE_IMAGE;
    else if (find_asset(url)) route = ROUTE_ASSET;
    *method_ok = route == ROUTE_SEARCH ? strcmp(method, "POST") == 0 : get;
    return route;
}

/* "123" -> 123; anything but 1-18 decimal digits (signs, dots, slashes, %-escapes) is refused, so
 * an image URL can never name a path. */
static int parse_id(const char *s, int64_t *id) {
    size_t n = strlen(s);
    if (n < 1 || n > 18) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *id = v;
    return 0;
}

static struct MHD_Response *image_thumb(srv *s, const char *path, int size, unsigned *status) {
    sbir_image im = {0}, fit = {0};
    int w, h;
    image_format fmt;
    if (image_probe_file(path, &w, &h, &fmt) != SBIR_OK) {
        *status = MHD_HTTP_NOT_FOUND;
        return reply_error(*status, "the image file cannot be read");
    }
    if ((uint64_t)w * (uint64_t)h > s->o.max_pixels) {
        *status = MHD_HTTP_CONTENT_TOO_LARGE;
        return reply_error(*status, "the image has more pixels than this server decodes");
    }
    uint8_t *png = NULL;
    size_t len = 0;
    int ok = image_decode_file(path, size, &im) == SBIR_OK && image_fit(&im, size, IMAGE_FIT_PAD, &fit) == SBIR_OK &&
             image_encode_png(fit.rgb, size, size, 3, &png, &len) == SBIR_OK;
    image_free(&im);
    image_free(&fit);
    if (!ok) {
        free(png);
        *status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        return reply_error(*status, "the image file cannot be decoded");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, png, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(png);
        return NULL;
    }
    reply_common_headers(r, "image/png");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=3600");
    *status = MHD_HTTP_OK;
    return r;
}

/* The file as it is, streamed from its descriptor (no copy in memory). */
static struct MHD_Response *image_file(const char *path, unsigned *status) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unsigned char head[16];
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_IMAGE_FILE ||
        pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
        if (fd >= 0) close(fd);
        *status = MHD_HTTP_NOT_FOUND;
        return reply_error(*status, "the image file cannot be read");
    }
    image_format fmt = image_sniff(head, sizeof head);
    if (fmt == IMAGE_FORMAT_UNKNOWN) {
        close(fd);
        *status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        return reply_error(*status, "the image file is neither PNG nor JPEG");
    }
    struct MHD_Response *r = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (!r) {
        close(fd);
        return NULL;
    }
    reply_common_headers(r, fmt == IMAGE_FORMAT_PNG ? "image/png" : "image/jpeg");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=3600");
    *status = MHD_HTTP_OK;
    return r;
}

static struct MHD_Response *route_image(srv *s, struct MHD_Connection *c, const char *url, unsigned *status) {
    int64_t id;
    if (parse_id(url + strlen(IMAGE_PREFIX), &id)) {
        *status = MHD_HTTP_BAD_REQUEST;
        return reply_error(*status, "images are asked for by id: /api/image/<decimal id>");
    }
    int64_t row = catalog_row(&s->cat, id);
    const char *path = row >= 0 ? catalog_path(s->ix, row) : "";
    if (row < 0 || !*path) {
        *status = MHD_HTTP_NOT_FOUND;
        return reply_error(*status, row < 0 ? "no image with id %lld" : "the index holds no file for image %lld",
                           (long long)id);
    }
    const char *size = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
    if (!size) return image_file(path, status);
    char *end;
    errno = 0;
    long v = strtol(size, &end, 10);
    if (errno || *end || end == size || v < 16 || v > 512) {
        *status = MHD_HTTP_BAD_REQUEST;
        return reply_error(*status, "size must be a whole number of pixels from 16 to 512");
    }
    return image_thumb(s, path, (int)v, status);
}

static struct MHD_Response *route_health(srv *s, unsigned *status) {
    srv_stats st;
    srv_get_stats(s, &st);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    cJSON_AddNumberToObject(o, "images", (double)sbir_index_count(s->ix));
    cJSON_AddNumberToObject(o, "workers", s->o.workers);
    cJSON_AddNumberToObject(o, "queued", st.queued);
    cJSON_AddNumberToObject(o, "queue_capacity", s->o.queue);
    cJSON_AddNumberToObject(o, "searches", (double)st.searches);
    cJSON_AddNumberToObject(o, "rejected_busy", (double)st.rejected_busy);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    *status = MHD_HTTP_OK;
    return text ? reply_json_text(text, strlen(text)) : NULL;
}

struct MHD_Response *route_get(srv *s, struct MHD_Connection *c, int route, const char *url, unsigned *status) {
    *status = MHD_HTTP_OK;
    switch (route) {
    case ROUTE_STYLES: {
        struct MHD_Response *r = reply_static(s->styles_json, s->styles_len, "application/json; charset=utf-8", 0);
        return r;
    }
    case ROUTE_HEALTH: return route_health(s, status);
    case ROUTE_IMAGE: return route_image(s, c, url, status);
    case ROUTE_ASSET: {
        const web_asset *a = find_asset(url);
        return reply_static(a->data, a->len, a->type, 0);
    }
    default: *status = MHD_HTTP_NOT_FOUND; return reply_error(*status, "no such page: %.200s", url);
    }
}
