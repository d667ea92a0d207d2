# basics.s: three functions in x86-64 assembly.
#
# Syntax: AT&T (GNU as's default, and what `gcc -S` prints): `op source, destination`, registers
# written %rax, constants $8, memory disp(base, index, scale), e.g. (%rdi,%rcx,8) is rdi + 8*rcx.
# Prefer Intel's order (`op dest, src`, no % or $)? Put `.intel_syntax noprefix` on the line below
# and write Intel from there on (the stub lines then read `lea rdi, [rip + .Lwhere_sum]` and
# `jmp kata_todo@PLT`).
#
# Calling convention: System V AMD64 (Linux). The README's hints spell it out. Every test calls
# these functions through a checker that fails the test if a callee-saved register (rbx, rbp,
# r12-r15) or rsp is not the caller's again when you `ret`.
#
# Each function below is a stub: it hands a message to kata_todo (the tests then report
# "not implemented yet"). Replace the two lines of each stub with your code.

        .text

# long sum_i64(const long *a, long n)
#   a in %rdi, n in %rsi (n >= 0); return a[0] + ... + a[n-1] in %rax (wrapping on overflow).
        .globl  sum_i64
        .type   sum_i64, @function
sum_i64:
        leaq    .Lwhere_sum(%rip), %rdi
        jmp     kata_todo@PLT
        .size   sum_i64, .-sum_i64

# long max_i64(const long *a, long n)
#   a in %rdi, n in %rsi (n >= 1); return the largest a[i] (signed) in %rax.
        .globl  max_i64
        .type   max_i64, @function
max_i64:
        leaq    .Lwhere_max(%rip), %rdi
        jmp     kata_todo@PLT
        .size   max_i64, .-max_i64

# long my_strlen(const char *s)
#   s in %rdi; return the number of bytes before the first 0 byte in %rax.
        .globl  my_strlen
        .type   my_strlen, @function
my_strlen:
        leaq    .Lwhere_strlen(%rip), %rdi
        jmp     kata_todo@PLT
        .size   my_strlen, .-my_strlen

        .section .rodata
.Lwhere_sum:    .asciz  "basics.s: sum_i64()"
.Lwhere_max:    .asciz  "basics.s: max_i64()"
.Lwhere_strlen: .asciz  "basics.s: my_strlen()"

        # No executable stack, please (the harness also asks the assembler for this).
        .section .note.GNU-stack,"",@progbits
