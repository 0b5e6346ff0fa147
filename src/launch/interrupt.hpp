#pragma once
// SIGINT/SIGTERM/SIGHUP as a pollable flag: install() routes the three to a self-pipe; the
// supervisor polls fd() and stops its workloads cleanly. Process-wide; install once from main.
namespace colo {

class Interrupt {
 public:
  static void install();
  // Read end of the self-pipe, or -1 before install().
  static int fd();
  static bool raised();
  // The signal received first (SIGINT, SIGTERM or SIGHUP), 0 if none.
  static int signal_number();
  // For tests: raise the flag as if a signal arrived.
  static void trigger(int sig);
  // For tests: lower the flag again.
  static void clear();
};

}  // namespace colo
