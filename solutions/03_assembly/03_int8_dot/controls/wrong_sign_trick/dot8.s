# Wrong control: the vpmaddubsw trick (|a| times b with a's sign). Fast and right for most
# inputs, wrong when a = -128 and b = -128: vpsignb cannot negate -128.

        .text
        .globl  dot_i8
        .type   dot_i8, @function
dot_i8:
        vpxor   %ymm0, %ymm0, %ymm0
        vpxor   %ymm1, %ymm1, %ymm1
        vpcmpeqw %ymm6, %ymm6, %ymm6
        vpsrlw  $15, %ymm6, %ymm6           # sixteen int16 ones
        xorl    %eax, %eax
        leaq    -31(%rdx), %rcx
        jmp     .Ltest32
.Lloop32:
        vmovdqu (%rdi,%rax), %ymm2
        vmovdqu (%rsi,%rax), %ymm3
        vpabsb  %ymm2, %ymm4                # |a| (as unsigned bytes)
        vpsignb %ymm2, %ymm3, %ymm3         # b with a's sign: -(-128) does not fit in a byte
        vpmaddubsw %ymm3, %ymm4, %ymm4      # u8 * s8, pairs added into int16
        vpmaddwd %ymm6, %ymm4, %ymm4        # times 1, pairs added into int32
        vpaddd  %ymm4, %ymm0, %ymm0
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
