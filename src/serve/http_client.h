/* http_client.h — a minimal HTTP/1.1 client for this machine's own server: the tests and
 * `sbir bench serve` talk to `sbir serve` with it. It only ever connects to 127.0.0.1 (the API
 * takes a port, not a host), every call has a deadline, and responses are read with a size cap. */
#ifndef SBIR_SERVE_HTTP_CLIENT_H
#define SBIR_SERVE_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_MAX_BODY ((size_t)64 << 20)

typedef struct {
    int status;         /* 0 when no response came */
    char headers[4096]; /* the status line and headers as received (truncated) */
    char *body;         /* NUL-terminated, malloc'd */
    size_t body_len;
    int closed;         /* the server said Connection: close (or closed) */
} http_resp;

/* A TCP connection to 127.0.0.1:port with send/receive timeouts; the fd or -1 (+ sbir_error). */
int http_connect(int port, int timeout_ms);

/* Sends one request on fd (keep-alive) and reads its response. ctype may be NULL (no body). 0 or -1. */
int http_exchange(int fd, const char *method, const char *path, const char *ctype, const void *body, size_t n,
                  http_resp *out);
/* Reads one response from fd (for requests written by hand). 0 or -1. */
int http_read_response(int fd, http_resp *out);

/* One request on a new connection, closed afterwards. */
int http_request(int port, const char *method, const char *path, const char *ctype, const void *body, size_t n,
                 int timeout_ms, http_resp *out);

/* The value of header name (case-insensitive) in r->headers, copied to buf; 0 or -1 if absent. */
int http_header(const http_resp *r, const char *name, char *buf, size_t size);
void http_resp_free(http_resp *r);

#endif
