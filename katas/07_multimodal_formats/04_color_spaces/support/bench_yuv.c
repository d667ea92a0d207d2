/* Driver for callgrind: converts one 640x360 I420 frame (BT.709, limited range); only i420_to_rgb()
 * is counted. */
#include <stdio.h>
#include <stdlib.h>
#include "yuv.h"

int kata_todo_take(char *buf, int size);

int main(void) {
    int w = 640, h = 360, cw = 320, ch = 180;
    uint8_t *y = malloc(w * h), *u = malloc(cw * ch), *v = malloc(cw * ch), *rgb = malloc(3 * w * h);
    unsigned s = 12345;
    for (int i = 0; i < w * h; i++) { s = s * 1103515245u + 12345u; y[i] = 16 + (s >> 16) % 220; }
    for (int i = 0; i < cw * ch; i++) { s = s * 1103515245u + 12345u; u[i] = 16 + (s >> 16) % 225;
                                        s = s * 1103515245u + 12345u; v[i] = 16 + (s >> 16) % 225; }
    i420_to_rgb(y, u, v, w, h, w, cw, YUV_BT709, YUV_LIMITED, rgb);
    char where[512];
    if (kata_todo_take(where, sizeof where)) { fprintf(stderr, "not implemented yet: %s\n", where); return 3; }
    unsigned sum = 0;
    for (int i = 0; i < 3 * w * h; i++) sum += rgb[i];
    printf("%u\n", sum);
    return 0;
}
