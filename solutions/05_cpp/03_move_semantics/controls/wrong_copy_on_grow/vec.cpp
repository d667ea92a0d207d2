// Wrong control: growth copy-constructs the old elements, even when their move is noexcept.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include "kata.h"
#include "tracked.hpp"

template <class T>
class Vec {
public:
    Vec() = default;
    Vec(const Vec &) = delete;
    Vec &operator=(const Vec &) = delete;
    ~Vec() {
        clear_storage(data_, size_);
    }

    void push_back(const T &v) { emplace_back(v); }
    void push_back(T &&v) { emplace_back(std::move(v)); }

    template <class... Args>
    T &emplace_back(Args &&...args) {
        if (size_ < cap_) {
            ::new (static_cast<void *>(data_ + size_)) T(std::forward<Args>(args)...);
        } else {
            std::size_t new_cap = cap_ ? 2 * cap_ : 1;
            T *fresh = static_cast<T *>(::operator new(new_cap * sizeof(T)));
            // the new element first: args may refer to one of our elements
            ::new (static_cast<void *>(fresh + size_)) T(std::forward<Args>(args)...);
            relocate(fresh);
            cap_ = new_cap;
        }
        return data_[size_++];
    }

    void reserve(std::size_t cap) {
        if (cap <= cap_)
            return;
        T *fresh = static_cast<T *>(::operator new(cap * sizeof(T)));
        relocate(fresh);
        cap_ = cap;
    }

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return cap_; }
    T &operator[](std::size_t i) { return data_[i]; }

private:
    T *data_ = nullptr;          // raw memory for cap_ elements; the first size_ are constructed
    std::size_t size_ = 0;
    std::size_t cap_ = 0;

    // Move (or, if that may throw, copy) the elements into fresh, destroy the old ones, free the block.
    void relocate(T *fresh) {
        for (std::size_t i = 0; i < size_; i++)
            ::new (static_cast<void *>(fresh + i)) T(static_cast<const T &>(data_[i]));
        clear_storage(data_, size_);
        data_ = fresh;
    }
    static void clear_storage(T *p, std::size_t n) {
        for (std::size_t i = 0; i < n; i++)
            p[i].~T();
        ::operator delete(p);
    }
};

// ---- the C surface the tests call (do not edit below this line) ----------------------------------
// Each scenario runs on a fresh Vec and reports: [0] copies, [1] moves, [2] objects still alive after
// the Vec is gone, [3] values wrong, [4] final capacity, [5] final size, [6] uses of dead objects.
template <class T, class Fill>
static void scenario(int n, long *out, Fill fill, const int *expect = nullptr) {
    counts = Counts{};
    long wrong = 0;
    std::size_t cap = 0, size = 0;
    {
        Vec<T> v;
        fill(v, n);
        cap = v.capacity();
        size = v.size();
        for (std::size_t i = 0; i < v.size(); i++)
            wrong += v[i].value != (expect ? expect[i] : (int)(i % 1000));
        out[0] = counts.copies;
        out[1] = counts.moves;
    }
    out[2] = counts.live;
    out[3] = wrong;
    out[4] = (long)cap;
    out[5] = (long)size;
    out[6] = counts.bad;
}

extern "C" {
void run_push_rvalues(int n, long *out) {
    scenario<Tracked>(n, out, [](Vec<Tracked> &v, int n) { for (int i = 0; i < n; i++) v.push_back(Tracked(i % 1000)); });
}
void run_push_lvalues(int n, long *out) {
    scenario<Tracked>(n, out, [](Vec<Tracked> &v, int n) {
        for (int i = 0; i < n; i++) { Tracked t(i % 1000); v.push_back(t); }
    });
}
void run_emplace(int n, long *out) {
    scenario<Tracked>(n, out, [](Vec<Tracked> &v, int n) { for (int i = 0; i < n; i++) v.emplace_back(i % 1000); });
}
void run_reserve_then_push(int n, long *out) {
    scenario<Tracked>(n, out, [](Vec<Tracked> &v, int n) {
        v.reserve((std::size_t)n);
        for (int i = 0; i < n; i++) v.push_back(Tracked(i % 1000));
        v.reserve(1);   // never shrinks
    });
}
void run_may_throw(int n, long *out) {
    scenario<MayThrow>(n, out, [](Vec<MayThrow> &v, int n) { for (int i = 0; i < n; i++) v.emplace_back(i % 1000); });
}
// push_back(v[0]) whenever the Vec is full: v[0] lives in the memory that growing gives back.
void run_push_own_element(int n, long *out) {
    int *expect = new int[n > 0 ? n : 1];
    scenario<Tracked>(n, out, [expect](Vec<Tracked> &v, int n) {
        for (int i = 0; i < n; i++) {
            if (v.size() > 0 && v.size() == v.capacity()) {
                expect[i] = v[0].value;
                v.push_back(v[0]);
            } else {
                expect[i] = i % 1000;
                v.emplace_back(i % 1000);
            }
        }
    }, expect);
    delete[] expect;
}
}
