/* The oracle: NVIDIA's own occupancy calculator (cuda_occupancy.h, shipped with every CUDA toolkit; the
 * header the runtime's cudaOccupancyMaxActiveBlocksPerMultiprocessor follows), fed the published limits.
 *
 * stdin, one configuration a line:  major minor threads_per_block registers_per_thread shared_bytes
 *   plus the device's limits:       max_threads_per_sm max_blocks regs_per_sm smem_per_sm optin reserved
 * stdout, one line each:            blocks limit_threads limit_blocks limit_registers limit_shared
 * The kernel is taken to have opted in to the largest dynamic shared memory (cudaFuncSetAttribute), with
 * the default carveout, no partitioned global caching, one barrier.
 */
#include <cstdio>
#include <climits>
#include "cuda_occupancy.h"

int main() {
    int major, minor, threads, regs, tps, maxb, regs_sm;
    long smem, smem_sm, optin, reserved;
    while (scanf("%d %d %d %d %ld %d %d %d %ld %ld %ld", &major, &minor, &threads, &regs, &smem, &tps, &maxb,
                 &regs_sm, &smem_sm, &optin, &reserved) == 11) {
        cudaOccDeviceProp p;
        p.computeMajor = major;
        p.computeMinor = minor;
        p.maxThreadsPerBlock = 1024;
        p.maxThreadsPerMultiprocessor = tps;
        p.regsPerBlock = 65536;
        p.regsPerMultiprocessor = regs_sm;
        p.warpSize = 32;
        p.sharedMemPerBlock = 48 * 1024;
        p.sharedMemPerMultiprocessor = smem_sm;
        p.numSms = 132;
        p.sharedMemPerBlockOptin = optin;
        p.reservedSharedMemPerBlock = reserved;
        cudaOccFuncAttributes a;
        a.maxThreadsPerBlock = 1024;
        a.numRegs = regs;
        a.sharedSizeBytes = 0;
        a.partitionedGCConfig = PARTITIONED_GC_OFF;
        a.shmemLimitConfig = FUNC_SHMEM_LIMIT_OPTIN;
        a.maxDynamicSharedSizeBytes = optin;
        a.numBlockBarriers = 1;
        a.virtualResourceCount = 0;
        cudaOccDeviceState s;
        cudaOccResult r;
        cudaOccError e = cudaOccMaxActiveBlocksPerMultiprocessor(&r, &p, &a, &s, threads, smem);
        if (e != CUDA_OCC_SUCCESS) {
            printf("error %d\n", (int)e);
        } else {
            printf("%d %d %d %d %d\n", r.activeBlocksPerMultiprocessor, r.blockLimitWarps, r.blockLimitBlocks,
                   r.blockLimitRegs, r.blockLimitSharedMem);
        }
        fflush(stdout);
    }
    return 0;
}
