"""Building and measuring learner C, C++, assembly and CUDA.

  build    compile to shared libraries / programs with a content-hash cache; CUDA resource reports
  ffi      load a built library through cffi (ABI mode) with numpy-friendly calls and KATA_TODO detection
  measure  deterministic counts under valgrind: instructions and simulated cache misses of one function
"""
