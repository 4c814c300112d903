/* index_sidecar.c — see index_sidecar.h. */
#include "api/index_sidecar.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/common.h"

static char *sidecar_path(const char *index_path) {
    size_t n = strlen(index_path) + 6;
    char *p = mallocCheck(n);
    snprintf(p, n, "%s.json", index_path);
    return p;
}

static char *absolute(const char *path) {
    char *r = realpath(path, NULL);
    return r ? r : strdupCheck(path);
}

int sidecar_write(const char *index_path, const char *model_path, const char *collection_path, const char *split,
                  const char *fingerprint) {
    char *m = absolute(model_path), *c = absolute(collection_path), *p = sidecar_path(index_path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", m);
    cJSON_AddStringToObject(o, "collection", c);
    cJSON_AddStringToObject(o, "split", split ? split : "all");
    cJSON_AddStringToObject(o, "fingerprint", fingerprint);
    char *text = cJSON_Print(o);
    int rc = text ? write_file_atomic(p, text, strlen(text)) : sbir_error("%s: out of memory", p);
    cJSON_free(text);
    cJSON_Delete(o);
    free(m), free(c), free(p);
    return rc;
}

char *sidecar_model(const char *index_path) {
    char *p = sidecar_path(index_path), *model = NULL;
    unsigned char *buf = NULL;
    size_t n = 0;
    if (read_file_all(p, 1 << 20, &buf, &n) == SBIR_OK) {
        cJSON *o = cJSON_ParseWithLength((const char *)buf, n);
        cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(o, "model") : NULL;
        if (cJSON_IsString(m) && m->valuestring[0]) model = strdupCheck(m->valuestring);
        cJSON_Delete(o);
    }
    sbir_clear_error(); /* a missing sidecar is not a failure */
    free(buf);
    free(p);
    return model;
}
