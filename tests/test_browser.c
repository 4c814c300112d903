/* test_browser.c — the web page in two headless browsers: starts `sbir serve` in-process on a
 * loopback port with the fixture of tests/browser/fixture.h and runs the scenario of
 * tests/browser/search_test.js in each, counting its checks:
 *   Chromium: Debian's /usr/bin/chromium driven by Playwright (npm playwright-core, over CDP);
 *   Firefox:  Debian's /usr/bin/firefox-esr driven by Puppeteer (npm puppeteer-core) over WebDriver
 *             BiDi, which Firefox speaks itself (no geckodriver, no patched browser build).
 * Each is skipped, and says why, where its browser, node or its npm package is missing; the npm
 * packages (tests/browser/package.json) are installed into tests/browser/node_modules with npm when
 * absent (SBIR_NO_NPM=1 prevents that). SBIR_CHROMIUM / SBIR_FIREFOX name other executables.
 * Screenshots: $BUILD/browser-shots/{chromium,firefox}/ (desktop, enlarged, own-style, phone). */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browser/fixture.h"
#include "serve/server.h"
#include "test.h"

static int have(const char *path) { return access(path, R_OK) == 0; }

/* tests/browser/node_modules/<pkg>, installed with npm (once) when absent. */
static int have_module(const char *pkg) {
    static int tried;
    char path[256];
    snprintf(path, sizeof path, "tests/browser/node_modules/%s/package.json", pkg);
    if (!have(path) && !tried && !getenv("SBIR_NO_NPM")) {
        tried = 1;
        fprintf(stderr, "  installing tests/browser/package.json's packages into tests/browser/node_modules (npm)\n");
        int rc = system("cd tests/browser && timeout 300 npm install --no-audit --no-fund --no-package-lock "
                        "--loglevel=error > /dev/null 2>&1");
        (void)rc;
    }
    return have(path);
}

/* Under valgrind (SBIR_UNDER_VALGRIND=1) the server is 20-50x slower: the scenario's waits
 * (driver.js), its overall limit and the server's queue wait are stretched 5x. */
static int time_stretch(void) { return test_under_valgrind() ? 5 : 1; }

static fx_paths g_fx;
static int g_fx_made; /* 1 made, -1 failed */

/* Runs search_test.js in browser `name` (chromium or firefox) at executable exe, driven through npm
 * package pkg. */
static void run_page_test(const char *name, const char *exe, const char *pkg, const char *apt) {
    if (access(exe, X_OK) != 0) {
        SKIP("%s not found: apt-get install %s (scripts/install-deps.sh does)", exe, apt);
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
    if (!have_module(pkg)) {
        SKIP("%s not installed (cd tests/browser && npm install)", pkg);
        return;
    }
    if (!g_fx_made) g_fx_made = fx_make(test_tmpdir(), &g_fx) == 0 ? 1 : -1;
    CHECK(g_fx_made == 1, "fixture: %s", sbir_last_error());
    if (g_fx_made != 1) return;
    srv_opts o;
    srv_opts_default(&o);
    o.index_path = g_fx.index, o.model_path = g_fx.model, o.port = 0, o.workers = 2;
    o.queue_wait_ms *= time_stretch(); /* a search waiting longer is shed (503), an error in the page */
    srv *s = srv_start(&o);
    CHECK(s != NULL, "start: %s", sbir_last_error());
    if (!s) return;
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char shots[1024], home[1100], cmd[8192];
    snprintf(shots, sizeof shots, "%s/browser-shots", build);
    mkdir(build, 0755);
    mkdir(shots, 0755);
    snprintf(shots, sizeof shots, "%s/browser-shots/%s", build, name);
    mkdir(shots, 0755);
    /* Firefox wants a writable home (it is often run as root here): a scratch one. Its profile is
     * Puppeteer's, a temporary folder removed on close. */
    snprintf(home, sizeof home, "%s/home-%s", test_tmpdir(), name);
    mkdir(home, 0700);
    snprintf(cmd, sizeof cmd,
             "HOME='%s' MOZ_HEADLESS=1 SBIR_URL=http://127.0.0.1:%d/ SBIR_FIXTURE='%s' SBIR_SHOTS='%s' "
             "SBIR_BROWSER=%s SBIR_BROWSER_BIN='%s' SBIR_TIME_STRETCH=%d timeout %d node tests/browser/search_test.js 2>&1",
             home, srv_port(s), g_fx.sketch, shots, name, exe, time_stretch(), 240 * time_stretch());
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
    CHECK(rc == 0, "%s: search_test.js exited with status %d", name, rc);
    CHECK(ok >= 15 && bad == 0, "%s: %d browser checks passed, %d failed", name, ok, bad);
    fprintf(stderr, "  screenshots in %s/\n", shots);
    srv_stop(s);
}

static void test_page_in_chromium(void) {
    const char *exe = getenv("SBIR_CHROMIUM") ? getenv("SBIR_CHROMIUM") : "/usr/bin/chromium";
    run_page_test("chromium", exe, "playwright-core", "chromium");
}

static void test_page_in_firefox(void) {
    const char *exe = getenv("SBIR_FIREFOX") ? getenv("SBIR_FIREFOX") : "/usr/bin/firefox-esr";
    run_page_test("firefox", exe, "puppeteer-core", "firefox-esr");
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    RUN(test_page_in_chromium);
    RUN(test_page_in_firefox);
    return test_summary();
}
