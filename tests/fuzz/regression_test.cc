// Runs every heap program of the seed corpus and of the regressions (minimised inputs
// of bugs the fuzzer found) against the model, on every registered collector (whatever
// collector the file's first byte names: a new collector gets every program, and a
// file keeps its meaning as the registry grows), one test case per file and collector.
// A divergence aborts the test binary with the fuzzer's report on stderr.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "tests/fuzz/heap_program.h"

namespace gclab::fuzz {
namespace {

// Bazel runs tests at the workspace's runfiles root, where the `data` files are.
constexpr const char* kDirectories[] = {"tests/fuzz/corpus", "tests/fuzz/regressions"};

std::vector<std::string> ProgramFiles() {
  std::vector<std::string> files;
  for (const char* dir : kDirectories) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
      const std::filesystem::path& path = entry.path();
      if (path.extension() == ".md") continue;  // the folders' READMEs
      files.push_back(path.string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

using Param = std::tuple<std::string, CollectorKind>;

std::string TestName(const ::testing::TestParamInfo<Param>& info) {
  const std::string& path = std::get<0>(info.param);
  std::string name = path.substr(path.find("fuzz/") + 5) + "_on_" +
                     std::string(CollectorName(std::get<1>(info.param)));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class HeapProgramTest : public ::testing::TestWithParam<Param> {};

TEST_P(HeapProgramTest, RunsWithoutDivergence) {
  const auto& [path, collector] = GetParam();
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file) << path;
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  RunHeapProgram(bytes.data(), bytes.size(), &collector);
  const ProgramStats& stats = LastProgramStats();
  EXPECT_GT(stats.operations, 0u) << path << " ran no operation";
  EXPECT_GT(stats.collections, 0u);
}

INSTANTIATE_TEST_SUITE_P(Files, HeapProgramTest,
                         ::testing::Combine(::testing::ValuesIn(ProgramFiles()),
                                            ::testing::ValuesIn(AllCollectors())),
                         TestName);

// Not vacuous: the corpus must be there (a missing `data` glob would run nothing).
TEST(HeapProgramCorpus, IsFound) {
  size_t corpus = 0;
  for (const std::string& f : ProgramFiles()) corpus += f.find("/corpus/") != std::string::npos;
  EXPECT_GE(corpus, 10u) << "the seed corpus tests/fuzz/corpus was not found in "
                         << std::filesystem::current_path();
}

}  // namespace
}  // namespace gclab::fuzz
