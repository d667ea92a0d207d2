# Wrong control: sum_i64 is unrolled (fast enough for the gate) and gets its results right, but
# it takes rbx for a fourth accumulator without saving it. rbx belongs to the caller (callee-saved):
# the caller finds its rbx destroyed. Must fail with the ABI checker's message.

        .text

        .globl  sum_i64
        .type   sum_i64, @function
sum_i64:
        xorl    %eax, %eax
        xorl    %edx, %edx
        xorl    %r8d, %r8d
        xorl    %ebx, %ebx              # BUG: rbx is callee-saved and was never pushed
        xorl    %ecx, %ecx
        leaq    -3(%rsi), %r10
        cmpq    %r10, %rcx
        jge     .Lsum_tail
.Lsum_block:
        addq    (%rdi,%rcx,8), %rax
        addq    8(%rdi,%rcx,8), %rdx
        addq    16(%rdi,%rcx,8), %r8
        addq    24(%rdi,%rcx,8), %rbx
        addq    $4, %rcx
        cmpq    %r10, %rcx
        jl      .Lsum_block
.Lsum_tail:
        addq    %rdx, %rax
        addq    %r8, %rax
        addq    %rbx, %rax
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
        cmovg   %rdx, %rax
        incq    %rcx
        cmpq    %rsi, %rcx
        jl      .Lmax_loop
.Lmax_done:
        ret
        .size   max_i64, .-max_i64

        .globl  my_strlen
        .type   my_strlen, @function
my_strlen:
        movq    %rdi, %rax
.Lstrlen_loop:
        cmpb    $0, (%rax)
        je      .Lstrlen_done
        incq    %rax
        jmp     .Lstrlen_loop
.Lstrlen_done:
        subq    %rdi, %rax
        ret
        .size   my_strlen, .-my_strlen

        .section .note.GNU-stack,"",@progbits
