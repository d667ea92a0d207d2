# dot8.s: an exact int8 dot product with AVX2, in x86-64 assembly (AT&T syntax).
#
# int dot_i8(const int8_t *a, const int8_t *b, long n)
#   a in %rdi, b in %rsi, n in %rdx (0 <= n <= 100000); return sum of a[i] * b[i] in %eax, EXACT.
#   Any alignment; read nothing past a[n-1] or b[n-1]. AVX2 only (no AVX-512, no AVX-VNNI: valgrind
#   measures this). End with vzeroupper before ret.
#
# Replace the two lines of the stub with your code.

        .text
        .globl  dot_i8
        .type   dot_i8, @function
dot_i8:
        leaq    .Lwhere(%rip), %rdi
        jmp     kata_todo@PLT
        .size   dot_i8, .-dot_i8

        .section .rodata
.Lwhere: .asciz "dot8.s: dot_i8()"

        .section .note.GNU-stack,"",@progbits
