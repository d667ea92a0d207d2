# basics.s, reference (AT&T syntax, System V AMD64).
#
# Only scratch registers are used (rax rcx rdx rsi rdi r8-r11), so nothing needs saving: no
# prologue, no epilogue, no stack frame.

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

# long my_strlen(const char *s)                 s: %rdi -> %rax
#
# Sixteen bytes at a time with SSE2. The loads are *aligned* to 16 bytes: an aligned 16-byte
# block never straddles two pages, so a block holding at least one byte of the string (or its
# terminator) lies entirely inside a readable page. An unaligned 16-byte load from s could run
# past the terminator into an unmapped page and crash. The first block starts before s: its
# bytes before s are shifted out of the mask.
        .globl  my_strlen
        .type   my_strlen, @function
my_strlen:
        movq    %rdi, %rax
        andq    $-16, %rax              # the aligned block holding s[0]
        movl    %edi, %ecx
        andl    $15, %ecx               # s's offset in that block
        pxor    %xmm0, %xmm0            # sixteen zero bytes to compare against
        movdqa  (%rax), %xmm1
        pcmpeqb %xmm0, %xmm1            # 0xff in each byte lane that held a 0 byte
        pmovmskb %xmm1, %edx            # one bit per lane
        shrl    %cl, %edx               # drop the lanes before s
        testl   %edx, %edx
        jnz     .Lstrlen_first
.Lstrlen_loop:
        addq    $16, %rax
        movdqa  (%rax), %xmm1
        pcmpeqb %xmm0, %xmm1
        pmovmskb %xmm1, %edx
        testl   %edx, %edx
        jz      .Lstrlen_loop
        bsfl    %edx, %edx              # the lowest set bit: the first 0 byte in this block
        addq    %rdx, %rax
        subq    %rdi, %rax
        ret
.Lstrlen_first:
        bsfl    %edx, %eax              # already counted from s
        ret
        .size   my_strlen, .-my_strlen

        .section .note.GNU-stack,"",@progbits
