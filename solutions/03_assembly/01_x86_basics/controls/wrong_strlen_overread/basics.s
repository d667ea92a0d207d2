# Wrong control: sum_i64 and max_i64 as in the reference; my_strlen reads 16 bytes at a time
# with unaligned loads from s, which can run past the terminator into an unmapped page. Gives the
# right length on ordinary buffers; must crash (reported, not fatal) in the page-boundary test.

        .text

# long sum_i64(const long *a, long n)          a: %rdi, n: %rsi -> %rax
#
# Four elements per pass into four independent accumulators: the loop's fixed cost (add, cmp,
# jl) is paid once per four elements, and the four adds do not wait for one another.
# 7 instructions per 4 elements = 1.75 per element. A tail loop takes the last n % 4.
        .globl  sum_i64
        .type   sum_i64, @function
sum_i64:
        xorl    %eax, %eax              # acc0 (writing a 32-bit register zeroes the whole 64)
        xorl    %edx, %edx              # acc1
        xorl    %r8d, %r8d              # acc2
        xorl    %r9d, %r9d              # acc3
        xorl    %ecx, %ecx              # i = 0
        leaq    -3(%rsi), %r10          # a block of four starting at i fits while i < n - 3
        cmpq    %r10, %rcx              # (signed: n - 3 < 0 for n < 3, and then no block runs)
        jge     .Lsum_tail
.Lsum_block:
        addq    (%rdi,%rcx,8), %rax
        addq    8(%rdi,%rcx,8), %rdx
        addq    16(%rdi,%rcx,8), %r8
        addq    24(%rdi,%rcx,8), %r9
        addq    $4, %rcx
        cmpq    %r10, %rcx
        jl      .Lsum_block
.Lsum_tail:
        addq    %rdx, %rax              # fold the accumulators (wrapping adds: order does not matter)
        addq    %r8, %rax
        addq    %r9, %rax
        cmpq    %rsi, %rcx
        jge     .Lsum_done
.Lsum_one:
        addq    (%rdi,%rcx,8), %rax
        incq    %rcx
        cmpq    %rsi, %rcx
        jl      .Lsum_one
.Lsum_done:
        ret
        .size   sum_i64, .-sum_i64

# long max_i64(const long *a, long n)          a: %rdi, n: %rsi (n >= 1) -> %rax
#
# Start from a[0] (not from 0: every element may be negative) and keep the larger with a
# signed conditional move (cmovg; cmova would compare unsigned and think -1 is the largest).
        .globl  max_i64
        .type   max_i64, @function
max_i64:
        movq    (%rdi), %rax
        movl    $1, %ecx
        cmpq    %rsi, %rcx
        jge     .Lmax_done
.Lmax_loop:
        movq    (%rdi,%rcx,8), %rdx
        cmpq    %rax, %rdx
        cmovg   %rdx, %rax              # rax = rdx if rdx > rax (signed)
        incq    %rcx
        cmpq    %rsi, %rcx
        jl      .Lmax_loop
.Lmax_done:
        ret
        .size   max_i64, .-max_i64

# long my_strlen(const char *s): BUG, sixteen bytes at a time from s itself (movdqu, unaligned).
# The answer is right whenever it does not crash, but a load may reach up to 15 bytes past the
# terminator: when the string ends near the end of a page and the next page is not mapped, that
# load faults (glibc's strlen aligns its loads for exactly this reason).
        .globl  my_strlen
        .type   my_strlen, @function
my_strlen:
        movq    %rdi, %rax
        pxor    %xmm0, %xmm0
.Lstrlen_loop:
        movdqu  (%rax), %xmm1
        pcmpeqb %xmm0, %xmm1
        pmovmskb %xmm1, %edx
        testl   %edx, %edx
        jnz     .Lstrlen_found
        addq    $16, %rax
        jmp     .Lstrlen_loop
.Lstrlen_found:
        bsfl    %edx, %edx
        addq    %rdx, %rax
        subq    %rdi, %rax
        ret
        .size   my_strlen, .-my_strlen

        .section .note.GNU-stack,"",@progbits
