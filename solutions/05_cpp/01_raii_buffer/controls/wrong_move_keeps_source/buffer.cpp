// Wrong control: the move constructor copies the pointer and leaves it in the source too.
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

Buffer::Buffer(std::size_t n) : data_(n ? new float[n]() : nullptr), size_(n) {}

Buffer::Buffer(const Buffer &other)
    : data_(other.size_ ? new float[other.size_] : nullptr), size_(other.size_) {
    if (size_)
        std::memcpy(data_, other.data_, size_ * sizeof(float));
}

Buffer::Buffer(Buffer &&other) noexcept : data_(other.data_), size_(other.size_) {}

Buffer &Buffer::operator=(const Buffer &other) {
    if (this != &other) {
        Buffer copy(other);          // may throw: *this is untouched if it does
        std::swap(data_, copy.data_);
        std::swap(size_, copy.size_);
    }                                // copy's destructor frees our old memory
    return *this;
}

Buffer &Buffer::operator=(Buffer &&other) noexcept {
    if (this != &other) {
        delete[] data_;
        data_ = other.data_;
        size_ = other.size_;
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

Buffer::~Buffer() {
    delete[] data_;
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
