# Naive control: one element per iteration (vmovss, vfmadd231ss, inc, cmp, jl): correct, five
# instructions per element, no better than the scalar C loop.

        .text
        .globl  dot_f32
        .type   dot_f32, @function
dot_f32:
        vxorps  %xmm0, %xmm0, %xmm0
        xorl    %eax, %eax
        jmp     .Ltest
.Lloop:
        vmovss  (%rdi,%rax,4), %xmm1
        vfmadd231ss (%rsi,%rax,4), %xmm1, %xmm0
        incq    %rax
.Ltest:
        cmpq    %rdx, %rax
        jl      .Lloop
        ret
        .size   dot_f32, .-dot_f32

        .section .note.GNU-stack,"",@progbits
