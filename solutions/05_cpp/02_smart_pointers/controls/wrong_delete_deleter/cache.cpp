// Wrong control: the deleter uses delete[] on memory that came from std::aligned_alloc.
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include "kata.h"

// Frees memory that came from std::aligned_alloc.
struct AlignedFree {
    void operator()(float *p) const noexcept { delete[] p; }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

// n floats (all 0.0f) at an address that is a multiple of align; nullptr if align is not a power of
// two or is smaller than alignof(float), or if the memory cannot be had. n may be 0.
AlignedFloats make_aligned(std::size_t n, std::size_t align) {
    if (align < alignof(float) || (align & (align - 1)) != 0)
        return nullptr;
    std::size_t bytes = n * sizeof(float);
    std::size_t rounded = (bytes + align - 1) / align * align;
    if (rounded == 0)
        rounded = align;   // aligned_alloc(align, 0) may return NULL: ask for one alignment unit
    auto *p = static_cast<float *>(std::aligned_alloc(align, rounded));
    if (!p)
        return nullptr;
    std::memset(p, 0, rounded);
    return AlignedFloats(p);
}

struct Tensor {
    std::string name;
    std::size_t n;
    AlignedFloats data;   // 64-byte aligned
};

// The "load" of a tensor: n floats, value i is seed(name) + i.
static float seed(const std::string &name) {
    unsigned h = 2166136261u;
    for (unsigned char c : name) h = (h ^ c) * 16777619u;
    return (float)(h % 1000);
}

class TensorCache {
public:
    // The tensor called `name`: the same one every caller still holding it has, if any caller still
    // does; otherwise a freshly loaded one (n floats, 64-byte aligned, value i = seed(name) + i).
    // The cache itself must never keep a tensor alive.
    std::shared_ptr<Tensor> get(const std::string &name, std::size_t n) {
        std::weak_ptr<Tensor> &slot = entries_[name];
        if (std::shared_ptr<Tensor> alive = slot.lock())
            return alive;
        AlignedFloats data = make_aligned(n, 64);
        if (!data)
            return nullptr;
        float s = seed(name);
        for (std::size_t i = 0; i < n; i++)
            data[i] = s + (float)i;
        auto t = std::make_shared<Tensor>(Tensor{name, n, std::move(data)});
        slot = t;
        loads_++;
        return t;
    }
    std::size_t loads() const { return loads_; }   // how many times get() loaded a tensor
    std::size_t live() const {                     // how many cached tensors are still alive
        std::size_t k = 0;
        for (const auto &e : entries_)
            k += !e.second.expired();
        return k;
    }

private:
    std::size_t loads_ = 0;
    std::unordered_map<std::string, std::weak_ptr<Tensor>> entries_;
};

// ---- the C surface the tests call (do not edit below this line) ----------------------------------
using Handle = std::shared_ptr<Tensor>;
extern "C" {
float *aligned_new(std::size_t n, std::size_t align) { return make_aligned(n, align).release(); }
void aligned_delete(float *p) { AlignedFree{}(p); }
TensorCache *cache_new(void) { return new TensorCache(); }
void cache_free(TensorCache *c) { delete c; }
Handle *cache_get(TensorCache *c, const char *name, std::size_t n) {
    Handle h = c->get(name, n);
    return h ? new Handle(std::move(h)) : nullptr;
}
std::size_t cache_loads(const TensorCache *c) { return c->loads(); }
std::size_t cache_live(const TensorCache *c) { return c->live(); }
Handle *handle_copy(const Handle *h) { return new Handle(*h); }
void handle_free(Handle *h) { delete h; }
const float *handle_data(const Handle *h) { return (*h)->data.get(); }
std::size_t handle_size(const Handle *h) { return (*h)->n; }
long handle_use_count(const Handle *h) { return h->use_count(); }
float tensor_seed(const char *name) { return seed(name); }
}
