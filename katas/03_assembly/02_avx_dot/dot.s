# dot.s: a float32 dot product with AVX2 and FMA, in x86-64 assembly (AT&T syntax).
#
# float dot_f32(const float *a, const float *b, long n)
#   a in %rdi, b in %rsi, n in %rdx (n >= 0); return sum of a[i] * b[i] in %xmm0.
#   a and b may sit at any address (4-byte aligned, not 32): use unaligned loads (vmovups).
#   Read nothing past a[n-1] or b[n-1]: the tests put the arrays' ends next to an unmapped page.
#   AVX2 + FMA only (no AVX-512: valgrind measures this). End with vzeroupper before ret.
#
# Replace the two lines of the stub with your code.

        .text
        .globl  dot_f32
        .type   dot_f32, @function
dot_f32:
        leaq    .Lwhere(%rip), %rdi
        jmp     kata_todo@PLT
        .size   dot_f32, .-dot_f32

        .section .rodata
.Lwhere: .asciz "dot.s: dot_f32()"

        .section .note.GNU-stack,"",@progbits
