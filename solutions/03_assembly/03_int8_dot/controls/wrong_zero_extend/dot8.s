# Wrong control: vpmovzxbw zero-extends: a byte -1 becomes 255 (the tail is right, the vector loops not).

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
        vpmovzxbw (%rdi,%rax), %ymm2
        vpmovzxbw (%rsi,%rax), %ymm3
        vpmaddwd %ymm3, %ymm2, %ymm2
        vpaddd  %ymm2, %ymm0, %ymm0
        vpmovzxbw 16(%rdi,%rax), %ymm4
        vpmovzxbw 16(%rsi,%rax), %ymm5
        vpmaddwd %ymm5, %ymm4, %ymm4
        vpaddd  %ymm4, %ymm1, %ymm1
        addq    $32, %rax
.Ltest32:
        cmpq    %rcx, %rax
        jl      .Lloop32
        leaq    -15(%rdx), %rcx
        jmp     .Ltest16
.Lloop16:
        vpmovzxbw (%rdi,%rax), %ymm2
        vpmovzxbw (%rsi,%rax), %ymm3
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
        jmp     .Ltest1
.Lloop1:                                    # the last n % 16
        movsbl  (%rdi,%rax), %ecx
        movsbl  (%rsi,%rax), %r9d
        imull   %r9d, %ecx
        addl    %ecx, %r8d
        incq    %rax
.Ltest1:
        cmpq    %rdx, %rax
        jl      .Lloop1
        movl    %r8d, %eax
        vzeroupper
        ret
        .size   dot_i8, .-dot_i8

        .section .note.GNU-stack,"",@progbits
