# Wrong control: the vector loops only; the last n % 16 products are never added.

        .text
        .globl  dot_i8
        .type   dot_i8, @function
dot_i8:
        vpxor   %ymm0, %ymm0, %ymm0
        vpxor   %ymm1, %ymm1, %ymm1
        xorl    %eax, %eax
        leaq    -31(%rdx), %rcx
        jmp     .Ltest32
.Lloop32:
        vpmovsxbw (%rdi,%rax), %ymm2
        vpmovsxbw (%rsi,%rax), %ymm3
        vpmaddwd %ymm3, %ymm2, %ymm2
        vpaddd  %ymm2, %ymm0, %ymm0
        vpmovsxbw 16(%rdi,%rax), %ymm4
        vpmovsxbw 16(%rsi,%rax), %ymm5
        vpmaddwd %ymm5, %ymm4, %ymm4
        vpaddd  %ymm4, %ymm1, %ymm1
        addq    $32, %rax
.Ltest32:
        cmpq    %rcx, %rax
        jl      .Lloop32
        leaq    -15(%rdx), %rcx
        jmp     .Ltest16
.Lloop16:
        vpmovsxbw (%rdi,%rax), %ymm2
        vpmovsxbw (%rsi,%rax), %ymm3
        vpmaddwd %ymm3, %ymm2, %ymm2
        vpaddd  %ymm2, %ymm0, %ymm0
        addq    $16, %rax
.Ltest16:
        cmpq    %rcx, %rax
        jl      .Lloop16
        vpaddd  %ymm1, %ymm0, %ymm0         # fold: 8 lanes -> 1
        vextracti128 $1, %ymm0, %xmm1
        vpaddd  %xmm1, %xmm0, %xmm0
        vpshufd $0x4e, %xmm0, %xmm1
        vpaddd  %xmm1, %xmm0, %xmm0
        vpshufd $0xb1, %xmm0, %xmm1
        vpaddd  %xmm1, %xmm0, %xmm0
        vmovd   %xmm0, %r8d
        movl    %r8d, %eax
        vzeroupper
        ret
        .size   dot_i8, .-dot_i8

        .section .note.GNU-stack,"",@progbits
