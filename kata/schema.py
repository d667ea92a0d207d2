"""kata.toml's whole schema, checked key by key with messages that say what to write.

    title = "Blocked transpose"          # required, text
    difficulty = 2                       # required, 1 (warm-up) .. 5 (hard)
    language = "c"                       # required: c | cpp | asm | cuda | python | triton
    files = ["transpose.c"]              # required: the learner's file names (no folders)
    points = 10                          # required, > 0
    tiers = ["cpu"]                      # "cpu" and/or "gpu" (default ["cpu"])
    timeout = 60                         # seconds per test (default 60)

    [controls]                           # name = "what the control does", names naive* or wrong*
    [admission]                          # optional (kata/admission.py): what the learner's file may use
    imports = ["os", "mmap"]             #   Python modules beyond the default list
    calls = ["open"]                     #   builtins refused by default
    symbols = ["mmap", "munmap"]         #   C library symbols refused by default
    [grading]                            # optional (docs/grading.md)
    perf_points = 3                      #   0 .. points: the performance pool (default 30%)
    per_test = true                      #   false: the correctness pool is all or nothing
    weights = {test_name = 2}            #   test function -> weight (>= 0)
    judge = "shared"                     #   learner code beside the test at grading (default "separate")
    judge_why = "autograd through it"    #   why: shown in the grading report

problems(data) returns (fatal, message) pairs: a fatal problem stops the kata from loading at all
(kata.layout raises it); the others are reported by `kata check`.
"""
from __future__ import annotations

LANGUAGES = {"c", "cpp", "asm", "cuda", "python", "triton"}
TIERS = {"cpu", "gpu"}
REQUIRED = {"title": "text", "difficulty": "a whole number from 1 to 5", "language": "a language",
            "files": "a list of file names", "points": "a number"}
OPTIONAL = {"tiers", "timeout", "controls", "grading", "admission"}
ADMISSION = {"imports", "calls", "symbols"}
GRADING = {"perf_points", "per_test", "weights", "judge", "judge_why"}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def problems(data: dict) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []

    def fatal(msg):
        out.append((True, msg))

    def note(msg):
        out.append((False, msg))

    for key, what in REQUIRED.items():
        if key not in data:
            fatal(f"missing key '{key}' ({what})")
    if "title" in data and (not isinstance(data["title"], str) or not data["title"].strip()):
        fatal("'title' should be non-empty text")
    d = data.get("difficulty")
    if "difficulty" in data:
        if not isinstance(d, int) or isinstance(d, bool):
            fatal("'difficulty' should be a whole number from 1 (warm-up) to 5 (hard)")
        elif not 1 <= d <= 5:
            note(f"'difficulty' is {d}; it should be from 1 (warm-up) to 5 (hard)")
    lang = data.get("language")
    if "language" in data and lang not in LANGUAGES:
        fatal(f"language '{lang}' is not one of {sorted(LANGUAGES)}")
    files = data.get("files")
    if "files" in data and (not isinstance(files, list) or not files
                            or not all(isinstance(f, str) and f and "/" not in f for f in files)):
        fatal("files should list the learner's file names (no folders), e.g. files = [\"transpose.c\"]")
    elif isinstance(files, list) and len(set(files)) != len(files):
        note(f"files lists a name twice: {files}")
    points = data.get("points")
    if "points" in data:
        if not _number(points):
            fatal("'points' should be a number")
        elif points <= 0:
            note(f"'points' is {points}; it should be more than 0")
    tiers = data.get("tiers", ["cpu"])
    if not isinstance(tiers, list) or not tiers or not set(tiers) <= TIERS:
        fatal(f"tiers {tiers} should be a non-empty subset of {sorted(TIERS)}")
    if "timeout" in data and (not _number(data["timeout"]) or data["timeout"] <= 0):
        fatal("'timeout' should be a number of seconds, more than 0")
    controls = data.get("controls", {})
    if not isinstance(controls, dict):
        fatal("[controls] should be a table: name = \"what the control does\"")
    else:
        for c, desc in controls.items():
            if not (c.startswith("naive") or c.startswith("wrong")):
                fatal(f"control '{c}' should be named naive* or wrong*")
            if not isinstance(desc, str) or not desc.strip():
                note(f"[controls] {c} should be described in words: {c} = \"the mistake it makes\"")
    for key in sorted(set(data) - set(REQUIRED) - OPTIONAL):
        note(f"unknown key '{key}' (kata.toml knows {', '.join([*REQUIRED, *sorted(OPTIONAL)])})")
    admission = data.get("admission", {})
    if not isinstance(admission, dict):
        fatal("[admission] should be a table (imports, calls, symbols)")
    else:
        for key in sorted(set(admission) - ADMISSION):
            note(f"[admission] unknown key '{key}' (known: {', '.join(sorted(ADMISSION))})")
        for key in ADMISSION & set(admission):
            if not isinstance(admission[key], list) or not all(isinstance(x, str) and x for x in admission[key]):
                fatal(f"[admission] {key} should be a list of names, e.g. {key} = [\"os\"]")
    grading = data.get("grading", {})
    if not isinstance(grading, dict):
        fatal("[grading] should be a table (perf_points, per_test, weights)")
        return out
    for key in sorted(set(grading) - GRADING):
        note(f"[grading] unknown key '{key}' (known: {', '.join(sorted(GRADING))})")
    perf = grading.get("perf_points")
    if perf is not None and (not _number(perf) or not (_number(points) and 0 <= perf <= points)):
        note(f"[grading] perf_points should be a number from 0 to points ({points})")
    if grading.get("judge", "separate") not in ("separate", "shared"):
        note('[grading] judge should be "separate" (the default) or "shared"')
    if grading.get("judge") == "shared" and not isinstance(grading.get("judge_why"), str):
        note('[grading] judge = "shared" needs judge_why: what keeps the test beside the learner\'s code')
    if "per_test" in grading and not isinstance(grading["per_test"], bool):
        note("[grading] per_test should be true or false")
    weights = grading.get("weights", {})
    if not isinstance(weights, dict) or not all(_number(v) and v >= 0 for v in weights.values()):
        note("[grading] weights should map test function names to numbers >= 0: weights = {test_name = 2}")
    return out


def unknown_weights(data: dict, test_sources: list[str]) -> list[str]:
    """[grading] weights naming a test function that no test file defines."""
    weights = data.get("grading", {}).get("weights", {}) if isinstance(data.get("grading"), dict) else {}
    if not isinstance(weights, dict):
        return []
    text = "\n".join(test_sources)
    return [name for name in weights if f"def {name}(" not in text]
