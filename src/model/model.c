#include "model/model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/safetensors.h"
#include "util/atomic_file.h"
#include "util/common.h"

static char **copy_names(char **names, int n) {
    char **out = callocCheck((size_t)n, sizeof *out);
    for (int i = 0; i < n; i++) out[i] = strdupCheck(names[i]);
    return out;
}

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

sbir_model *model_create(int S, int C, char **classes, int NS, char **styles, const char *structure_spec,
                         const char *style_spec, int max_batch, net_backend backend) {
    sbir_model *m = callocCheck(1, sizeof *m);
    m->S = S, m->C = C, m->NS = NS, m->max_batch = max_batch;
    m->classes = copy_names(classes, C);
    m->styles = copy_names(styles, NS);
    m->structure = net_create(structure_spec, 3, S, S, max_batch, backend);
    m->style = m->structure ? net_create(style_spec, 3, S, S, max_batch, backend) : NULL;
    if (!m->structure || !m->style) {
        sbir_error_prefix("cannot build the networks");
        model_free(m);
        return NULL;
    }
    m->Df = m->Dc = m->structure->out_dim, m->Ds = m->style->out_dim;
    m->content_head = callocCheck((size_t)C * (m->Df + 1), sizeof(float));
    m->style_head_rows = C * NS;
    m->style_head = callocCheck((size_t)C * NS * (m->Ds + 1), sizeof(float));
    m->protos = callocCheck((size_t)NS * m->Ds, sizeof(float));
    m->fusion[0] = 1, m->fusion[1] = 1, m->fusion[2] = 0;
    return m;
}

void model_free(sbir_model *m) {
    if (!m) return;
    free_names(m->classes, m->C);
    free_names(m->styles, m->NS);
    net_free(m->structure);
    net_free(m->structure_sketch);
    net_free(m->style);
    free(m->content_head);
    free(m->style_head);
    free(m->protos);
    free(m);
}

int model_add_sketch_bn(sbir_model *m) {
    if (m->structure_sketch) return SBIR_OK;
    const net *s = m->structure;
    net *k = net_create(s->spec, s->in_c, s->in_h, s->in_w, s->max_batch, s->backend);
    if (!k || net_copy_weights(k, s) != SBIR_OK) {
        net_free(k);
        return sbir_error_prefix("the sketches' structure network");
    }
    k->threads = s->threads;
    m->structure_sketch = k;
    return SBIR_OK;
}

net *model_sketch_net(const sbir_model *m) { return m->structure_sketch ? m->structure_sketch : m->structure; }

static char *names_json(char **names, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

static int parse_names(const char *json, char ***out, int *n) {
    cJSON *a = json ? cJSON_Parse(json) : NULL;
    int count = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (count < 1 || count > 100000) {
        cJSON_Delete(a);
        return SBIR_ERR;
    }
    char **names = callocCheck((size_t)count, sizeof *names);
    int i = 0;
    for (cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e)) {
            free_names(names, count);
            cJSON_Delete(a);
            return SBIR_ERR;
        }
        names[i] = strdupCheck(e->valuestring);
    }
    cJSON_Delete(a);
    *out = names;
    *n = count;
    return SBIR_OK;
}

/* The net's tensors (parameters and buffers) under a prefix. */
static int add_net_tensors(const net *n, const char *prefix, st_tensor *t, char (*names)[96], int at, int bn_only) {
    for (int i = 0; i < n->n_tensors; i++) {
        const net_tensor *nt = &n->tensors[i];
        if (bn_only && !net_tensor_is_bn(nt)) continue;
        snprintf(names[at], 96, "%s.%s", prefix, nt->name);
        t[at].name = names[at];
        t[at].ndim = nt->ndim;
        for (int d = 0; d < nt->ndim; d++) t[at].shape[d] = nt->shape[d];
        t[at].data = (nt->buffer ? n->bufs : n->params) + nt->offset;
        at++;
    }
    return at;
}

static int load_net_tensors(net *n, const char *prefix, const safetensors *st, const char *path, int bn_only) {
    char name[96];
    for (int i = 0; i < n->n_tensors; i++) {
        const net_tensor *nt = &n->tensors[i];
        if (bn_only && !net_tensor_is_bn(nt)) continue;
        snprintf(name, sizeof name, "%s.%s", prefix, nt->name);
        const st_tensor *t = safetensors_get(st, name);
        if (!t) return sbir_error("%s: tensor %s is missing", path, name);
        int same = t->ndim == nt->ndim;
        for (int d = 0; same && d < nt->ndim; d++) same = t->shape[d] == nt->shape[d];
        if (!same) return sbir_error("%s: tensor %s has the wrong shape for this network", path, name);
        memcpy((nt->buffer ? n->bufs : n->params) + nt->offset, t->data, sizeof(float) * nt->numel);
    }
    net_params_changed(n);
    return SBIR_OK;
}

uint32_t model_structure_crc(const sbir_model *m) {
    uint32_t a = sbir_crc32(0, m->structure->params, sizeof(float) * m->structure->n_params);
    if (m->structure_sketch) a = sbir_crc32(a, m->structure_sketch->params, sizeof(float) * m->structure_sketch->n_params);
    return a;
}

void model_compute_fingerprint(sbir_model *m) {
    uint32_t a = model_structure_crc(m);
    uint32_t b = sbir_crc32(0, m->style->params, sizeof(float) * m->style->n_params);
    b = sbir_crc32(b, m->protos, sizeof(float) * (size_t)m->NS * m->Ds);
    /* Only when used, so models without the posterior keep their fingerprints. */
    if (m->class_weight > 0) {
        b = sbir_crc32(b, m->content_head, sizeof(float) * (size_t)m->C * (m->Df + 1));
        b = sbir_crc32(b, &m->class_weight, sizeof m->class_weight);
    }
    if (m->gallery_mirror) b = sbir_crc32(b, "gallery_mirror", 14);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%08x%08x", a, b);
}

int model_save(const sbir_model *m, const char *path, const model_extra *extra, int n_extra, const char *const *meta,
               int n_meta) {
    int cap = 2 * m->structure->n_tensors + m->style->n_tensors + 3 + n_extra;
    st_tensor *t = callocCheck((size_t)cap, sizeof *t);
    char(*names)[96] = callocCheck((size_t)cap, sizeof *names);
    int n = add_net_tensors(m->structure, "structure", t, names, 0, 0);
    if (m->structure_sketch) n = add_net_tensors(m->structure_sketch, "structure_sketch", t, names, n, 1);
    n = add_net_tensors(m->style, "style", t, names, n, 0);
    t[n++] = (st_tensor){"content_head", 2, {m->C, m->Df + 1}, m->content_head};
    t[n++] = (st_tensor){"style_head", 2, {m->style_head_rows, m->Ds + 1}, m->style_head};
    t[n++] = (st_tensor){"style_protos", 2, {m->NS, m->Ds}, m->protos};
    for (int i = 0; i < n_extra; i++) t[n++] = (st_tensor){extra[i].name, 1, {extra[i].n}, extra[i].data};

    sbir_model *mm = (sbir_model *)m;
    model_compute_fingerprint(mm);
    char *classes = names_json(m->classes, m->C), *styles = names_json(m->styles, m->NS);
    char size[32], fusion[96], cw[32];
    snprintf(size, sizeof size, "%d", m->S);
    snprintf(fusion, sizeof fusion, "[%.9g,%.9g,%.9g]", m->fusion[0], m->fusion[1], m->fusion[2]);
    snprintf(cw, sizeof cw, "%.9g", m->class_weight);
    int total_meta = 9 + (m->gallery_mirror ? 1 : 0) + n_meta;
    const char **kv = callocCheck((size_t)total_meta * 2, sizeof *kv);
    const char *base[] = {"format",  "sbir-model-1",      "structure_spec", m->structure->spec,
                          "style_spec", m->style->spec,   "input_size",     size,
                          "classes", classes,             "styles",         styles,
                          "fusion",  fusion,              "fingerprint",    m->fingerprint,
                          "content_class_weight", cw};
    memcpy(kv, base, sizeof base);
    int k = 18;
    if (m->gallery_mirror) kv[k++] = "gallery_mirror", kv[k++] = "1"; /* absent: 0, as in older models */
    for (int i = 0; i < 2 * n_meta; i++) kv[k + i] = meta[i];
    int rc = safetensors_write(path, t, n, kv, total_meta);
    free(kv);
    free(classes);
    free(styles);
    free(t);
    free(names);
    return rc;
}

static int parse_fusion(const char *s, float f[3]) {
    cJSON *a = s ? cJSON_Parse(s) : NULL;
    int ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) == 3;
    for (int i = 0; ok && i < 3; i++) {
        cJSON *e = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsNumber(e);
        if (ok) f[i] = (float)e->valuedouble;
    }
    cJSON_Delete(a);
    return ok ? SBIR_OK : SBIR_ERR;
}

static int copy_tensor(const safetensors *st, const char *name, float *dst, int64_t rows, int64_t cols,
                       const char *path) {
    const st_tensor *t = safetensors_get(st, name);
    if (!t || t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
        return sbir_error("%s: tensor %s is missing or has the wrong shape", path, name);
    memcpy(dst, t->data, sizeof(float) * (size_t)(rows * cols));
    return SBIR_OK;
}

static uint64_t values_under(const safetensors *st, const char *prefix) {
    uint64_t held = 0;
    for (int i = 0; i < safetensors_count(st); i++) {
        const st_tensor *t = safetensors_at(st, i);
        if (strncmp(t->name, prefix, strlen(prefix)) != 0) continue;
        uint64_t n = 1;
        for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
        held += n;
    }
    return held;
}

/* The file is untrusted: before building networks from its specs, check that it really holds their
 * parameters (a few KB must not be able to ask for gigabytes) and that their activations at this
 * batch size stay within reason. *sketch_bn: whether it holds the sketches' batch norms. */
#define MODEL_MAX_ACTIVATION_BYTES ((size_t)8 << 30)
static int check_specs(const safetensors *st, const char *path, const char *ss, const char *ys, int S, int max_batch,
                       int *sketch_bn) {
    const char *specs[2] = {ss, ys}, *prefixes[2] = {"structure.", "style."};
    size_t act_total = 0, structure_bufs = 0, structure_act = 0;
    for (int k = 0; k < 2; k++) {
        size_t params, bufs, act;
        if (net_spec_cost(specs[k], 3, S, S, &params, &bufs, &act) != SBIR_OK)
            return sbir_error_prefix("%s: %s network", path, k ? "style" : "structure");
        uint64_t held = values_under(st, prefixes[k]);
        if (held != (uint64_t)params + bufs)
            return sbir_error("%s: the %s network's spec needs %zu values but the file holds %llu", path,
                              k ? "style" : "structure", params + bufs, (unsigned long long)held);
        act_total += act;
        if (k == 0) structure_bufs = bufs, structure_act = act;
    }
    /* batch norm is the only layer with buffers (running mean and variance), as many as its scale and
     * shift: the sketches' batch norms hold twice the structure network's buffers */
    uint64_t held = values_under(st, "structure_sketch.");
    *sketch_bn = held > 0;
    if (held && held != 2 * (uint64_t)structure_bufs)
        return sbir_error("%s: the sketches' batch norms need %zu values but the file holds %llu", path,
                          2 * structure_bufs, (unsigned long long)held);
    if (held) act_total += structure_act;
    if ((double)act_total * 4.0 * 3.0 * max_batch > (double)MODEL_MAX_ACTIVATION_BYTES)
        return sbir_error("%s: the networks would need more than %zu GB of activations at batch %d", path,
                          MODEL_MAX_ACTIVATION_BYTES >> 30, max_batch);
    return SBIR_OK;
}

sbir_model *model_load(const char *path, int max_batch, net_backend backend, safetensors **extra_out) {
    if (extra_out) *extra_out = NULL;
    safetensors *st = safetensors_open(path);
    if (!st) return NULL;
    sbir_model *m = NULL;
    char **classes = NULL, **styles = NULL;
    int C = 0, NS = 0;
    const char *fmt = safetensors_meta(st, "format"), *ss = safetensors_meta(st, "structure_spec"),
               *ys = safetensors_meta(st, "style_spec"), *size = safetensors_meta(st, "input_size");
    if (!fmt || strcmp(fmt, "sbir-model-1") != 0 || !ss || !ys || !size) {
        sbir_error("%s: not an sbir model (safetensors without sbir-model-1 metadata)", path);
        goto fail;
    }
    int S = atoi(size);
    if (S < 8 || S > 1024) {
        sbir_error("%s: input_size %s out of range", path, size);
        goto fail;
    }
    if (parse_names(safetensors_meta(st, "classes"), &classes, &C) != SBIR_OK ||
        parse_names(safetensors_meta(st, "styles"), &styles, &NS) != SBIR_OK) {
        sbir_error("%s: class or style names missing or malformed", path);
        goto fail;
    }
    int has_sketch_bn = 0;
    if (check_specs(st, path, ss, ys, S, max_batch, &has_sketch_bn) != SBIR_OK) goto fail;
    m = model_create(S, C, classes, NS, styles, ss, ys, max_batch, backend);
    if (!m) {
        sbir_error_prefix("%s", path);
        goto fail;
    }
    const st_tensor *sh = safetensors_get(st, "style_head");
    if (sh && sh->ndim == 2 && sh->shape[0] == NS) m->style_head_rows = NS;
    if (load_net_tensors(m->structure, "structure", st, path, 0) != SBIR_OK ||
        load_net_tensors(m->style, "style", st, path, 0) != SBIR_OK ||
        (has_sketch_bn && (model_add_sketch_bn(m) != SBIR_OK ||
                           load_net_tensors(m->structure_sketch, "structure_sketch", st, path, 1) != SBIR_OK)) ||
        copy_tensor(st, "content_head", m->content_head, C, m->Df + 1, path) != SBIR_OK ||
        copy_tensor(st, "style_head", m->style_head, m->style_head_rows, m->Ds + 1, path) != SBIR_OK ||
        copy_tensor(st, "style_protos", m->protos, NS, m->Ds, path) != SBIR_OK)
        goto fail;
    if (parse_fusion(safetensors_meta(st, "fusion"), m->fusion) != SBIR_OK) {
        sbir_error("%s: fusion metadata malformed", path);
        goto fail;
    }
    const char *cw = safetensors_meta(st, "content_class_weight");
    if (cw) {
        char *end;
        double w = strtod(cw, &end);
        if (end == cw || *end || !(w >= 0 && w <= 1e4)) {
            sbir_error("%s: content_class_weight '%s' is not a number in [0, 10000]", path, cw);
            goto fail;
        }
        model_set_class_weight(m, (float)w);
    }
    const char *gm = safetensors_meta(st, "gallery_mirror");
    if (gm && strcmp(gm, "0") && strcmp(gm, "1")) {
        sbir_error("%s: gallery_mirror '%.40s' is neither 0 nor 1", path, gm);
        goto fail;
    }
    m->gallery_mirror = gm && !strcmp(gm, "1");
    model_compute_fingerprint(m);
    free_names(classes, C);
    free_names(styles, NS);
    if (extra_out) *extra_out = st;
    else safetensors_close(st);
    return m;
fail:
    free_names(classes, C);
    free_names(styles, NS);
    model_free(m);
    safetensors_close(st);
    return NULL;
}

static void embed(net *n, int max_batch, const float *x, int B, int D, float *out) {
    size_t in_sz = (size_t)n->in_c * n->in_h * n->in_w;
    float norm[1024];
    for (int b0 = 0; b0 < B; b0 += max_batch) {
        int nb = SBIR_MIN(max_batch, B - b0);
        const float *f = net_forward(n, x + in_sz * b0, nb, 0);
        l2norm_forward(out + (size_t)D * b0, norm, f, 1e-12f, nb, D);
    }
}

void model_set_class_weight(sbir_model *m, float class_weight) {
    m->class_weight = class_weight > 0 ? class_weight : 0;
    m->Dc = m->Df + (m->class_weight > 0 ? m->C : 0);
}

void model_content_from_features(const sbir_model *m, const float *f, int B, float class_weight, float *out) {
    int Df = m->Df, C = m->C, D = Df + (class_weight > 0 ? C : 0);
    const float *W = m->content_head, *bias = m->content_head + (size_t)C * Df;
    float scale = sqrtf(class_weight);
    for (int i = 0; i < B; i++) {
        const float *fi = f + (size_t)i * Df;
        float *o = out + (size_t)i * D;
        double ss = 0; /* as l2norm_forward, without its per-call thread team */
        for (int k = 0; k < Df; k++) ss += (double)fi[k] * fi[k];
        float nr = (float)sqrt(ss + 1e-12f);
        for (int k = 0; k < Df; k++) o[k] = fi[k] / nr;
        if (class_weight <= 0) continue;
        float *p = o + Df, mx = -INFINITY;
        for (int c = 0; c < C; c++) {
            float z = bias[c];
            for (int k = 0; k < Df; k++) z += W[(size_t)c * Df + k] * fi[k];
            p[c] = z, mx = z > mx ? z : mx;
        }
        float sum = 0;
        for (int c = 0; c < C; c++) sum += p[c] = expf(p[c] - mx);
        for (int c = 0; c < C; c++) p[c] *= scale / sum;
    }
}

void model_embed_content(sbir_model *m, const float *x, int B, float *out) {
    net *n = m->structure;
    size_t in_sz = (size_t)n->in_c * n->in_h * n->in_w;
    int mb = SBIR_MIN(m->max_batch, 1024);
    float *mean = m->gallery_mirror ? mallocCheck(sizeof(float) * (size_t)SBIR_MIN(mb, B > 0 ? B : 1) * m->Df) : NULL;
    for (int b0 = 0; b0 < B; b0 += mb) {
        int nb = SBIR_MIN(mb, B - b0);
        const float *f = mean;
        if (mean) model_sketch_features(n, x + in_sz * b0, nb, mean);
        else f = net_forward(n, x + in_sz * b0, nb, 0);
        model_content_from_features(m, f, nb, m->class_weight, out + (size_t)m->Dc * b0);
    }
    free(mean);
}

void model_sketch_features(net *n, const float *x, int B, float *out) {
    int C = n->in_c, H = n->in_h, W = n->in_w, D = n->out_dim, mb = SBIR_MIN(n->max_batch, 1024);
    size_t in_sz = (size_t)C * H * W;
    float *mirror = mallocCheck(sizeof(float) * in_sz * (size_t)SBIR_MIN(mb, B > 0 ? B : 1));
    for (int b0 = 0; b0 < B; b0 += mb) {
        int nb = SBIR_MIN(mb, B - b0);
        const float *xb = x + in_sz * b0;
        for (size_t r = 0; r < (size_t)nb * C * H; r++)
            for (int w = 0; w < W; w++) mirror[r * W + w] = xb[r * W + (W - 1 - w)];
        float *o = out + (size_t)D * b0;
        const float *f = net_forward(n, xb, nb, 0);
        if (f) memcpy(o, f, sizeof(float) * (size_t)nb * D);
        const float *g = f ? net_forward(n, mirror, nb, 0) : NULL;
        for (size_t i = 0; i < (size_t)nb * D; i++) o[i] = g ? 0.5f * (o[i] + g[i]) : NAN; /* NaN: callers check */
    }
    free(mirror);
}

void model_embed_sketch_content(sbir_model *m, const float *x, int B, float *out) {
    float *f = mallocCheck(sizeof(float) * (size_t)(B > 0 ? B : 1) * m->Df);
    model_sketch_features(model_sketch_net(m), x, B, f);
    model_content_from_features(m, f, B, m->class_weight, out);
    free(f);
}

void model_embed_style(sbir_model *m, const float *x, int B, float *out) {
    embed(m->style, SBIR_MIN(m->max_batch, 1024), x, B, m->Ds, out);
}
