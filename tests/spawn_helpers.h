// Starting the still binary as a child process that a test can SIGKILL at any moment.
#pragma once
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace still {

// Starts argv[0] with `args` (argv[0] included), its stdout/stderr to /dev/null and the
// test's environment plus `env` ("NAME=value"; these replace variables of the same name).
// OMP_WAIT_POLICY=passive is always set: see still_cmd(). Returns the child's pid.
inline pid_t spawn_still(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls (the test process may have other threads).
  env.push_back("OMP_WAIT_POLICY=passive");
  std::vector<std::string> all = env;
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (auto& v : env) {
      size_t eq = v.find('=');
      if (std::strncmp(*e, v.c_str(), eq + 1) == 0) replaced = true;
    }
    if (!replaced) all.push_back(*e);
  }
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : all) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace still
