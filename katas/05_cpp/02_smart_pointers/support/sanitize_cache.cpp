// Driver for the sanitizer run: aligned buffers of awkward sizes, a cache whose tensors are shared,
// released, reloaded, and outlive the cache. A deleter that does not match the allocator, a size
// aligned_alloc does not accept, a read of a freed tensor or a leak is reported with the line.
#include <cstddef>
#include <cstdio>
#include <cstdlib>

struct TensorCache;
struct Handle;
extern "C" {
float *aligned_new(std::size_t n, std::size_t align);
void aligned_delete(float *p);
TensorCache *cache_new(void);
void cache_free(TensorCache *c);
Handle *cache_get(TensorCache *c, const char *name, std::size_t n);
std::size_t cache_loads(const TensorCache *c);
std::size_t cache_live(const TensorCache *c);
Handle *handle_copy(const Handle *h);
void handle_free(Handle *h);
const float *handle_data(const Handle *h);
std::size_t handle_size(const Handle *h);
int kata_todo_take(char *buf, int size);
}

static void todo() {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        std::fprintf(stderr, "not implemented yet: %s\n", w);
        std::exit(3);
    }
}

int main() {
    volatile float sink = 0;
    std::size_t sizes[] = {0, 1, 25, 1000}, aligns[] = {16, 64, 4096};
    for (std::size_t n : sizes)
        for (std::size_t a : aligns) {
            float *p = aligned_new(n, a);
            todo();
            for (std::size_t i = 0; i < n; i++) sink = sink + p[i];
            aligned_delete(p);
            todo();
        }
    TensorCache *c = cache_new();
    Handle *w1 = cache_get(c, "weights", 25);
    todo();
    Handle *w2 = cache_get(c, "weights", 25);
    Handle *b = cache_get(c, "bias", 3);
    Handle *w3 = handle_copy(w1);
    handle_free(w1);
    handle_free(w2);
    for (std::size_t i = 0; i < handle_size(w3); i++) sink = sink + handle_data(w3)[i];
    handle_free(w3);                              // "weights" is gone now
    Handle *w4 = cache_get(c, "weights", 25);     // loaded again
    sink = sink + (float)cache_live(c);
    todo();
    cache_free(c);                                // the handles outlive the cache
    for (std::size_t i = 0; i < handle_size(w4); i++) sink = sink + handle_data(w4)[i];
    handle_free(w4);
    handle_free(b);
    return 0;
}
