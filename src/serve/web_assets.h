/* web_assets.h — the page's files (web/), compiled into the program so `sbir serve` needs nothing
 * beside it. web_assets.c is generated from web/ by src/serve/embed_web.sh (`make web-assets`;
 * the build regenerates it when a file in web/ is newer, and tests/test_serve.c checks that it
 * matches web/). */
#ifndef SBIR_SERVE_WEB_ASSETS_H
#define SBIR_SERVE_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path; /* "/index.html", "/app.js", ... */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} web_asset;

extern const web_asset web_assets[];
extern const size_t web_assets_count;

#endif
