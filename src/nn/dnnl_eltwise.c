/* dnnl_eltwise.c — (leaky) ReLU on oneDNN (see dnnl_eltwise.h). */
#include "nn/dnnl_eltwise.h"

#include <string.h>

int dn_eltwise_init(dn_eltwise *e, const dnnl_memory_desc_t *md, float slope) {
    memset(e, 0, sizeof *e);
    e->slope = slope, e->md = *md;
    dnnl_eltwise_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    DN_CHECK(dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training, dnnl_eltwise_relu, md, slope, 0));
    DN_CHECK(dnnl_eltwise_backward_desc_init(&bd, dnnl_eltwise_relu, md, md, slope, 0));
    DN_CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, dn_engine(), NULL));
    dnnl_status_t s = dnnl_primitive_desc_create(&bpd, &bd, NULL, dn_engine(), fpd);
    int rc = dn_prim(&e->fwd, fpd);
    if (s != dnnl_success) return sbir_error("eltwise: no oneDNN backward implementation: %s", dnnl_status2str(s));
    if (rc == SBIR_OK) rc = dn_prim(&e->bwd, bpd);
    else dnnl_primitive_desc_destroy(bpd);
    return rc;
}

int dn_eltwise_forward(dn_eltwise *e, dnnl_memory_t src, dnnl_memory_t dst) {
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    return dn_exec(e->fwd, 2, a);
}

int dn_eltwise_backward(dn_eltwise *e, dnnl_memory_t src, dnnl_memory_t ddst, dnnl_memory_t dsrc) {
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_SRC, dsrc}};
    return dn_exec(e->bwd, 3, a);
}

void dn_eltwise_destroy(dn_eltwise *e) {
    dn_free_prim(&e->fwd);
    dn_free_prim(&e->bwd);
}
