// The README's table of collectors is the registry's (tools/collectors_table.h): a
// collector folder added without running tools/update_readme.sh fails here.
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tools/collectors_table.h"

namespace gclab {
namespace {

TEST(ReadmeTest, TheTableOfCollectorsListsTheRegistry) {
  std::ifstream file("README.md");
  ASSERT_TRUE(file.good()) << "README.md is not in the test's runfiles";
  std::stringstream text;
  text << file.rdbuf();
  const std::string readme = text.str();
  const size_t begin = readme.find(tools::kTableBegin);
  const size_t end = readme.find(tools::kTableEnd);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  const size_t first = begin + std::string(tools::kTableBegin).size() + 1;
  EXPECT_EQ(readme.substr(first, end - first), tools::CollectorsTable())
      << "the README's table of collectors is out of date: run tools/update_readme.sh";
}

}  // namespace
}  // namespace gclab
