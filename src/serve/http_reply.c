/* http_reply.c — building responses. Every answer says what it is (no MIME sniffing) and the page
 * may only load from this server (CSP: no CDN, no inline script), so an image or JSON string a user
 * uploaded can never run as script. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "serve/server_internal.h"
#include "util/common.h"

void reply_common_headers(struct MHD_Response *r, const char *type) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
                            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
}

struct MHD_Response *reply_json_text(char *text, size_t n) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    reply_common_headers(r, "application/json; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return r;
}

struct MHD_Response *reply_error(unsigned status, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "status", status);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return NULL;
    struct MHD_Response *r = reply_json_text(text, strlen(text));
    if (r && status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return r;
}

struct MHD_Response *reply_static(const void *data, size_t n, const char *type, int cache_s) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!r) return NULL;
    reply_common_headers(r, type);
    char cc[64];
    if (cache_s > 0) snprintf(cc, sizeof cc, "public, max-age=%d", cache_s);
    else snprintf(cc, sizeof cc, "no-cache");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
    return r;
}

enum MHD_Result reply_send(struct MHD_Connection *c, unsigned status, struct MHD_Response *r) {
    if (!r) return MHD_NO; /* out of memory: drop the connection */
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}
