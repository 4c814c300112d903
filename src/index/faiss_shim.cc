// faiss_shim.cc — extern "C" wrapper over FAISS 1.7.3 (see faiss_shim.h). C++17, exceptions stop here.
#include "index/faiss_shim.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <omp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

extern "C" {
#include "util/atomic_file.h"
#include "util/common.h"
}

struct sbir_faiss {
    faiss::Index *index = nullptr;
    std::string desc;
};

namespace {

constexpr char kMagic[8] = {'S', 'B', 'I', 'R', 'F', 'A', 'I', '1'};
constexpr char kEnd[8] = {'S', 'B', 'I', 'R', 'F', 'E', 'N', 'D'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 16, kTrailer = 24;

// FAISS messages read "Error in <signature> at <file>:<line>: Error: '<cond>' failed: <msg>"; the part
// from "Error: " on is what a user can act on, on one line.
int fail_from(const char *what) {
    std::string s = what ? what : "unknown error";
    size_t p = s.rfind("Error: ");
    if (p != std::string::npos) s = s.substr(p + 7);
    for (char &c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return sbir_error("faiss: %s", s.c_str());
}

#define SHIM_TRY try {
#define SHIM_CATCH(ret)                                    \
    }                                                      \
    catch (const std::exception &e) {                      \
        fail_from(e.what());                               \
        return ret;                                        \
    }                                                      \
    catch (...) {                                          \
        sbir_error("faiss: unknown C++ exception");        \
        return ret;                                        \
    }

bool bad_dim(int d) {
    if (d >= 1 && d <= 65536) return false;
    sbir_error("faiss: dimension %d outside 1..65536", d);
    return true;
}

sbir_faiss *wrap(faiss::Index *index) {
    sbir_faiss *f = new sbir_faiss;
    f->index = index;
    return f;
}

faiss::IndexIVF *as_ivf(const sbir_faiss *f) { return dynamic_cast<faiss::IndexIVF *>(f->index); }
faiss::IndexHNSW *as_hnsw(const sbir_faiss *f) { return dynamic_cast<faiss::IndexHNSW *>(f->index); }

// Streams FAISS's serialisation into an atomic file (which keeps the running CRC-32).
struct AfileWriter : faiss::IOWriter {
    sbir_afile *af;
    explicit AfileWriter(sbir_afile *a) : af(a) {}
    size_t operator()(const void *ptr, size_t size, size_t nitems) override {
        if (size == 0 || nitems == 0) return nitems;
        if (afile_write(af, ptr, size * nitems) != SBIR_OK) return 0;  // FAISS throws on a short write
        return nitems;
    }
};

// Reads at most `left` bytes (the payload), so a lying length field inside FAISS's format cannot read
// into the trailer or past the end: FAISS sees a short read and throws.
struct LimitedReader : faiss::IOReader {
    FILE *fp;
    uint64_t left;
    LimitedReader(FILE *f, uint64_t n) : fp(f), left(n) {}
    size_t operator()(void *ptr, size_t size, size_t nitems) override {
        if (size == 0 || nitems == 0) return 0;
        size_t fit = (size_t)(left / size);
        if (nitems > fit) nitems = fit;
        size_t got = fread(ptr, size, nitems, fp);
        left -= (uint64_t)got * size;
        return got;
    }
};

void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}
void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}
uint32_t get_u32(const unsigned char *b) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}
uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

}  // namespace

extern "C" {

sbir_faiss *sbir_faiss_flat_ip(int d) {
    if (bad_dim(d)) return nullptr;
    SHIM_TRY
    return wrap(new faiss::IndexFlatIP(d));
    SHIM_CATCH(nullptr)
}

sbir_faiss *sbir_faiss_ivf_flat(int d, int nlist, int nprobe) {
    if (bad_dim(d)) return nullptr;
    if (nlist < 1 || nlist > (1 << 24)) return sbir_error("faiss: nlist %d outside 1..16777216", nlist), nullptr;
    if (nprobe < 1) return sbir_error("faiss: nprobe %d must be at least 1", nprobe), nullptr;
    SHIM_TRY
    std::unique_ptr<faiss::IndexFlatIP> q(new faiss::IndexFlatIP(d));
    auto *ivf = new faiss::IndexIVFFlat(q.get(), d, (size_t)nlist, faiss::METRIC_INNER_PRODUCT);
    q.release();
    ivf->own_fields = true;
    ivf->nprobe = (size_t)nprobe;
    ivf->cp.spherical = true;  // centroids of unit vectors, renormalised: the right k-means for IP
    return wrap(ivf);
    SHIM_CATCH(nullptr)
}

sbir_faiss *sbir_faiss_ivf_pq(int d, int nlist, int m, int nbits, int nprobe) {
    if (bad_dim(d)) return nullptr;
    if (nlist < 1 || nlist > (1 << 24)) return sbir_error("faiss: nlist %d outside 1..16777216", nlist), nullptr;
    if (nprobe < 1) return sbir_error("faiss: nprobe %d must be at least 1", nprobe), nullptr;
    if (m < 1 || m > d) return sbir_error("faiss: PQ m=%d outside 1..%d", m, d), nullptr;
    if (nbits < 1 || nbits > 16) return sbir_error("faiss: PQ nbits=%d outside 1..16", nbits), nullptr;
    SHIM_TRY
    std::unique_ptr<faiss::IndexFlatIP> q(new faiss::IndexFlatIP(d));
    // d % m != 0 is left to FAISS, which throws from the constructor; the unique_ptr frees q then.
    auto *ivf = new faiss::IndexIVFPQ(q.get(), d, (size_t)nlist, (size_t)m, (size_t)nbits,
                                      faiss::METRIC_INNER_PRODUCT);
    q.release();
    ivf->own_fields = true;
    ivf->nprobe = (size_t)nprobe;
    ivf->cp.spherical = true;
    return wrap(ivf);
    SHIM_CATCH(nullptr)
}

sbir_faiss *sbir_faiss_hnsw_flat(int d, int M, int ef_search) {
    if (bad_dim(d)) return nullptr;
    if (M < 2 || M > 512) return sbir_error("faiss: HNSW M=%d outside 2..512", M), nullptr;
    if (ef_search < 1) return sbir_error("faiss: HNSW efSearch=%d must be at least 1", ef_search), nullptr;
    SHIM_TRY
    auto *h = new faiss::IndexHNSWFlat(d, M, faiss::METRIC_INNER_PRODUCT);
    h->hnsw.efSearch = ef_search;
    return wrap(h);
    SHIM_CATCH(nullptr)
}

void sbir_faiss_free(sbir_faiss *f) {
    if (!f) return;
    try {
        delete f->index;
    } catch (...) {
    }
    delete f;
}

int sbir_faiss_dim(const sbir_faiss *f) { return (int)f->index->d; }
int64_t sbir_faiss_count(const sbir_faiss *f) { return (int64_t)f->index->ntotal; }
int sbir_faiss_is_trained(const sbir_faiss *f) { return f->index->is_trained ? 1 : 0; }

const char *sbir_faiss_describe(sbir_faiss *f) {
    char buf[128];
    const faiss::Index *ix = f->index;
    if (auto *p = dynamic_cast<const faiss::IndexIVFPQ *>(ix))
        snprintf(buf, sizeof buf, "IVF%zu,PQ%zux%zu nprobe=%zu", p->nlist, p->pq.M, p->pq.nbits, p->nprobe);
    else if (auto *v = dynamic_cast<const faiss::IndexIVF *>(ix))
        snprintf(buf, sizeof buf, "IVF%zu,Flat nprobe=%zu", v->nlist, v->nprobe);
    else if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(ix))
        snprintf(buf, sizeof buf, "HNSW%d,Flat efSearch=%d", h->hnsw.nb_neighbors(1), h->hnsw.efSearch);
    else if (dynamic_cast<const faiss::IndexFlat *>(ix))
        snprintf(buf, sizeof buf, "Flat");
    else
        snprintf(buf, sizeof buf, "other");
    try {
        f->desc = buf;
    } catch (...) {  // out of memory for a short string: keep the previous description
    }
    return f->desc.c_str();
}

int sbir_faiss_train(sbir_faiss *f, int64_t n, const float *x) {
    if (n < 1 || !x) return sbir_error("faiss: train needs at least one vector");
    SHIM_TRY
    f->index->train((faiss::Index::idx_t)n, x);
    return SBIR_OK;
    SHIM_CATCH(SBIR_ERR)
}

int sbir_faiss_add(sbir_faiss *f, int64_t n, const float *x) {
    if (n < 0 || (n > 0 && !x)) return sbir_error("faiss: add of %lld vectors", (long long)n);
    if (n == 0) return SBIR_OK;
    if (!f->index->is_trained) return sbir_error("faiss: add before train (this index kind needs training)");
    SHIM_TRY
    f->index->add((faiss::Index::idx_t)n, x);
    return SBIR_OK;
    SHIM_CATCH(SBIR_ERR)
}

int sbir_faiss_search(const sbir_faiss *f, int64_t nq, const float *q, int k, float *scores, int64_t *rows) {
    if (nq < 1 || !q) return sbir_error("faiss: search needs at least one query");
    if (k < 1) return sbir_error("faiss: k=%d must be at least 1", k);
    if (!f->index->is_trained) return sbir_error("faiss: search before train");
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS ids are 64-bit");
    if (f->index->ntotal == 0) {  // HNSW does not like an empty graph; the answer is known anyway
        for (int64_t i = 0; i < nq * k; i++) scores[i] = 0, rows[i] = -1;
        return nq == 1 ? 0 : SBIR_OK;
    }
    SHIM_TRY
    f->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, scores,
                     reinterpret_cast<faiss::Index::idx_t *>(rows));
    if (nq > 1) return SBIR_OK;
    int found = 0;
    while (found < k && rows[found] >= 0) found++;
    return found;
    SHIM_CATCH(SBIR_ERR)
}

int sbir_faiss_set_nprobe(sbir_faiss *f, int nprobe) {
    faiss::IndexIVF *ivf = as_ivf(f);
    if (!ivf) return sbir_error("faiss: nprobe applies to IVF indexes only");
    if (nprobe < 1) return sbir_error("faiss: nprobe %d must be at least 1", nprobe);
    ivf->nprobe = (size_t)nprobe;
    return SBIR_OK;
}

int sbir_faiss_set_ef_search(sbir_faiss *f, int ef_search) {
    faiss::IndexHNSW *h = as_hnsw(f);
    if (!h) return sbir_error("faiss: efSearch applies to HNSW indexes only");
    if (ef_search < 1) return sbir_error("faiss: efSearch %d must be at least 1", ef_search);
    h->hnsw.efSearch = ef_search;
    return SBIR_OK;
}

int sbir_faiss_set_parallel_mode(sbir_faiss *f, int mode) {
    faiss::IndexIVF *ivf = as_ivf(f);
    if (!ivf) return sbir_error("faiss: parallel_mode applies to IVF indexes only");
    if (mode < 0 || mode > 3) return sbir_error("faiss: parallel_mode %d outside 0..3", mode);
    ivf->parallel_mode = mode;
    return SBIR_OK;
}

void sbir_faiss_set_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }

int sbir_faiss_save(const sbir_faiss *f, const char *path) {
    sbir_afile *af = afile_open(path);
    if (!af) return SBIR_ERR;
    unsigned char head[kHeader] = {0};
    memcpy(head, kMagic, 8);
    put_u32(head + 8, kVersion);
    if (afile_write(af, head, sizeof head) != SBIR_OK) {
        afile_abort(af);
        return SBIR_ERR;
    }
    try {
        AfileWriter w(af);
        w.name = path;
        faiss::write_index(f->index, &w);
    } catch (const std::exception &e) {
        fail_from(e.what());
        sbir_error_prefix("%s", path);
        afile_abort(af);
        return SBIR_ERR;
    } catch (...) {
        sbir_error("%s: faiss: unknown C++ exception while writing", path);
        afile_abort(af);
        return SBIR_ERR;
    }
    unsigned char tail[kTrailer] = {0};
    put_u64(tail, afile_size(af) - kHeader);
    put_u32(tail + 8, afile_crc(af));
    memcpy(tail + 16, kEnd, 8);
    if (afile_write(af, tail, sizeof tail) != SBIR_OK) {
        afile_abort(af);
        return SBIR_ERR;
    }
    return afile_commit(af);
}

sbir_faiss *sbir_faiss_load(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return sbir_error("%s: cannot open: %s", path, strerror(errno)), nullptr;
    auto fail = [&](const char *why) -> sbir_faiss * {
        sbir_error("%s: %s", path, why);
        fclose(fp);
        return nullptr;
    };
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) return fail("not a regular file");
    uint64_t size = (uint64_t)st.st_size;
    if (size < kHeader + kTrailer) return fail("too short to be a FAISS index (truncated?)");
    unsigned char head[kHeader], tail[kTrailer];
    if (fread(head, 1, kHeader, fp) != kHeader) return fail("cannot read the header");
    if (memcmp(head, kMagic, 8) != 0) return fail("not an sbir FAISS index (bad magic)");
    if (get_u32(head + 8) != kVersion) return fail("unsupported FAISS index wrapper version");
    if (fseeko(fp, (off_t)(size - kTrailer), SEEK_SET) != 0 || fread(tail, 1, kTrailer, fp) != kTrailer)
        return fail("cannot read the trailer");
    if (memcmp(tail + 16, kEnd, 8) != 0) return fail("bad trailer (truncated or corrupt)");
    uint64_t payload = get_u64(tail);
    if (payload != size - kHeader - kTrailer) return fail("payload length does not match the file size (truncated?)");
    // Verify the CRC of header + payload before FAISS parses anything.
    if (fseeko(fp, 0, SEEK_SET) != 0) return fail("cannot seek");
    uint32_t crc = 0;
    std::unique_ptr<unsigned char[]> buf(new unsigned char[1 << 20]);
    for (uint64_t left = size - kTrailer; left > 0;) {
        size_t want = left < (1u << 20) ? (size_t)left : (1u << 20);
        if (fread(buf.get(), 1, want, fp) != want) return fail("short read while checking the CRC");
        crc = sbir_crc32(crc, buf.get(), want);
        left -= want;
    }
    if (crc != get_u32(tail + 8)) return fail("CRC-32 mismatch (corrupt file)");
    if (fseeko(fp, (off_t)kHeader, SEEK_SET) != 0) return fail("cannot seek");
    try {
        LimitedReader r(fp, payload);
        r.name = path;
        std::unique_ptr<faiss::Index> ix(faiss::read_index(&r));
        if (r.left != 0) return fail("trailing bytes after the FAISS payload");
        fclose(fp);
        return wrap(ix.release());
    } catch (const std::exception &e) {
        fail_from(e.what());
        sbir_error_prefix("%s", path);
    } catch (...) {
        sbir_error("%s: faiss: unknown C++ exception while reading", path);
    }
    fclose(fp);
    return nullptr;
}

}  // extern "C"
