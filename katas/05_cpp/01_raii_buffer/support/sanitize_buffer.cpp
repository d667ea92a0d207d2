// Driver for the sanitizer run: copies, moves, self-assignments and a std::vector of Buffers through
// the C surface, then frees everything. A double delete, a read of freed memory or a leak is reported
// with the line in buffer.cpp.
#include <cstdio>
#include <cstdlib>
#include <cstddef>

struct Buffer;
extern "C" {
Buffer *buf_new(std::size_t n);
Buffer *buf_copy(const Buffer *b);
Buffer *buf_move(Buffer *b);
void buf_assign(Buffer *dst, const Buffer *src);
void buf_move_assign(Buffer *dst, Buffer *src);
void buf_free(Buffer *b);
float *buf_data(const Buffer *b);
std::size_t buf_size(const Buffer *b);
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
    Buffer *a = buf_new(100);
    todo();
    for (std::size_t i = 0; i < buf_size(a); i++) buf_data(a)[i] = (float)i;
    Buffer *b = buf_copy(a);          // deep copy
    todo();
    Buffer *c = buf_move(b);          // b is now empty
    todo();
    buf_assign(a, a);                 // self copy-assignment
    todo();
    volatile float sink = 0;
    for (std::size_t i = 0; i < buf_size(a); i++) sink = sink + buf_data(a)[i];
    buf_move_assign(c, c);            // self move-assignment
    todo();
    Buffer *d = buf_new(7);
    buf_assign(d, a);                 // d's 7 floats must be given back
    buf_move_assign(d, c);            // d's 100 floats must be given back
    todo();
    Buffer *e = buf_new(0);
    buf_assign(e, b);                 // from an empty (moved-from) buffer
    buf_free(a);
    buf_free(b);
    buf_free(c);
    buf_free(d);
    buf_free(e);
    todo();
    return 0;
}
