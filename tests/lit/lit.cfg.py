# lit configuration for rnnc's golden-text tests (tests/lit/**/*.rnnir and *.test).
import os
import lit.formats

config.name = "rnnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".rnnir", ".test"]
config.excludes = ["CMakeLists.txt", "inputs"]
config.test_source_root = config.rnnc_test_source
config.test_exec_root = os.path.join(config.rnnc_bin_dir, "..", "tests", "lit")

# Our tools and LLVM's FileCheck / not first on PATH.
config.environment["PATH"] = os.pathsep.join(
    [config.rnnc_bin_dir, config.llvm_bin_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
config.substitutions.append(("%inputs", os.path.join(config.rnnc_test_source, "inputs")))

# The benchmarks' programs are built only with RNNC_BUILD_BENCH (not in the sanitized tree).
if os.path.exists(os.path.join(config.rnnc_bin_dir, "fwd_loop")):
    config.available_features.add("bench")
