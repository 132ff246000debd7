// `still`: the command-line front end. Parses flags, runs one command, turns a
// still::Error into one line on stderr and a non-zero exit.
#include <cstdio>
#include <cstring>
#include <exception>

#include "still/cli/commands.h"
#include "still/data/manifest.h"
#include "still/kernels/isa.h"
#include "still/util/error.h"
#include "still/util/log.h"

namespace {

// CLI11 answers `--help` before it checks the subcommand, so `still serve --help` would
// print the top-level help and exit 0. The first word that is not a flag (top-level
// flags take no values) must name a registered subcommand.
const char* unknown_subcommand(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') {
      if (std::strcmp(argv[i], "--") == 0) return i + 1 < argc ? argv[i + 1] : nullptr;
      continue;
    }
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->check_name(argv[i])) return nullptr;
    return argv[i];
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  still::set_command_line(argc, argv);
  CLI::App app{"still: compute-frugal knowledge distillation for Llama-family language models"};
  app.require_subcommand(1);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only print results and errors");
  app.add_flag("-v,--verbose", verbose, "Print debug detail");
  app.set_version_flag("--version", STILL_VERSION);
  app.parse_complete_callback([&] {
    if (quiet) still::set_log_level(still::LogLevel::kQuiet);
    if (verbose) still::set_log_level(still::LogLevel::kDebug);
  });

  still::cli::register_version(app);
  still::cli::register_eval(app);
  still::cli::register_report(app);
  still::cli::register_teach(app);
  still::cli::register_distil(app);
  still::cli::register_split(app);
  still::cli::register_demo(app);
  still::cli::register_inspect(app);
  still::cli::register_export(app);
  still::cli::register_train(app);
  still::cli::register_generate(app);
  still::cli::register_tokenize(app);

  if (const char* name = unknown_subcommand(app, argc, argv)) {
    std::fprintf(stderr, "still: error: unknown command '%s'; run 'still --help' for the list\n",
                 name);
    return still::cli::kUsage;
  }
  try {
    still::kernels::kernel_isa();  // a bad STILL_ISA fails here, not inside a parallel loop
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : still::cli::kUsage;
  } catch (const still::Error& e) {
    std::fprintf(stderr, "still: error: %s\n", e.what());
    return still::cli::kError;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "still: error: out of memory; use a smaller batch or model\n");
    return still::cli::kError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "still: internal error: %s (please report this)\n", e.what());
    return still::cli::kError;
  }
  return still::cli::kOk;
}
