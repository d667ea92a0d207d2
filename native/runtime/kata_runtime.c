/* Linked into every library and program the harness builds from learner code. */
#include <stdio.h>
#include <string.h>
#include "kata.h"

static char todo_where[512];
static int todo_hit;

void kata_todo_at(const char *file, int line, const char *func) {
    if (!todo_hit)
        snprintf(todo_where, sizeof todo_where, "%s:%d %s()", file, line, func);
    todo_hit = 1;
}

void kata_todo(const char *where) {
    if (!todo_hit)
        snprintf(todo_where, sizeof todo_where, "%s", where);
    todo_hit = 1;
}

/* Returns 1 and copies the place if a KATA_TODO() ran since the last call; clears the mark. */
int kata_todo_take(char *buf, int size) {
    int hit = todo_hit;
    if (hit && buf && size > 0) {
        strncpy(buf, todo_where, (size_t)size - 1);
        buf[size - 1] = 0;
    }
    todo_hit = 0;
    return hit;
}
