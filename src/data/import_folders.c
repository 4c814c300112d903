/* import_folders.c — see import_folders.h. Two passes: list the tree (sorted, so row ids and the
 * progress total are deterministic), then read each file once for its checksum and header. */
#include "data/import_folders.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/collection.h"
#include "data/image.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/progress.h"

typedef struct {
    char *path;
    int style, cls; /* indices into the name tables */
} entry;

typedef struct {
    entry *e;
    size_t n, cap;
    char **styles, **classes;
    int n_styles, n_classes;
} tree;

static int name_index(char ***names, int *n, const char *name) {
    for (int i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0) return i;
    *names = reallocCheck(*names, (size_t)(*n + 1) * sizeof **names);
    (*names)[*n] = strdupCheck(name);
    return (*n)++;
}

static int visible(const struct dirent *d) { return d->d_name[0] != '.'; }

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = mallocCheck(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

static void free_dirents(struct dirent **l, int n) {
    for (int i = 0; i < n; i++) free(l[i]);
    free(l);
}

/* Lists root/<style>/<class>/<file>; counts what does not fit the layout. */
static int list_tree(const char *root, tree *t, import_folders_report *r) {
    struct dirent **sl;
    int ns = scandir(root, &sl, visible, alphasort);
    if (ns < 0) return sbir_error("%s: cannot list directory", root);
    for (int i = 0; i < ns; i++) {
        char *sp = join(root, sl[i]->d_name);
        struct dirent **cl;
        int nc = is_dir(sp) ? scandir(sp, &cl, visible, alphasort) : -1;
        if (nc < 0) {
            r->skipped_misplaced++;
            free(sp);
            continue;
        }
        for (int j = 0; j < nc; j++) {
            char *cp = join(sp, cl[j]->d_name);
            struct dirent **fl;
            int nf = is_dir(cp) ? scandir(cp, &fl, visible, alphasort) : -1;
            if (nf < 0) {
                r->skipped_misplaced++;
                free(cp);
                continue;
            }
            for (int k = 0; k < nf; k++) {
                char *fp = join(cp, fl[k]->d_name);
                struct stat st;
                if (stat(fp, &st) != 0 || !S_ISREG(st.st_mode)) {
                    r->skipped_misplaced++;
                    free(fp);
                    continue;
                }
                if (!image_has_image_ext(fp)) {
                    r->skipped_not_image++;
                    free(fp);
                    continue;
                }
                if (t->n == t->cap) {
                    t->cap = t->cap ? t->cap * 2 : 1024;
                    t->e = reallocCheck(t->e, t->cap * sizeof *t->e);
                }
                entry *e = &t->e[t->n++];
                e->path = fp;
                e->style = name_index(&t->styles, &t->n_styles, sl[i]->d_name);
                e->cls = name_index(&t->classes, &t->n_classes, cl[j]->d_name);
            }
            free_dirents(fl, nf);
            free(cp);
        }
        free_dirents(cl, nc);
        free(sp);
    }
    free_dirents(sl, ns);
    return SBIR_OK;
}

static void tree_free(tree *t) {
    for (size_t i = 0; i < t->n; i++) free(t->e[i].path);
    for (int i = 0; i < t->n_styles; i++) free(t->styles[i]);
    for (int i = 0; i < t->n_classes; i++) free(t->classes[i]);
    free(t->e);
    free(t->styles);
    free(t->classes);
}

static void add_example(import_folders_report *r, const char *msg) {
    if (r->n_examples < IMPORT_MAX_EXAMPLES) snprintf(r->examples[r->n_examples++], sizeof r->examples[0], "%s", msg);
}

/* Checksum + header (+ full decode with size_check) of one file. 1 = usable, 0 = skip, <0 = fatal. */
static int inspect(const char *path, int size_check, int *w, int *h, char crc_hex[9], import_folders_report *r) {
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) {
        add_example(r, sbir_last_error());
        return 0;
    }
    snprintf(crc_hex, 9, "%08x", sbir_crc32(0, buf, n));
    int ok = image_probe_mem(buf, n, path, w, h, NULL) == SBIR_OK;
    if (ok && (uint64_t)*w * (uint64_t)*h > image_max_pixels())
        ok = sbir_error("%s: %dx%d image exceeds the limit of %llu pixels", path, *w, *h,
                        (unsigned long long)image_max_pixels()) == SBIR_OK;
    if (ok && size_check) {
        sbir_image im;
        ok = image_decode_mem(buf, n, path, 0, &im) == SBIR_OK;
        image_free(&im);
    }
    if (!ok) add_example(r, sbir_last_error());
    free(buf);
    return ok;
}

static const char *base_name(const char *p) {
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') n--;
    const char *s = p + n;
    while (s > p && s[-1] != '/') s--;
    return s;
}

int import_folders(const import_folders_opts *o, import_folders_report *r) {
    memset(r, 0, sizeof *r);
    double t0 = sbir_now();
    if (!is_dir(o->root)) return sbir_error("%s: not a directory", o->root);
    tree t = {0};
    if (list_tree(o->root, &t, r)) {
        tree_free(&t);
        return SBIR_ERR;
    }
    if (t.n == 0) {
        tree_free(&t);
        return sbir_error("%s: no images found in a <style>/<class>/<image> layout", o->root);
    }
    int sketch_idx = -1;
    for (int i = 0; o->sketch_style && i < t.n_styles; i++)
        if (strcmp(t.styles[i], o->sketch_style) == 0) sketch_idx = i;
    if (o->sketch_style && sketch_idx < 0) {
        tree_free(&t);
        return sbir_error("%s: --sketch-style %s: no such style folder", o->root, o->sketch_style);
    }
    /* Source name of folder sketches: the dataset folder's name ("pacs"), without trailing slashes. */
    char source[256];
    snprintf(source, sizeof source, "%s", base_name(o->root));
    char *slash = strchr(source, '/');
    if (slash) *slash = 0;
    sbir_collection *c = collection_create(o->out, o->root);
    if (!c) {
        tree_free(&t);
        return SBIR_ERR;
    }
    int rc = collection_set_meta(c, "import", "folders");
    if (rc == SBIR_OK && o->sketch_style) rc = collection_set_meta(c, "sketch_style", o->sketch_style);
    sbir_progress prog;
    progress_start(&prog, "import", t.n);
    for (size_t i = 0; i < t.n && rc == SBIR_OK; i++) {
        entry *e = &t.e[i];
        int w = 0, h = 0;
        char crc[9];
        if (!inspect(e->path, o->size_check, &w, &h, crc, r)) {
            r->skipped_bad++;
        } else if (e->style == sketch_idx) {
            rc = collection_add_sketch(c, t.classes[e->cls], source, NULL, NULL, e->path, NULL);
            r->sketches++;
        } else {
            rc = collection_add_image(c, e->path, t.classes[e->cls], t.styles[e->style], w, h, crc, NULL);
            r->images++;
        }
        progress_update(&prog, i + 1, "%lld images, %lld sketches", (long long)r->images, (long long)r->sketches);
    }
    progress_end(&prog);
    r->styles = t.n_styles;
    r->classes = t.n_classes;
    tree_free(&t);
    if (rc != SBIR_OK) {
        collection_close(c);
        return SBIR_ERR;
    }
    rc = collection_commit(c);
    r->seconds = sbir_now() - t0;
    return rc;
}
