/* api_error.c — the status codes of sbir.h and the helpers that produce them. */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "util/common.h"

const char *sbir_errmsg(sbir_status status) {
    switch (status) {
    case SBIR_E_OK: return "success";
    case SBIR_E_ARG: return "invalid argument";
    case SBIR_E_IO: return "file could not be opened, read or written";
    case SBIR_E_FORMAT: return "corrupt or unrecognised file";
    case SBIR_E_MISMATCH: return "index built with a different model";
    case SBIR_E_NOT_FOUND: return "unknown name";
    case SBIR_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

sbir_status api_file_status(const char *path) {
    return path && access(path, R_OK) == 0 ? SBIR_E_FORMAT : SBIR_E_IO;
}

sbir_status api_fail(sbir_status code, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sbir_error("%s", buf);
    return code;
}
