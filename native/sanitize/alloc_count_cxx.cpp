// alloc_count_cxx.cpp: global operator new/delete that count (native/sanitize.py links this into C++
// learner libraries with -Wl,-Bsymbolic, so the learner's `new` and `delete` come here). The site of
// each allocation is the caller of operator new: the learner's code (or a standard-library template
// instantiated inside it).
#include <cstdlib>
#include <new>

extern "C" void kata_count_alloc(void *p, std::size_t n, void *site);
extern "C" void kata_count_free(void *p);
extern "C" void *__real_malloc(std::size_t);
extern "C" void __real_free(void *);
extern "C" void *__real_aligned_alloc(std::size_t, std::size_t);

static void *get(std::size_t n, void *site) {
    void *p = __real_malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    kata_count_alloc(p, n, site);
    return p;
}

static void *get_aligned(std::size_t n, std::size_t a, void *site) {
    std::size_t rounded = (n + a - 1) / a * a;
    void *p = __real_aligned_alloc(a, rounded ? rounded : a);
    if (!p) throw std::bad_alloc();
    kata_count_alloc(p, n, site);
    return p;
}

static void put(void *p) {
    kata_count_free(p);
    __real_free(p);
}

void *operator new(std::size_t n) { return get(n, __builtin_return_address(0)); }
void *operator new[](std::size_t n) { return get(n, __builtin_return_address(0)); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    try { return get(n, __builtin_return_address(0)); } catch (...) { return nullptr; }
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
    try { return get(n, __builtin_return_address(0)); } catch (...) { return nullptr; }
}
void *operator new(std::size_t n, std::align_val_t a) { return get_aligned(n, (std::size_t)a, __builtin_return_address(0)); }
void *operator new[](std::size_t n, std::align_val_t a) { return get_aligned(n, (std::size_t)a, __builtin_return_address(0)); }
void operator delete(void *p) noexcept { put(p); }
void operator delete[](void *p) noexcept { put(p); }
void operator delete(void *p, std::size_t) noexcept { put(p); }
void operator delete[](void *p, std::size_t) noexcept { put(p); }
void operator delete(void *p, std::align_val_t) noexcept { put(p); }
void operator delete[](void *p, std::align_val_t) noexcept { put(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { put(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { put(p); }
