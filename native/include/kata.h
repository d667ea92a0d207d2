/* kata.h: the one header every native kata may include.
 *
 * KATA_TODO() marks an unfinished function in a stub. When a test calls a function that is still
 * marked, the test fails with "not implemented yet: file:line function()" instead of checking a
 * garbage answer. Delete the line when you write the function.
 */
#ifndef KATA_H
#define KATA_H
#ifdef __cplusplus
extern "C" {
#endif

void kata_todo_at(const char *file, int line, const char *func);
void kata_todo(const char *where); /* the same, for assembly: one string argument */

#ifdef __cplusplus
}
#endif

#define KATA_TODO() kata_todo_at(__FILE__, __LINE__, __func__)

#endif
