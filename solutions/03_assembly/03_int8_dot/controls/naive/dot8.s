# Naive control: one element per iteration, sign-extending loads and imul: exact, about as many
# instructions as the scalar C loop.

        .text
        .globl  dot_i8
        .type   dot_i8, @function
dot_i8:
        xorl    %r8d, %r8d
        xorl    %eax, %eax
        jmp     .Ltest
.Lloop:
        movsbl  (%rdi,%rax), %ecx
        movsbl  (%rsi,%rax), %r9d
        imull   %r9d, %ecx
        addl    %ecx, %r8d
        incq    %rax
.Ltest:
        cmpq    %rdx, %rax
        jl      .Lloop
        movl    %r8d, %eax
        ret
        .size   dot_i8, .-dot_i8

        .section .note.GNU-stack,"",@progbits
