// The kernel cache (codegen/kernel_cache.h): entries built once, published whole, replaced when damaged;
// `rnnc compile` served from it, with and without relowering on a hit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "codegen/aot.h"
#include "codegen/compile.h"
#include "codegen/jit.h"
#include "codegen/kernel_cache.h"
#include "frontend/zoo.h"
#include "ir/error.h"
#include "passes/pipeline.h"
#include "runtime/compiled_executor.h"
#include "runtime/reference_executor.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace rnnc {
namespace {

namespace fs = std::filesystem;

// A fresh cache folder as $RNNC_CACHE_DIR for one test, removed after it.
class KernelCache : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("RNNC_CACHE_DIR");
    old_ = old ? old : "";
    root_ = fs::temp_directory_path() /
            ("rnnc-kernel-cache-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    setenv("RNNC_CACHE_DIR", root_.c_str(), 1);
  }
  void TearDown() override {
    old_.empty() ? unsetenv("RNNC_CACHE_DIR") : setenv("RNNC_CACHE_DIR", old_.c_str(), 1);
    unsetenv("RNNC_KERNEL_CACHE_RELOWER");
    fs::remove_all(root_);
  }
  // The cache's entries (folders), not counting anything half-built.
  std::vector<fs::path> entries() const {
    std::vector<fs::path> out;
    if (!fs::exists(root_)) return out;
    for (const auto& e : fs::directory_iterator(root_)) out.push_back(e.path());
    return out;
  }
  fs::path root_;
  std::string old_;
};

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

TEST_F(KernelCache, BuildsOnceThenHits) {
  EXPECT_EQ(codegen::kernel_cache_dir(), root_);
  int builds = 0;
  auto build = [&](const fs::path& dir) {
    ++builds;
    write(dir / "out.txt", "built");
  };
  codegen::CacheEntry first = codegen::cached_build("model", "key one", build);
  EXPECT_FALSE(first.hit);
  EXPECT_EQ(read(first.dir / "out.txt"), "built");
  codegen::CacheEntry again = codegen::cached_build("model", "key one", build);
  EXPECT_TRUE(again.hit);
  EXPECT_EQ(again.dir, first.dir);
  EXPECT_EQ(builds, 1);
  codegen::CacheEntry other = codegen::cached_build("model", "key two", build);
  EXPECT_FALSE(other.hit);
  EXPECT_NE(other.dir, first.dir);
  EXPECT_EQ(builds, 2);
  EXPECT_EQ(entries().size(), 2u);
}

TEST_F(KernelCache, AFailedBuildLeavesNothing) {
  auto failing = [](const fs::path& dir) {
    write(dir / "half.txt", "half");
    throw UserError("the build failed");
  };
  EXPECT_THROW(codegen::cached_build("model", "key", failing), UserError);
  EXPECT_TRUE(entries().empty());
  int builds = 0;
  codegen::CacheEntry e = codegen::cached_build("model", "key", [&](const fs::path&) { ++builds; });
  EXPECT_FALSE(e.hit);
  EXPECT_EQ(builds, 1);
}

TEST_F(KernelCache, AnEntryOfAnotherKeyIsRebuilt) {
  codegen::CacheEntry e = codegen::cached_build("model", "key", [](const fs::path& dir) { write(dir / "out", "1"); });
  // What a hash collision or a damaged entry looks like: the folder's recorded key is not ours.
  write(e.dir / "key.txt", "another key");
  int builds = 0;
  codegen::CacheEntry rebuilt = codegen::cached_build("model", "key", [&](const fs::path& dir) {
    ++builds;
    write(dir / "out", "2");
  });
  EXPECT_FALSE(rebuilt.hit);
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(read(rebuilt.dir / "out"), "2");
  EXPECT_TRUE(codegen::cached_build("model", "key", [](const fs::path&) { FAIL() << "rebuilt twice"; }).hit);
}

// A hit checks the files' sizes and CRC-32s: a truncated file, a changed byte, a lost file list make the
// entry be built again (a damaged shared object, loaded, would crash the process). An entry of no
// files is whole.
TEST_F(KernelCache, DamagedFilesAreRebuilt) {
  int builds = 0;
  auto build = [&](const fs::path& dir) {
    ++builds;
    write(dir / "kernels.so", "0123456789");
  };
  const fs::path dir = codegen::cached_build("model", "key", build).dir;
  const std::vector<std::function<void()>> damages = {
      [&] { fs::resize_file(dir / "kernels.so", 4); },
      [&] { write(dir / "kernels.so", "0123456780"); },
      [&] { fs::remove(dir / "kernels.so"); },
      [&] { write(dir / "files.txt", read(dir / "files.txt").substr(0, 12)); },
      [&] { fs::remove(dir / "files.txt"); },
  };
  for (size_t i = 0; i < damages.size(); ++i) {
    damages[i]();
    ::testing::internal::CaptureStderr();
    codegen::CacheEntry e = codegen::cached_build("model", "key", build);
    const std::string said = ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(e.hit) << "damage " << i;
    EXPECT_EQ(builds, static_cast<int>(i) + 2) << "damage " << i;
    EXPECT_EQ(read(e.dir / "kernels.so"), "0123456789") << "damage " << i;
    EXPECT_NE(said.find("is damaged"), std::string::npos) << "damage " << i << ": " << said;
  }
  EXPECT_TRUE(codegen::cached_build("model", "key", build).hit);
  codegen::cached_build("empty", "key", [](const fs::path&) {});
  EXPECT_TRUE(codegen::cached_build("empty", "key", [](const fs::path&) { FAIL() << "rebuilt"; }).hit);
}

// Two callers missing the same entry at once build it once: the second waits for the first's build
// and finds its entry. Threads here; processes (test shards, build steps) lock the same file.
TEST_F(KernelCache, ConcurrentMissesBuildOnce) {
  std::atomic<int> builds{0};
  auto build = [&](const fs::path& dir) {
    ++builds;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    write(dir / "out.txt", "built");
  };
  codegen::CacheEntry a, b;
  std::thread first([&] { a = codegen::cached_build("model", "shared key", build); });
  std::thread second([&] { b = codegen::cached_build("model", "shared key", build); });
  first.join();
  second.join();
  EXPECT_EQ(builds.load(), 1);
  EXPECT_NE(a.hit, b.hit) << "one built, the other found its entry";
  EXPECT_EQ(a.dir, b.dir);
  EXPECT_EQ(read(a.dir / "out.txt"), "built");
  EXPECT_EQ(entries(), std::vector<fs::path>{a.dir}) << "no lock file or half-built folder is left";
}

ir::Module small_training_model() {
  ir::Module m = zoo::build_cell_model("rnn-tanh", {.input_size = 3, .hidden_size = 5, .num_layers = 1});
  passes::PassManager pm;
  passes::add_training_pipeline(pm);
  pm.run(m);
  return m;
}

// Every file `rnnc compile` wrote, by name, with its bytes.
std::map<std::string, std::string> files_of(const std::vector<std::string>& paths) {
  std::map<std::string, std::string> out;
  for (const std::string& p : paths) out[fs::path(p).filename()] = read(p);
  return out;
}

// A second `rnnc compile` of the same model is served from the cache: the same files, byte for byte,
// and no new entry; relowering on the hit (the sanitized suite's setting) changes neither.
TEST_F(KernelCache, AotCompilesAreCached) {
  ir::Module m = small_training_model();
  auto compile = [&](const std::string& dir) {
    return files_of(codegen::compile_aot(m, {.name = "cached_rnn",
                                             .targets = {"x86-64-linux-sse41"},
                                             .output_dir = (root_ / dir).string(),
                                             .emit = {"stmt"}}));
  };
  auto first = compile("out1");
  ASSERT_TRUE(first.count("libcached_rnn.a"));
  ASSERT_TRUE(first.count("cached_rnn_t0.stmt"));
  const size_t cached = entries().size() - 1;  // out1 is in the cache folder too
  EXPECT_EQ(cached, 2u);                       // the target's kernels and Halide's runtime
  EXPECT_EQ(compile("out2"), first);
  setenv("RNNC_KERNEL_CACHE_RELOWER", "1", 1);
  EXPECT_EQ(compile("out3"), first);
  EXPECT_EQ(entries().size(), cached + 3);
}

// A JIT compile on a miss: the plan's shared object lands in one new entry, and its kernels compute what
// the reference executor does.
TEST_F(KernelCache, JitKernelsAreCompiledIntoTheCacheAndRun) {
  ir::Module m = zoo::build_cell_model("rnn-relu", {.input_size = 2, .hidden_size = 3, .num_layers = 1});
  passes::PassManager pm;
  passes::add_inference_pipeline(pm);
  pm.run(m);
  runtime::CompiledModule compiled(m);
  compiled.load(codegen::jit_compile(compiled.plan()));
  ASSERT_EQ(entries().size(), 1u);
  EXPECT_TRUE(fs::exists(entries()[0] / "kernels.so"));
  compiled.init_params(3);
  runtime::ReferenceExecutor<double> reference(m);
  for (const auto& [name, t] : compiled.params()) {
    reference.set_param(name, runtime::Tensor<double>(t.shape, std::vector<double>(t.data.begin(), t.data.end())));
  }
  std::mt19937 gen(4);
  testing::Values inputs = testing::random_inputs(*m.find_function("forward"), {{"time", 5}, {"batch", 3}}, gen, 0, 0);
  testing::Values want = reference.run("forward", inputs);
  std::vector<runtime::Value<float>> got = compiled.run("forward", testing::to_f32(inputs));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_LT(testing::relative_error(std::get<runtime::Tensor<float>>(got[i]), std::get<runtime::Tensor<double>>(want[i])),
              1e-4);
  }
}

// What a hit relowers: every kernel lowered and scheduled, for the CPU and for a GPU, without one.
TEST_F(KernelCache, RelowersCpuAndGpuPlans) {
  runtime::CompiledModule compiled(small_training_model());
  EXPECT_NO_THROW(codegen::relower_plan(compiled.plan(), codegen::parse_target("host")));
  EXPECT_NO_THROW(codegen::relower_plan(compiled.plan(), codegen::parse_target("x86-64-linux-cuda-cuda_capability_80")));
  EXPECT_TRUE(entries().empty());  // nothing compiled, nothing kept
}

// Halide's lowering of GPU kernels runs rnnc's own passes (codegen/schedule_gpu.h), which relowering
// skips: here they run on a small model, in every build (the sanitized one included), without a GPU.
TEST_F(KernelCache, GpuLoweringPassesRunWithoutAGpu) {
  runtime::CompiledModule compiled(small_training_model());
  Halide::Module m = codegen::compile_plan(compiled.plan(), codegen::parse_target("x86-64-linux-cuda-cuda_capability_80"),
                                           "gpu_lowering_check");
  EXPECT_FALSE(m.functions().empty());
}

}  // namespace
}  // namespace rnnc
