// The one place tests find the shared read-only test data (tokenizer vocabularies, HellaSwag):
// $STILL_TESTDATA if set, else ../shared/testdata beside the checkout (a worktree under
// <checkout>/../wt/ sits one level deeper, so ../../shared/testdata).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include "test_helpers.h"

namespace still::testing {

// The test data root; where it should be (for messages) when none of the places has it.
inline std::string testdata_root() {
  if (const char* e = std::getenv("STILL_TESTDATA"); e && *e) return e;
  const std::string near = source_dir() + "/../shared/testdata";
  for (const std::string& r : {near, source_dir() + "/../../shared/testdata"})
    if (std::filesystem::is_directory(r)) return r;
  return near;
}

// root/rel, or "" when that file is not there.
inline std::string testdata_file(const std::string& rel) {
  const std::string p = testdata_root() + "/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

}  // namespace still::testing
