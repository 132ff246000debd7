// `still teach --generate` (sequence-level KD): its flags and its run, kept apart from the
// top-k path of cmd_teach.cpp. Flags that only the top-k path reads are refused with it.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "still/teach/generate_corpus.h"

namespace still::cli {

struct TeachGenerateArgs {
  bool generate = false;
  GenerateCorpusOptions opt;
  EndpointOptions endpoint;  // url empty: a local --teacher
  std::string api_key_env = "OPENAI_API_KEY";
};

void add_teach_generate_flags(CLI::App* cmd, TeachGenerateArgs& a);

// Checks the flag combination (--data vs --prompts, flags of the other mode): throws
// still::Error with one line.
void check_teach_mode(const CLI::App* cmd, const TeachGenerateArgs& a);

// --top-k given on the command line is the sampler's top-k here (0 = no limit otherwise).
// `teacher` is null for an --endpoint teacher.
void run_teach_generate(const CLI::App* cmd, TeachGenerateArgs& a, const TeacherHandle* teacher,
                        int top_k, bool json);

}  // namespace still::cli
