/* Driver for the sanitizer run: odd and even frame sizes, both layouts, every plane and the output in
 * heap blocks of exactly the size the header describes (the last row of each plane ends the block). */
#include <stdio.h>
#include <stdlib.h>
#include "yuv.h"

int kata_todo_take(char *buf, int size);

int main(void) {
    int sizes[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 2}, {2, 5}, {17, 9}, {64, 33}, {33, 64}};
    for (int k = 0; k < 8; k++) {
        int w = sizes[k][0], h = sizes[k][1], cw = (w + 1) / 2, ch = (h + 1) / 2;
        uint8_t *y = malloc(w * h), *u = malloc(cw * ch), *v = malloc(cw * ch), *uv = malloc(2 * cw * ch);
        uint8_t *rgb = malloc(3 * w * h);
        for (int i = 0; i < w * h; i++) y[i] = (uint8_t)(i * 7);
        for (int i = 0; i < cw * ch; i++) { u[i] = (uint8_t)(i * 13); v[i] = (uint8_t)(i * 29); }
        for (int i = 0; i < 2 * cw * ch; i++) uv[i] = (uint8_t)(i * 11);
        for (int m = 0; m < 2; m++)
            for (int r = 0; r < 2; r++) {
                i420_to_rgb(y, u, v, w, h, w, cw, m, r, rgb);
                nv12_to_rgb(y, uv, w, h, w, 2 * cw, m, r, rgb);
                char where[512];
                if (kata_todo_take(where, sizeof where)) { fprintf(stderr, "not implemented yet: %s\n", where); return 3; }
            }
        free(y); free(u); free(v); free(uv); free(rgb);
    }
    return 0;
}
