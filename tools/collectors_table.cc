// Prints the README's table of collectors (tools/collectors_table.h).
#include "tools/collectors_table.h"

#include <cstdio>

int main() {
  std::fputs(gclab::tools::CollectorsTable().c_str(), stdout);
  return 0;
}
