"""Where learner code may run in this process: the base layer's view of the separate judge.

kata.judging (the plugin) sets these; native/ reads them without importing the plugin.

    NO_LEARNER_CODE          True in a test's process whose learner code must run in the worker
    refuse_learner_code_here(what)   raise NotSeparable there (called wherever learner code is loaded)
    program_runner           None, or under a separate judge the function that runs a program built
                             with the learner's code in the sandbox (native.launch calls it)
"""
from __future__ import annotations

NO_LEARNER_CODE = False
program_runner = None


class NotSeparable(RuntimeError):
    """The test uses the learner's code in a way that cannot cross a process boundary (autograd through
    it), or loads it where it must not run: a harness problem, not the learner's. The kata needs
    `[grading] judge = "shared"`, or the helper must load through the kata fixture."""


def refuse_learner_code_here(what: str) -> None:
    """In a test whose judge is separate, loading learner code in the test's own process is the harness's
    mistake (a helper that went around KataContext.load_native) and would put it beside the verdict."""
    if NO_LEARNER_CODE:
        raise NotSeparable(f"{what} was about to be loaded in the judging process of a separate judge: load it "
                           "through the kata fixture (KataContext.load_native / module()), or mark the kata "
                           "`judge = \"shared\"` with the reason")
