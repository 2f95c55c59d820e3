#include "tests/reliability/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace keygate::reliability {
namespace {

// fork + exec with output to `log_path` (truncated first, so that a reader
// never sees an earlier run's lines). Everything the child does between fork
// and exec is async-signal-safe (the parent has gRPC threads).
pid_t Spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::string& log_path) {
  const int truncated = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (truncated < 0) return -1;
  close(truncated);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int fd = open(log_path.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0) _exit(126);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  close_range(3, ~0U, 0);  // The server's descriptors are its own.
  execv(binary.c_str(), argv.data());
  _exit(127);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// The integer value of "port" in the first log line with `event`, or 0.
int PortFromLog(const std::string& log, const std::string& event) {
  const std::string marker = absl::StrCat("\"event\":\"", event, "\"");
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (line.find(marker) == absl::string_view::npos) continue;
    const size_t at = line.find("\"port\":");
    if (at == absl::string_view::npos) return 0;
    absl::string_view digits = line.substr(at + 7);
    digits = digits.substr(0, digits.find_first_not_of("0123456789"));
    int port = 0;
    return absl::SimpleAtoi(digits, &port) ? port : 0;
  }
  return 0;
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string Tail(const std::string& path, int lines) {
  const std::string content = ReadFileOrEmpty(path);
  size_t start = content.size();
  for (int i = 0; i <= lines && start > 0; ++i) {
    start = content.rfind('\n', start - 1);
    if (start == std::string::npos) return content;
  }
  return content.substr(start + 1);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const ServerOptions& options,
                                                                    int* exit_code) {
  std::vector<std::string> args = {"--listen=127.0.0.1:0", "--data_dir=" + options.data_dir};
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  const pid_t pid = Spawn(options.binary, args, options.log_path);
  if (pid < 0) return absl::InternalError(absl::StrCat("cannot start ", options.binary));
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, options.log_path));
  const absl::Time deadline = absl::Now() + options.start_timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->exited_ = true;
      server->exit_code_ = DecodeWaitStatus(status);
      if (exit_code != nullptr) *exit_code = server->exit_code_;
      return absl::FailedPreconditionError(absl::StrCat("keygate-server exited with ",
                                                        server->exit_code_, " before serving:\n",
                                                        Tail(options.log_path)));
    }
    const std::string log = ReadFileOrEmpty(options.log_path);
    server->port_ = PortFromLog(log, "server_started");
    if (server->port_ != 0) {
      server->metrics_port_ = PortFromLog(log, "metrics_started");
      return server;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  const int code = server->Kill();
  if (exit_code != nullptr) *exit_code = code;
  return absl::FailedPreconditionError(
      absl::StrCat("keygate-server did not start in time:\n", Tail(options.log_path)));
}

ServerProcess::~ServerProcess() {
  if (!exited_) Kill();
}

void ServerProcess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int ServerProcess::Wait() {
  if (exited_) return exit_code_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  exited_ = true;
  exit_code_ = DecodeWaitStatus(status);
  return exit_code_;
}

int ServerProcess::Kill() {
  Signal(SIGKILL);
  return Wait();
}

int RunToCompletion(const std::string& binary, const std::vector<std::string>& args,
                    const std::string& log_path) {
  const pid_t pid = Spawn(binary, args, log_path);
  if (pid < 0) return 255;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  return DecodeWaitStatus(status);
}

}  // namespace keygate::reliability
