# The libFuzzer targets of tests/fuzz/ (tests/fuzz/tests.cmake builds
# them), sourced by .ci/fuzz.sh and tests/fuzz/long.sh: the targets, each
# one's largest input (libFuzzer's -max_len) and the committed corpus it
# starts from (tests/fuzz/corpus/<seed>/).
# shellcheck shell=bash disable=SC2034
fuzz_targets=(fuzz_compute fuzz_small fuzz_settings fuzz_half fuzz_diff fuzz_diff_small)
# The order of a long run: the fast targets first.
fuzz_long_order=(fuzz_settings fuzz_half fuzz_small fuzz_diff_small fuzz_diff fuzz_compute)
declare -A fuzz_max_len=([fuzz_compute]=4096 [fuzz_small]=4096 [fuzz_settings]=1024 [fuzz_half]=2048
                         [fuzz_diff]=2048 [fuzz_diff_small]=2048)
# fuzz_small shares fuzz_compute's input format and seed corpus,
# fuzz_diff_small fuzz_diff's.
declare -A fuzz_seeds=([fuzz_compute]=fuzz_compute [fuzz_small]=fuzz_compute [fuzz_settings]=fuzz_settings
                       [fuzz_half]=fuzz_half [fuzz_diff]=fuzz_diff [fuzz_diff_small]=fuzz_diff)
