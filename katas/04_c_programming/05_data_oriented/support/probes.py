"""What the data-oriented tests do beside the learner's library: hand world_create an array of
particle_t (given as raw bytes: a structured numpy array does not cross as data), then step the world,
read particles back through world_get and ask for its energy. Returns data (raw particle_t bytes,
energies) for the test to judge; under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not."""


def run(lib, init, n, ops):
    """world_create over a copy of `init` (bytes of particle_t records) with count n; right after it,
    the caller's copy has every x set to -1e30 (the world must have kept its own). Then each op:
    ("step", dt) -> None, ("read",) -> the bytes of world_get for i in 0..n-1, ("energy",) -> the
    kinetic energy. world_destroy at the end. Returns {"null": True} if world_create gave NULL, else
    {"null": False, "results": [...]}, one per op."""
    ffi = lib.ffi
    size = ffi.sizeof("particle_t")
    count = max(len(init) // size, 1)
    arr = ffi.new("particle_t[]", count)
    ffi.memmove(arr, init, min(len(init), count * size))
    w = lib.world_create(arr, n)
    if w == ffi.NULL:
        return {"null": True}
    for i in range(count):
        arr[i].x = -1e30
    one = ffi.new("particle_t *")
    results = []
    for op in ops:
        if op[0] == "step":
            lib.world_step(w, op[1])
            results.append(None)
        elif op[0] == "read":
            got = bytearray()
            for i in range(n):
                lib.world_get(w, i, one)
                got += ffi.buffer(one)
            results.append(bytes(got))
        else:
            results.append(lib.world_kinetic_energy(w))
    lib.world_destroy(w)
    return {"null": False, "results": results}
