// Runs every heap program of the seed corpus and of the regressions (minimised inputs
// of bugs the fuzzer found) against the model, one test case per file. A divergence
// aborts the test binary with the fuzzer's report on stderr.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
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

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(info.param.find("fuzz/") + 5);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class HeapProgramTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HeapProgramTest, RunsWithoutDivergence) {
  std::ifstream file(GetParam(), std::ios::binary);
  ASSERT_TRUE(file) << GetParam();
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                   std::istreambuf_iterator<char>());
  RunHeapProgram(bytes.data(), bytes.size());
  const ProgramStats& stats = LastProgramStats();
  EXPECT_GT(stats.operations, 0u) << GetParam() << " ran no operation";
  EXPECT_GT(stats.collections, 0u);
}

INSTANTIATE_TEST_SUITE_P(Files, HeapProgramTest, ::testing::ValuesIn(ProgramFiles()), TestName);

// Not vacuous: the corpus must be there (a missing `data` glob would run nothing).
TEST(HeapProgramCorpus, IsFound) {
  size_t corpus = 0;
  for (const std::string& f : ProgramFiles()) corpus += f.find("/corpus/") != std::string::npos;
  EXPECT_GE(corpus, 10u) << "the seed corpus tests/fuzz/corpus was not found in "
                         << std::filesystem::current_path();
}

}  // namespace
}  // namespace gclab::fuzz
