// The root command line: an unknown subcommand is a usage error whatever flags follow it.
#include <gtest/gtest.h>

#include "test_train_helpers.h"

namespace still {

TEST(CliUsage, UnknownSubcommandIsAnErrorEvenWithHelp) {
  for (const char* args : {"serve --help", "serve", "-q serve -h", "serve --version"}) {
    std::string out;
    EXPECT_EQ(run_command(still_cmd() + " " + args, &out), 2) << args << ": " << out;
    auto lines = error_lines(out);
    ASSERT_EQ(lines.size(), 1u) << args << ": " << out;
    EXPECT_NE(lines[0].find("unknown command 'serve'"), std::string::npos) << lines[0];
  }
  std::string out;
  EXPECT_EQ(run_command(still_cmd() + " --help", &out), 0) << out;
  EXPECT_EQ(run_command(still_cmd() + " -q train --help", &out), 0) << out;
  EXPECT_NE(out.find("--tokenizer"), std::string::npos) << out;
}

}  // namespace still
