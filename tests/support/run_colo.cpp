#include "support/run_colo.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace colo::test {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t start_in(const std::filesystem::path& dir, const std::vector<std::string>& argv,
               const std::string& tag) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open((dir / (tag + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open((dir / (tag + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    std::vector<std::string> args = argv;
    std::vector<char*> cargs;
    for (auto& s : args) {
      cargs.push_back(s.data());
    }
    cargs.push_back(nullptr);
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  return pid;
}

Output finish_in(const std::filesystem::path& dir, pid_t pid, const std::string& tag) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  Output o;
  o.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  o.out = slurp(dir / (tag + ".out"));
  o.err = slurp(dir / (tag + ".err"));
  return o;
}

}  // namespace colo::test
