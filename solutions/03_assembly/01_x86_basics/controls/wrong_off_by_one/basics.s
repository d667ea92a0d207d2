# Wrong control: the loops in sum_i64 and max_i64 stop one element early (they run while
# i < n - 1, as if the last index were n - 1 exclusive), so a[n-1] is never looked at. my_strlen is
# right. Must fail correctness, naming the missed last element.

        .text

        .globl  sum_i64
        .type   sum_i64, @function
sum_i64:
        xorl    %eax, %eax
        xorl    %ecx, %ecx
        leaq    -1(%rsi), %rdx          # BUG: the bound should be n, not n - 1
        jmp     .Lsum_test
.Lsum_loop:
        addq    (%rdi,%rcx,8), %rax
        incq    %rcx
.Lsum_test:
        cmpq    %rdx, %rcx
        jl      .Lsum_loop
        ret
        .size   sum_i64, .-sum_i64

        .globl  max_i64
        .type   max_i64, @function
max_i64:
        movq    (%rdi), %rax
        movl    $1, %ecx
        leaq    -1(%rsi), %r8           # BUG: the same off-by-one
        jmp     .Lmax_test
.Lmax_loop:
        movq    (%rdi,%rcx,8), %rdx
        cmpq    %rax, %rdx
        cmovg   %rdx, %rax
        incq    %rcx
.Lmax_test:
        cmpq    %r8, %rcx
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
