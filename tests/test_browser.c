/* test_browser.c — the web page in headless Chromium: starts `sbir serve` in-process on a loopback
 * port with the fixture of tests/browser/fixture.h and runs tests/browser/search_test.js
 * (Playwright, playwright-core from npm driving Debian's /usr/bin/chromium), counting its checks.
 * Skipped, and says why, where chromium, node or playwright-core is missing; playwright-core is
 * installed into tests/browser/node_modules with npm when absent (SBIR_NO_NPM=1 prevents that).
 * Screenshots: $BUILD/browser-shots/ (desktop, enlarged, own-style, phone). */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browser/fixture.h"
#include "serve/server.h"
#include "test.h"

#define PW "tests/browser/node_modules/playwright-core/package.json"

static int have(const char *path) { return access(path, R_OK) == 0; }

static void test_page_in_chromium(void) {
    const char *chromium = getenv("SBIR_CHROMIUM") ? getenv("SBIR_CHROMIUM") : "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0) {
        SKIP("%s not found: apt-get install chromium (scripts/install-deps.sh does)", chromium);
        return;
    }
    if (system("node --version > /dev/null 2>&1") != 0) {
        SKIP("node not found: apt-get install nodejs npm");
        return;
    }
    if (!have("tests/browser/search_test.js")) {
        SKIP("not run from the repository root");
        return;
    }
    if (!have(PW) && !getenv("SBIR_NO_NPM")) {
        fprintf(stderr, "  installing playwright-core into tests/browser/node_modules (npm)\n");
        int rc = system("cd tests/browser && timeout 300 npm install --no-audit --no-fund --loglevel=error > /dev/null 2>&1");
        (void)rc;
    }
    if (!have(PW)) {
        SKIP("playwright-core not installed (cd tests/browser && npm install)");
        return;
    }
    fx_paths fx;
    CHECK(fx_make(test_tmpdir(), &fx) == 0, "fixture: %s", sbir_last_error());
    srv_opts o;
    srv_opts_default(&o);
    o.index_path = fx.index, o.model_path = fx.model, o.port = 0, o.workers = 2;
    srv *s = srv_start(&o);
    CHECK(s != NULL, "start: %s", sbir_last_error());
    if (!s) return;
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char shots[1024], cmd[4096];
    snprintf(shots, sizeof shots, "%s/browser-shots", build);
    mkdir(build, 0755);
    mkdir(shots, 0755);
    snprintf(cmd, sizeof cmd,
             "SBIR_URL=http://127.0.0.1:%d/ SBIR_FIXTURE='%s' SBIR_SHOTS='%s' SBIR_CHROMIUM='%s' "
             "timeout 240 node tests/browser/search_test.js 2>&1",
             srv_port(s), fx.sketch, shots, chromium);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL, "cannot run node");
    char line[2048];
    int ok = 0, bad = 0;
    while (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "ok - ", 5) == 0) ok++;
        else if (strncmp(line, "not ok - ", 9) == 0) bad++;
        if (strncmp(line, "ok - ", 5) != 0) fprintf(stderr, "  %s\n", line); /* failures and anything else */
        else g_test_passed++;
        if (strncmp(line, "not ok - ", 9) == 0) CHECK(0, "%s", line + 9);
    }
    int rc = p ? pclose(p) : -1;
    CHECK(rc == 0, "search_test.js exited with status %d", rc);
    CHECK(ok >= 15 && bad == 0, "%d browser checks passed, %d failed", ok, bad);
    fprintf(stderr, "  screenshots in %s/\n", shots);
    srv_stop(s);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(test_page_in_chromium);
    return test_summary();
}
