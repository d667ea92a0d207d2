/* prefetch_spy.h: force-included (gcc -include) into the measurement build only. Every
 * __builtin_prefetch(p, ...) then also records p, so the driver can check which element each prefetch
 * was for and how far ahead of its use it came. The other builds use the real builtin. */
#ifndef PREFETCH_SPY_H
#define PREFETCH_SPY_H
void kata_prefetch_spy(const void *p);
#define __builtin_prefetch(p, ...) kata_prefetch_spy((const void *)(p))
#endif
