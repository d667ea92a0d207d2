// Driver for the sanitizer run: every scenario of the C surface, under AddressSanitizer. Reading an
// element from a block that growing already freed is a heap-use-after-free with the line.
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

extern "C" {
void run_push_rvalues(int n, long *out);
void run_push_lvalues(int n, long *out);
void run_emplace(int n, long *out);
void run_reserve_then_push(int n, long *out);
void run_may_throw(int n, long *out);
void run_push_own_element(int n, long *out);
int kata_todo_take(char *buf, int size);
}

int main() {
    void (*runs[])(int, long *) = {run_push_rvalues, run_push_lvalues, run_emplace, run_reserve_then_push,
                                   run_may_throw, run_push_own_element};
    long out[7];
    for (auto run : runs)
        for (int n : {0, 1, 2, 5, 100}) {
            run(n, out);
            char w[512];
            if (kata_todo_take(w, sizeof w)) {
                std::fprintf(stderr, "not implemented yet: %s\n", w);
                return 3;
            }
        }
    return 0;
}
