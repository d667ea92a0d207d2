// An owning buffer of floats: RAII, the rule of five, and moves that do not copy.
// Write the six member functions marked KATA_TODO(); the README explains each.
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>
#include "kata.h"

class Buffer {
public:
    explicit Buffer(std::size_t n);                   // n floats, all 0.0f
    Buffer(const Buffer &other);                      // a deep copy: its own memory, same contents
    Buffer(Buffer &&other) noexcept;                  // takes other's memory; other becomes empty
    Buffer &operator=(const Buffer &other);           // deep copy; safe when &other == this
    Buffer &operator=(Buffer &&other) noexcept;       // takes other's memory; safe when &other == this
    ~Buffer();                                        // gives the memory back

    float *data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    float *data_ = nullptr;   // owned: new float[size_] (nullptr when size_ is 0)
    std::size_t size_ = 0;
};

Buffer::Buffer(std::size_t n) {
    KATA_TODO();
}

Buffer::Buffer(const Buffer &other) {
    KATA_TODO();
}

Buffer::Buffer(Buffer &&other) noexcept {
    KATA_TODO();
}

Buffer &Buffer::operator=(const Buffer &other) {
    KATA_TODO();
    return *this;
}

Buffer &Buffer::operator=(Buffer &&other) noexcept {
    KATA_TODO();
    return *this;
}

Buffer::~Buffer() {
    KATA_TODO();
}

// ---- the C surface the tests call (do not edit below this line) ----------------------------------
extern "C" {
Buffer *buf_new(std::size_t n) { return new Buffer(n); }
Buffer *buf_copy(const Buffer *b) { return new Buffer(*b); }
Buffer *buf_move(Buffer *b) { return new Buffer(std::move(*b)); }
void buf_assign(Buffer *dst, const Buffer *src) { *dst = *src; }
void buf_move_assign(Buffer *dst, Buffer *src) { *dst = std::move(*src); }
void buf_free(Buffer *b) { delete b; }
float *buf_data(const Buffer *b) { return b->data(); }
std::size_t buf_size(const Buffer *b) { return b->size(); }
std::size_t buf_sizeof(void) { return sizeof(Buffer); }
int buf_traits(void) {
    return std::is_nothrow_move_constructible<Buffer>::value | std::is_nothrow_move_assignable<Buffer>::value << 1 |
           std::is_copy_constructible<Buffer>::value << 2;
}
}
