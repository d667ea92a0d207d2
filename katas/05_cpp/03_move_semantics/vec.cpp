// A growable array (a small std::vector) whose growth moves elements instead of copying them.
// Write the members marked KATA_TODO(); the README explains the rules.
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
        KATA_TODO();   // destroy the elements, free the memory
    }

    void push_back(const T &v) {   // copy v in (v may be an element of this Vec!)
        KATA_TODO();
    }
    void push_back(T &&v) {        // move v in
        KATA_TODO();
    }
    template <class... Args>
    T &emplace_back(Args &&...args) {   // construct in place from args
        KATA_TODO();
        return data_[0];
    }
    void reserve(std::size_t cap) {     // room for at least cap elements
        KATA_TODO();
    }

    std::size_t size() const { return size_; }
    std::size_t capacity() const { return cap_; }
    T &operator[](std::size_t i) { return data_[i]; }

private:
    T *data_ = nullptr;          // raw memory for cap_ elements; the first size_ are constructed
    std::size_t size_ = 0;
    std::size_t cap_ = 0;
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
