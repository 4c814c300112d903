/* http_client.c — see http_client.h. */
#include "serve/http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/common.h"

int http_connect(int port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sbir_error("socket: %s", strerror(errno));
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return sbir_error("connect 127.0.0.1:%d: %s", port, strerror(e));
    }
    return fd;
}

static int send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return sbir_error("send: %s", k < 0 ? strerror(errno) : "closed");
        c += k, n -= (size_t)k;
    }
    return 0;
}

int http_header(const http_resp *r, const char *name, char *buf, size_t size) {
    size_t nl = strlen(name);
    for (const char *p = strchr(r->headers, '\n'); p; p = strchr(p + 1, '\n')) {
        if (strncasecmp(p + 1, name, nl) == 0 && p[1 + nl] == ':') {
            const char *v = p + 2 + nl;
            while (*v == ' ') v++;
            size_t n = strcspn(v, "\r\n");
            if (n >= size) n = size - 1;
            memcpy(buf, v, n);
            buf[n] = 0;
            return 0;
        }
    }
    return -1;
}

int http_read_response(int fd, http_resp *out) {
    memset(out, 0, sizeof *out);
    size_t cap = 8192, len = 0, head_end = 0;
    char *buf = mallocCheck(cap + 1);
    long long content_length = -1;
    for (;;) {
        if (head_end && content_length >= 0 && len - head_end >= (size_t)content_length) break;
        if (len == cap) {
            if (cap >= HTTP_CLIENT_MAX_BODY) {
                free(buf);
                return sbir_error("response larger than %zu bytes", (size_t)HTTP_CLIENT_MAX_BODY);
            }
            cap *= 2;
            buf = reallocCheck(buf, cap + 1);
        }
        ssize_t k = recv(fd, buf + len, cap - len, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            free(buf);
            return sbir_error("recv: %s", errno == EAGAIN ? "timed out" : strerror(errno));
        }
        if (k == 0) {
            out->closed = 1;
            if (!head_end) {
                free(buf);
                return sbir_error("the server closed the connection without a response");
            }
            break;
        }
        len += (size_t)k;
        buf[len] = 0;
        if (!head_end) {
            char *e = strstr(buf, "\r\n\r\n");
            if (!e) continue;
            head_end = (size_t)(e - buf) + 4;
            size_t hn = SBIR_MIN(head_end, sizeof out->headers - 1);
            memcpy(out->headers, buf, hn);
            out->headers[hn] = 0;
            if (sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
                free(buf);
                return sbir_error("not an HTTP response");
            }
            char v[64];
            if (http_header(out, "Content-Length", v, sizeof v) == 0) content_length = atoll(v);
            if (http_header(out, "Connection", v, sizeof v) == 0 && strcasecmp(v, "close") == 0) out->closed = 1;
        }
    }
    size_t bl = len - head_end;
    if (content_length >= 0 && bl > (size_t)content_length) bl = (size_t)content_length;
    out->body = mallocCheck(bl + 1);
    memcpy(out->body, buf + head_end, bl);
    out->body[bl] = 0;
    out->body_len = bl;
    free(buf);
    return 0;
}

int http_exchange(int fd, const char *method, const char *path, const char *ctype, const void *body, size_t n,
                  http_resp *out) {
    char head[1024];
    int hn = ctype ? snprintf(head, sizeof head,
                              "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                              method, path, ctype, n)
                   : snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    if (hn < 0 || (size_t)hn >= sizeof head) return sbir_error("request line too long");
    if (send_all(fd, head, (size_t)hn) || (ctype && n && send_all(fd, body, n))) return -1;
    return http_read_response(fd, out);
}

int http_request(int port, const char *method, const char *path, const char *ctype, const void *body, size_t n,
                 int timeout_ms, http_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = http_connect(port, timeout_ms);
    if (fd < 0) return -1;
    int rc = http_exchange(fd, method, path, ctype, body, n, out);
    close(fd);
    return rc;
}

void http_resp_free(http_resp *r) {
    free(r->body);
    r->body = NULL;
}
