// Runs the real keygate-server binary as a child process, for the
// reliability suites (crash, corruption, soak): start it on 127.0.0.1:0,
// learn its ports from its JSON log, signal it, and wait for it.
#ifndef KEYGATE_TESTS_RELIABILITY_SERVER_PROCESS_H_
#define KEYGATE_TESTS_RELIABILITY_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace keygate::reliability {

struct ServerOptions {
  // Path of keygate-server.
  std::string binary;
  // Data dir (--data_dir).
  std::string data_dir;
  // Extra flags, e.g. "--log_level=debug".
  std::vector<std::string> flags;
  // stderr and stdout of the child go to this file, truncated at start.
  std::string log_path;
  // How long Start() waits for the server_started log line.
  absl::Duration start_timeout = absl::Seconds(30);
};

// One running keygate-server. The destructor kills it (SIGKILL) if it still
// runs. Not thread-safe.
class ServerProcess {
 public:
  // Starts the server with --listen=127.0.0.1:0 and waits until it logs
  // server_started. If it exits first (or does not start in time, in which
  // case it is killed), the error is FailedPrecondition with the exit status
  // and the log's last lines; `exit_code` (if not null) receives the exit code
  // (or 128 + signal).
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(const ServerOptions& options,
                                                              int* exit_code = nullptr);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // The metrics port, or 0 without --metrics_listen.
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }

  void Signal(int signal_number);
  // Waits for the process to end; returns its exit code, or 128 + signal.
  int Wait();
  // SIGKILL, then Wait().
  int Kill();

 private:
  ServerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  bool exited_ = false;
  int exit_code_ = 0;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
};

// Runs `binary` with `args` to completion, output to `log_path`; returns its
// exit code (or 128 + signal).
int RunToCompletion(const std::string& binary, const std::vector<std::string>& args,
                    const std::string& log_path);

// The whole content of a file ("" if it cannot be read).
std::string ReadFileOrEmpty(const std::string& path);
// The last `lines` lines of a file, for error messages.
std::string Tail(const std::string& path, int lines = 20);

}  // namespace keygate::reliability

#endif  // KEYGATE_TESTS_RELIABILITY_SERVER_PROCESS_H_
