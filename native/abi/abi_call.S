/* abi_call.S: call a function the way the System V AMD64 ABI allows, and report what it broke.
 *
 *   long kata_abi_call(void *fn, long a0, long a1, long a2, long a3, long a4, long a5);
 *   int  kata_abi_clobbered(void);   bit mask of the last call's violations (KATA_ABI_* below)
 *   long kata_abi_info(int what);    0: the mask, 1: rsp on return minus rsp at the call (bytes),
 *                                    2: which pushed value `ret` used as a return address (-1: none;
 *                                       0..5 rbx rbp r12 r13 r14 r15; 6: the caller's frame)
 *
 * kata_abi_call saves the caller's callee-saved registers, loads poison into rbx, rbp, r12-r15 (and
 * into rax and r10, so code that reads a register it never wrote gets junk, not a lucky zero), calls
 * fn(a0..a5) with rsp 16-byte aligned, and on return records which callee-saved registers no longer
 * hold their poison, whether rsp came back where it was, whether the direction flag is still set,
 * whether the MXCSR or x87 control bits changed, and whether the callee wrote into the caller's frame
 * (three canary words just above its return address). Then it puts everything right again (the real
 * registers, DF clear, MXCSR and the x87 control word as they were) and returns fn's rax.
 *
 * The poison values are the addresses of landing pads inside this file, and the canary words above
 * the return address hold the address of another one. The classic mistake, `push %rbx` in the
 * prologue and no `pop` before `ret`, makes `ret` jump to the pushed rbx: the poison, so it lands
 * here, and the call is reported ("ret used the pushed rbx") instead of crashing the process. Popping
 * more than was pushed makes `ret` take a canary and lands too.
 *
 * Not reentrant and not thread-safe: the state lives in static storage (one test process calls one
 * function at a time). Integer and pointer arguments and results only (rax); floats are not passed.
 */

#define BIT_RSP      6   /* rsp not back where it was after a normal ret */
#define BIT_DF       7   /* direction flag left set */
#define BIT_MXCSR    8   /* MXCSR control bits (rounding, masks, FZ, DAZ) changed */
#define BIT_X87CW    9   /* x87 control word changed */
#define BIT_FRAME   10   /* a canary in the caller's frame (above the return address) was overwritten */
#define BIT_LANDED  11   /* ret jumped to a landing pad: the stack was unbalanced */

        .text
        .globl  kata_abi_call
        .type   kata_abi_call, @function
kata_abi_call:
        /* entry: rsp = 8 mod 16; rdi = fn, rsi..r9 = a0..a4, 8(%rsp) = a5 */
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $24, %rsp               /* three canary words; rsp = 0 mod 16 at the call below */
        leaq    .Lland_frame(%rip), %rax
        movq    %rax, 0(%rsp)
        movq    %rax, 8(%rsp)
        movq    %rax, 16(%rsp)

        movq    %rsp, .Lsaved_rsp(%rip)
        stmxcsr .Lmxcsr_before(%rip)
        fnstcw  .Lx87cw_before(%rip)
        movq    $-1, .Llanded(%rip)
        movq    $0, .Lrsp_delta(%rip)

        movq    %rdi, %r11              /* fn */
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
        movq    %r8, %rcx
        movq    %r9, %r8
        movq    80(%rsp), %r9           /* a5: 8 (ret) + 48 (six pushes) + 24 (canaries) */

        leaq    .Lland_rbx(%rip), %rbx
        leaq    .Lland_rbp(%rip), %rbp
        leaq    .Lland_r12(%rip), %r12
        leaq    .Lland_r13(%rip), %r13
        leaq    .Lland_r14(%rip), %r14
        leaq    .Lland_r15(%rip), %r15
        movabsq $0x5a5a5a5a5a5a5a5a, %rax
        movabsq $0x0badc0de0badc0de, %r10
        cld
        callq   *%r11
        /* a normal return: rsp should equal .Lsaved_rsp */
        movq    %rsp, %r11
        subq    .Lsaved_rsp(%rip), %r11
        movq    %r11, .Lrsp_delta(%rip)
        xorl    %r10d, %r10d            /* r10: the violation mask */
        testq   %r11, %r11
        jz      .Lcheck
        orl     $(1 << BIT_RSP), %r10d
        jmp     .Lcheck

        /* Landing pads: reached only when the callee's `ret` popped one of our poison values. */
.Lland_rbx:
        movq    $0, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_rbp:
        movq    $1, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_r12:
        movq    $2, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_r13:
        movq    $3, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_r14:
        movq    $4, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_r15:
        movq    $5, .Llanded(%rip)
        jmp     .Llanded_common
.Lland_frame:
        movq    $6, .Llanded(%rip)
.Llanded_common:
        movq    %rsp, %r11
        subq    .Lsaved_rsp(%rip), %r11
        movq    %r11, .Lrsp_delta(%rip)
        movl    $((1 << BIT_LANDED) | (1 << BIT_RSP)), %r10d

.Lcheck:
        movq    .Lsaved_rsp(%rip), %rsp /* from here on the stack is ours again, whatever fn did */
        leaq    .Lland_rbx(%rip), %r11
        cmpq    %r11, %rbx
        je      1f
        orl     $(1 << 0), %r10d
1:      leaq    .Lland_rbp(%rip), %r11
        cmpq    %r11, %rbp
        je      1f
        orl     $(1 << 1), %r10d
1:      leaq    .Lland_r12(%rip), %r11
        cmpq    %r11, %r12
        je      1f
        orl     $(1 << 2), %r10d
1:      leaq    .Lland_r13(%rip), %r11
        cmpq    %r11, %r13
        je      1f
        orl     $(1 << 3), %r10d
1:      leaq    .Lland_r14(%rip), %r11
        cmpq    %r11, %r14
        je      1f
        orl     $(1 << 4), %r10d
1:      leaq    .Lland_r15(%rip), %r11
        cmpq    %r11, %r15
        je      1f
        orl     $(1 << 5), %r10d
1:
        /* The canaries: a ret through one of them was counted above; here, plain overwrites. */
        leaq    .Lland_frame(%rip), %r11
        cmpq    %r11, 0(%rsp)
        jne     2f
        cmpq    %r11, 8(%rsp)
        jne     2f
        cmpq    %r11, 16(%rsp)
        je      1f
2:      orl     $(1 << BIT_FRAME), %r10d
1:
        /* The direction flag must be clear on return. */
        pushfq
        popq    %r11
        btq     $10, %r11
        jnc     1f
        orl     $(1 << BIT_DF), %r10d
        cld
1:
        /* MXCSR control bits (6..15) and the x87 control word are callee-saved. */
        stmxcsr .Lmxcsr_after(%rip)
        movl    .Lmxcsr_after(%rip), %r11d
        xorl    .Lmxcsr_before(%rip), %r11d
        testl   $0xffc0, %r11d
        jz      1f
        orl     $(1 << BIT_MXCSR), %r10d
        ldmxcsr .Lmxcsr_before(%rip)
1:
        fnstcw  .Lx87cw_after(%rip)
        movzwl  .Lx87cw_after(%rip), %r11d
        cmpw    .Lx87cw_before(%rip), %r11w
        je      1f
        orl     $(1 << BIT_X87CW), %r10d
        fldcw   .Lx87cw_before(%rip)
1:
        movl    %r10d, .Lmask(%rip)
        addq    $24, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        retq
        .size   kata_abi_call, .-kata_abi_call

        .globl  kata_abi_clobbered
        .type   kata_abi_clobbered, @function
kata_abi_clobbered:
        movl    .Lmask(%rip), %eax
        retq
        .size   kata_abi_clobbered, .-kata_abi_clobbered

        .globl  kata_abi_info
        .type   kata_abi_info, @function
kata_abi_info:
        cmpl    $1, %edi
        je      1f
        cmpl    $2, %edi
        je      2f
        movl    .Lmask(%rip), %eax
        retq
1:      movq    .Lrsp_delta(%rip), %rax
        retq
2:      movq    .Llanded(%rip), %rax
        retq
        .size   kata_abi_info, .-kata_abi_info

        .bss
        .balign 8
.Lsaved_rsp:    .skip 8
.Lrsp_delta:    .skip 8
.Llanded:       .skip 8
.Lmask:         .skip 4
.Lmxcsr_before: .skip 4
.Lmxcsr_after:  .skip 4
.Lx87cw_before: .skip 2
.Lx87cw_after:  .skip 2

        .section .note.GNU-stack,"",@progbits
