/* dnnl_common.c — engine/stream lifetime, memory helpers, reorders, plain<->blocked weights. */
#include "nn/dnnl_common.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_refs;
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;

int dn_acquire(void) {
    int rc = SBIR_OK;
    pthread_mutex_lock(&g_lock);
    if (g_refs == 0) {
        dnnl_status_t s = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
        if (s == dnnl_success) {
            s = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
            if (s != dnnl_success) dnnl_engine_destroy(g_engine);
        }
        if (s != dnnl_success) rc = sbir_error("oneDNN: cannot create the CPU engine: %s", dnnl_status2str(s));
    }
    if (rc == SBIR_OK) g_refs++;
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void dn_release(void) {
    pthread_mutex_lock(&g_lock);
    if (g_refs > 0 && --g_refs == 0) {
        dnnl_stream_destroy(g_stream);
        dnnl_engine_destroy(g_engine);
        g_stream = NULL;
        g_engine = NULL;
    }
    pthread_mutex_unlock(&g_lock);
}

dnnl_engine_t dn_engine(void) { return g_engine; }
dnnl_stream_t dn_stream(void) { return g_stream; }

static const dnnl_format_tag_t k_plain_tags[] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd,
                                                 dnnl_abcde};

int dn_md_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims) {
    if (ndims < 1 || ndims > 5) return sbir_error("oneDNN: unsupported rank %d", ndims);
    DN_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, k_plain_tags[ndims]));
    return SBIR_OK;
}

int dn_md_any(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims) {
    DN_CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, dnnl_format_tag_any));
    return SBIR_OK;
}

int dn_md_act(dnnl_memory_desc_t *md, int B, int C, int H, int W) {
    dnnl_dims_t d = {B, C, H, W}, wd = {C, C, 3, 3}, one = {1, 1};
    dnnl_memory_desc_t a, w;
    DN_TRY(dn_md_any(&a, 4, d));
    DN_TRY(dn_md_any(&w, 4, wd));
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;
    DN_CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &a, &w, NULL, &a,
                                                one, one, one));
    DN_CHECK(dnnl_primitive_desc_create(&pd, &cd, NULL, g_engine, NULL));
    *md = *dn_pd_md(pd, dnnl_query_dst_md);
    dnnl_primitive_desc_destroy(pd);
    return SBIR_OK;
}

int dn_direct_enabled(void) {
    const char *e = getenv("SBIR_DNNL_NO_DIRECT");
    return !(e && !strcmp(e, "1"));
}

int dn_md_dense_block(const dnnl_memory_desc_t *md, dnnl_format_tag_t *tag) {
    static const dnnl_format_tag_t tags[] = {dnnl_abcd, dnnl_aBcd8b, dnnl_aBcd16b};
    static const int blks[] = {1, 8, 16};
    if (md->ndims != 4) return 0;
    for (int i = 0; i < 3; i++) {
        dnnl_memory_desc_t d;
        if (dnnl_memory_desc_init_by_tag(&d, 4, md->dims, dnnl_f32, tags[i]) == dnnl_success &&
            dnnl_memory_desc_equal(&d, md)) {
            if (tag) *tag = tags[i];
            return blks[i];
        }
    }
    return 0;
}

int dn_md_plain_like(dnnl_memory_desc_t *plain, const dnnl_memory_desc_t *md) {
    return dn_md_plain(plain, md->ndims, md->dims);
}

int dn_md_is_plain(const dnnl_memory_desc_t *md) {
    dnnl_memory_desc_t p;
    if (dn_md_plain_like(&p, md) != SBIR_OK) return 0;
    return dnnl_memory_desc_equal(&p, md);
}

size_t dn_md_nelems(const dnnl_memory_desc_t *md) {
    size_t n = 1;
    for (int i = 0; i < md->ndims; i++) n *= (size_t)md->dims[i];
    return n;
}

int dn_mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md) {
    DN_CHECK(dnnl_memory_create(m, md, g_engine, DNNL_MEMORY_ALLOCATE));
    void *h = NULL;
    DN_CHECK(dnnl_memory_get_data_handle(*m, &h));
    memset(h, 0, dnnl_memory_desc_get_size(md));
    return SBIR_OK;
}

int dn_mem_user(dnnl_memory_t *m, const dnnl_memory_desc_t *md, void *handle) {
    /* DNNL_MEMORY_NONE would leave the handle NULL; a dummy non-NULL one is replaced before use. */
    DN_CHECK(dnnl_memory_create(m, md, g_engine, handle ? handle : DNNL_MEMORY_NONE));
    return SBIR_OK;
}

const dnnl_memory_desc_t *dn_mem_md(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

float *dn_ptr(dnnl_memory_t m) {
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    return h;
}

int dn_set_ptr(dnnl_memory_t m, const void *p) {
    DN_CHECK(dnnl_memory_set_data_handle(m, (void *)p));
    return SBIR_OK;
}

const dnnl_memory_desc_t *dn_pd_md(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

int dn_prim(dnnl_primitive_t *p, dnnl_primitive_desc_t pd) {
    dnnl_status_t s = dnnl_primitive_create(p, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) {
        *p = NULL;
        return sbir_error("oneDNN: cannot create a primitive: %s", dnnl_status2str(s));
    }
    return SBIR_OK;
}

int dn_exec(dnnl_primitive_t p, int nargs, const dnnl_exec_arg_t *args) {
    DN_CHECK(dnnl_primitive_execute(p, g_stream, nargs, args));
    return SBIR_OK;
}

const char *dn_impl_name(dnnl_primitive_t p) {
    const_dnnl_primitive_desc_t pd = NULL;
    const char *s = NULL;
    if (p && dnnl_primitive_get_primitive_desc(p, &pd) == dnnl_success)
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s ? s : "?";
}

int dn_reorder_create(dnnl_primitive_t *r, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                      int accumulate) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_success;
    if (accumulate) {
        s = dnnl_primitive_attr_create(&attr);
        if (s == dnnl_success) s = dnnl_post_ops_create(&po);
        if (s == dnnl_success) s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, g_engine, to, g_engine, attr);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return sbir_error("oneDNN: cannot create a reorder: %s", dnnl_status2str(s));
    return dn_prim(r, pd);
}

int dn_reorder(dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dn_exec(r, 2, a);
}

/* The one-off copy: a temporary wrapper and reorder, both destroyed before returning. */
static int copy_plain(dnnl_memory_t m, float *plain, int to_plain) {
    const dnnl_memory_desc_t *md = dn_mem_md(m);
    dnnl_memory_desc_t pmd;
    dnnl_memory_t u = NULL;
    dnnl_primitive_t r = NULL;
    int rc = dn_md_plain_like(&pmd, md);
    if (rc == SBIR_OK) rc = dn_mem_user(&u, &pmd, plain);
    if (rc == SBIR_OK) rc = to_plain ? dn_reorder_create(&r, md, &pmd, 0) : dn_reorder_create(&r, &pmd, md, 0);
    if (rc == SBIR_OK) rc = to_plain ? dn_reorder(r, m, u) : dn_reorder(r, u, m);
    if (rc == SBIR_OK && dnnl_stream_wait(g_stream) != dnnl_success) rc = sbir_error("oneDNN: stream wait failed");
    dn_free_prim(&r);
    dn_free_mem(&u);
    return rc;
}
int dn_write_plain(dnnl_memory_t m, const float *src) { return copy_plain(m, (float *)src, 0); }
int dn_read_plain(dnnl_memory_t m, float *dst) { return copy_plain(m, dst, 1); }

int dn_pd_is_ref(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s && !strncmp(s, "ref", 3);
}

int dn_adapt_init(dn_adapt *a, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, int output) {
    memset(a, 0, sizeof *a);
    if (dnnl_memory_desc_equal(from, to)) return SBIR_OK;
    DN_TRY(dn_reorder_create(&a->r, from, to, 0));
    return dn_mem(&a->m, output ? from : to); /* the primitive's side */
}

dnnl_memory_t dn_adapt_in(dn_adapt *a, dnnl_memory_t from) {
    if (!a->r) return from;
    return dn_reorder(a->r, from, a->m) == SBIR_OK ? a->m : NULL;
}

int dn_adapt_out_done(dn_adapt *a, dnnl_memory_t to) { return a->r ? dn_reorder(a->r, a->m, to) : SBIR_OK; }

void dn_adapt_destroy(dn_adapt *a) {
    dn_free_prim(&a->r);
    dn_free_mem(&a->m);
}

void dn_free_prim(dnnl_primitive_t *p) {
    if (*p) dnnl_primitive_destroy(*p);
    *p = NULL;
}

void dn_free_mem(dnnl_memory_t *m) {
    if (*m) dnnl_memory_destroy(*m);
    *m = NULL;
}

/* A layout equal to the master's is used in place (the handle points at the master): no copy. */
int dn_weights_init(dn_weights *w, const dnnl_memory_desc_t *plain_md, const dnnl_memory_desc_t *fwd_md,
                    const dnnl_memory_desc_t *bwd_md, const dnnl_memory_desc_t *diff_md) {
    memset(w, 0, sizeof *w);
    DN_TRY(dn_mem_user(&w->plain, plain_md, NULL));
    if (dnnl_memory_desc_equal(fwd_md, plain_md)) {
        DN_TRY(dn_mem_user(&w->fwd, fwd_md, NULL));
    } else {
        DN_TRY(dn_mem(&w->fwd, fwd_md));
        DN_TRY(dn_reorder_create(&w->to_fwd, plain_md, fwd_md, 0));
    }
    if (bwd_md && !dnnl_memory_desc_equal(bwd_md, fwd_md)) {
        if (dnnl_memory_desc_equal(bwd_md, plain_md)) {
            DN_TRY(dn_mem_user(&w->bwd, bwd_md, NULL));
        } else {
            DN_TRY(dn_mem(&w->bwd, bwd_md));
            DN_TRY(dn_reorder_create(&w->to_bwd, plain_md, bwd_md, 0));
        }
    }
    if (diff_md) {
        DN_TRY(dn_mem(&w->diff, diff_md));
        DN_TRY(dn_mem_user(&w->diff_plain, plain_md, NULL));
        DN_TRY(dn_reorder_create(&w->diff_to_plain, diff_md, plain_md, 1));
    }
    return SBIR_OK;
}

int dn_weights_load(dn_weights *w, const float *master) {
    DN_TRY(dn_set_ptr(w->plain, master));
    if (w->to_fwd) DN_TRY(dn_reorder(w->to_fwd, w->plain, w->fwd));
    else DN_TRY(dn_set_ptr(w->fwd, master));
    if (w->bwd) {
        if (w->to_bwd) DN_TRY(dn_reorder(w->to_bwd, w->plain, w->bwd));
        else DN_TRY(dn_set_ptr(w->bwd, master));
    }
    return SBIR_OK;
}

int dn_weights_grad(dn_weights *w, float *grad) {
    DN_TRY(dn_set_ptr(w->diff_plain, grad));
    return dn_reorder(w->diff_to_plain, w->diff, w->diff_plain);
}

void dn_weights_destroy(dn_weights *w) {
    dn_free_prim(&w->to_fwd);
    dn_free_prim(&w->to_bwd);
    dn_free_prim(&w->diff_to_plain);
    dn_free_mem(&w->plain);
    dn_free_mem(&w->fwd);
    dn_free_mem(&w->bwd);
    dn_free_mem(&w->diff);
    dn_free_mem(&w->diff_plain);
}
