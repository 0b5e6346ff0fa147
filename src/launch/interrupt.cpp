#include "launch/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace colo {
namespace {
int g_pipe[2] = {-1, -1};
std::atomic<int> g_signal{0};

void on_signal(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  const char c = 1;
  if (g_pipe[1] >= 0) {
    (void)!::write(g_pipe[1], &c, 1);
  }
}
}  // namespace

void Interrupt::install() {
  if (g_pipe[0] >= 0) {
    return;
  }
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_pipe[0] = g_pipe[1] = -1;
    return;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);  // terminal or SSH session closed: same as SIGTERM
  ::signal(SIGPIPE, SIG_IGN);
}

int Interrupt::fd() {
  return g_pipe[0];
}
bool Interrupt::raised() {
  return g_signal.load() != 0;
}
int Interrupt::signal_number() {
  return g_signal.load();
}
void Interrupt::trigger(int sig) {
  on_signal(sig);
}

void Interrupt::clear() {
  g_signal.store(0);
  char buf[64];
  while (g_pipe[0] >= 0 && ::read(g_pipe[0], buf, sizeof(buf)) > 0) {
  }
}

}  // namespace colo
