"""The kata harness, in layers; a module imports only from its own layer or the ones below it.

  commands      the `kata` command (kata.cli) and one module per subcommand:
                  commands_basic (list, ci), check, grade, release, learner (progress, next, hint,
                  watch, diff), doctor, controls (wrong controls as patches), scaffold (`kata new`);
                  with their models: points, results (grading), tree (copies of the checkout).
                They run pytest in child processes and read its rows through kata.report.
  test kit      what kata tests import: testing (assertions), toolkit (expect, describe, randn,
                call_checked, ...), tritonkit (Triton), timing (wall clock, do_bench)
  pytest plugin kata.plugin, the entry point the root conftest.py loads, registers one module per job,
                each owning its options, hooks and fixtures:
                  session     --solutions/--impl/--impl-map; kata_of(item), impl_dir(config, kata)
                  gpu         has_gpu(), Triton's interpreter switch, GPU-tier skips, `device`
                  hypothesis_profile  reproducible examples
                  isolation   --no-isolation/--kata-timeout; a forked child per test, time_limit(item)
                  failures    failure messages by kind (COMPILE ERROR, NOT IMPLEMENTED YET, ...)
                  report      --kata-report rows: written (a plugin) and read (run_pytest, by_kata, ...)
                  context     the `kata` fixture (KataContext)
                kata.gradeplugin is loaded by `kata grade` alone (the list of tests, before any runs).
  native        toolchains for C, C++, asm and CUDA (package native/): build, ffi, measure (callgrind,
                cachegrind), sanitize (ASan/UBSan, allocation counts), abi; no pytest
  base          standard library only, importable from every layer (native included):
                  layout (katas, kata.toml, the schema), signals (what a fatal signal means), term,
                  trust (where learner code may run in this process: the separate judge's switches)
"""
__version__ = "0.1.0"
