/* json_in.c — see json_in.h. */
#include "serve/json_in.h"

#include <string.h>

#include "util/common.h"

int json_depth(const char *text, size_t n, int limit) {
    int depth = 0, deepest = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\') i++; /* the escaped character cannot end the string */
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest) deepest = depth;
            if (deepest > limit) return deepest;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

static int b64_value(unsigned char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

uint8_t *b64_decode(const char *what, const char *text, size_t max_bytes, size_t *out_len) {
    *out_len = 0;
    if (strncmp(text, "data:", 5) == 0) {
        const char *comma = strchr(text, ',');
        const char *b64 = strstr(text, ";base64,");
        if (!comma || !b64 || b64 + 7 != comma) {
            sbir_error("%s: a data URL must be base64 (data:<type>;base64,...)", what);
            return NULL;
        }
        text = comma + 1;
    }
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '=' && n % 4 != 1) n--; /* padding: at most what rounds to 4 */
    if (n % 4 == 1) {
        sbir_error("%s: base64 of a bad length", what);
        return NULL;
    }
    size_t out_n = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (out_n > max_bytes) {
        sbir_error("%s: %zu bytes, more than the %zu allowed", what, out_n, max_bytes);
        return NULL;
    }
    if (out_n == 0) {
        sbir_error("%s: empty", what);
        return NULL;
    }
    uint8_t *out = mallocCheck(out_n);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)text[i]);
        if (v < 0) {
            free(out);
            sbir_error("%s: not base64 (character %zu)", what, i);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out_len = o;
    return out;
}
