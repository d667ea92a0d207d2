# Naive control: correct, one element per loop iteration. The loop's own add/cmp/jl run once per
# element on top of the one add that does the work: 4 instructions per element. Passes every
# correctness test; must fail the instruction-count gate.

        .text

        .globl  sum_i64
        .type   sum_i64, @function
sum_i64:
        xorl    %eax, %eax
        xorl    %ecx, %ecx
        jmp     .Lsum_test
.Lsum_loop:
        addq    (%rdi,%rcx,8), %rax
        incq    %rcx
.Lsum_test:
        cmpq    %rsi, %rcx
        jl      .Lsum_loop
        ret
        .size   sum_i64, .-sum_i64

        .globl  max_i64
        .type   max_i64, @function
max_i64:
        movq    (%rdi), %rax
        movl    $1, %ecx
        jmp     .Lmax_test
.Lmax_loop:
        movq    (%rdi,%rcx,8), %rdx
        cmpq    %rax, %rdx
        jle     .Lmax_next
        movq    %rdx, %rax
.Lmax_next:
        incq    %rcx
.Lmax_test:
        cmpq    %rsi, %rcx
        jl      .Lmax_loop
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
