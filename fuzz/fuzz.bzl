"""ebb_fuzz_target: one fuzz target, two ways to run it.

With --config=fuzz (clang, scripts/fuzz.sh) the target is a libFuzzer binary.
In every other build it is a test that replays the seed corpus in
fuzz/corpus/<name>/ (and variants of each input, replay_main.cc), so the corpus
guards against regressions in the normal and ASan+UBSan test runs.
"""

def ebb_fuzz_target(name, deps):
    corpus = "corpus/" + name
    native.cc_test(
        name = name,
        srcs = [name + ".cc", "fuzz_check.h"] + select({
            ":libfuzzer": [],
            "//conditions:default": ["replay_main.cc"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        args = ["fuzz/" + corpus],
        data = native.glob([corpus + "/**"]),
        deps = deps,
    )
