# Wrong control: the wide loops only; the last n % 8 elements are never added.

        .text
        .globl  dot_f32
        .type   dot_f32, @function
dot_f32:
        vxorps  %ymm0, %ymm0, %ymm0
        vxorps  %ymm1, %ymm1, %ymm1
        vxorps  %ymm2, %ymm2, %ymm2
        vxorps  %ymm3, %ymm3, %ymm3
        xorl    %eax, %eax
        leaq    -31(%rdx), %rcx             # i < n - 31: 32 elements left
        jmp     .Ltest32
.Lloop32:
        vmovups (%rdi,%rax,4), %ymm4
        vmovups 32(%rdi,%rax,4), %ymm5
        vmovups 64(%rdi,%rax,4), %ymm6
        vmovups 96(%rdi,%rax,4), %ymm7
        vfmadd231ps (%rsi,%rax,4), %ymm4, %ymm0
        vfmadd231ps 32(%rsi,%rax,4), %ymm5, %ymm1
        vfmadd231ps 64(%rsi,%rax,4), %ymm6, %ymm2
        vfmadd231ps 96(%rsi,%rax,4), %ymm7, %ymm3
        addq    $32, %rax
.Ltest32:
        cmpq    %rcx, %rax
        jl      .Lloop32
        leaq    -7(%rdx), %rcx              # i < n - 7: 8 elements left
        jmp     .Ltest8
.Lloop8:
        vmovups (%rdi,%rax,4), %ymm4
        vfmadd231ps (%rsi,%rax,4), %ymm4, %ymm0
        addq    $8, %rax
.Ltest8:
        cmpq    %rcx, %rax
        jl      .Lloop8
        vaddps  %ymm1, %ymm0, %ymm0         # fold the four accumulators
        vaddps  %ymm3, %ymm2, %ymm2
        vaddps  %ymm2, %ymm0, %ymm0
        vextractf128 $1, %ymm0, %xmm1       # 8 lanes -> 4
        vaddps  %xmm1, %xmm0, %xmm0
        vmovhlps %xmm0, %xmm0, %xmm1        # 4 -> 2
        vaddps  %xmm1, %xmm0, %xmm0
        vmovshdup %xmm0, %xmm1              # 2 -> 1
        vaddss  %xmm1, %xmm0, %xmm0
        vzeroupper
        ret
        .size   dot_f32, .-dot_f32

        .section .note.GNU-stack,"",@progbits
