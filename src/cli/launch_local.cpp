#include "cli/launch_local.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace tinyqat::cli {

namespace {

// The ranks, for the signal handler (async-signal-safe: a fixed array and kill()).
constexpr int kMaxRanks = 256;
volatile pid_t g_ranks[kMaxRanks];
volatile int g_count = 0;
volatile sig_atomic_t g_signal = 0;

void forward_signal(int sig) {
  g_signal = sig;
  for (int i = 0; i < g_count; ++i)
    if (g_ranks[i] > 0) kill(g_ranks[i], sig);
}

std::vector<std::string> own_command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t at = 0; at < all.size();) {
    const size_t end = all.find('\0', at);
    args.push_back(all.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  // Without --nproc: the ranks run the command itself.
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

std::string own_executable() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  TQ_CHECK(n > 0, "--nproc: cannot find this program's executable (/proc/self/exe: {})",
           std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

// A TCP port the kernel considers free now (bound to port 0, then released for rank 0's store).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  TQ_CHECK(fd >= 0, "--nproc: socket: {}", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  TQ_CHECK(ok, "--nproc: no free TCP port on 127.0.0.1: {}", std::strerror(errno));
  return ntohs(a.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

}  // namespace

int launch_local(int nproc) {
  TQ_CHECK(nproc >= 1 && nproc <= kMaxRanks, "--nproc {}: must be 1..{}", nproc, kMaxRanks);
  TQ_CHECK(
      !std::getenv("RANK") && !std::getenv("WORLD_SIZE"),
      "--nproc starts its own ranks: unset RANK and WORLD_SIZE (or launch with torchrun and no --nproc)");
  const std::vector<std::string> args = own_command_line();
  const std::string exe = own_executable();
  const char* port_env = std::getenv("MASTER_PORT");
  const std::string port = port_env && *port_env ? std::string(port_env) : std::to_string(free_port());

  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);

  std::fflush(stdout), std::fflush(stderr);
  std::vector<pid_t> ranks(static_cast<size_t>(nproc), -1);
  const pid_t launcher = getpid();
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      // A launcher that is killed outright (SIGKILL: nothing to forward) takes its ranks with it, as
      // torchrun's do, instead of leaving them to train and write its outputs unwatched.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != launcher) _exit(2);  // it died before the line above
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(exe.c_str(), argv.data());
      std::fprintf(stderr, "tinyqat: error: --nproc: rank %d: cannot run %s: %s\n", r, exe.c_str(),
                   std::strerror(errno));
      _exit(2);
    }
    if (pid < 0) {
      std::fprintf(stderr, "tinyqat: error: --nproc: fork failed for rank %d: %s\n", r, std::strerror(errno));
      forward_signal(SIGKILL);
      while (wait(nullptr) > 0) {
      }
      return 2;
    }
    ranks[static_cast<size_t>(r)] = pid;
    g_ranks[r] = pid;
    g_count = r + 1;
  }

  int running = nproc, code = 0;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int r = 0;
    while (r < nproc && ranks[static_cast<size_t>(r)] != pid) ++r;
    if (r == nproc) continue;
    --running;
    g_ranks[r] = -1;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok || code != 0) continue;
    code = 2;
    if (g_signal == 0)
      std::fprintf(stderr, "tinyqat: error: rank %d of %d %s; stopping the other ranks\n", r, nproc,
                   describe(status).c_str());
    // Stop the others: SIGTERM (with SIGCONT for a stopped one), SIGKILL for any left after 3 s.
    for (int i = 0; i < nproc; ++i)
      if (g_ranks[i] > 0) kill(g_ranks[i], SIGTERM), kill(g_ranks[i], SIGCONT);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (running > 0 && std::chrono::steady_clock::now() < deadline) {
      const pid_t p = waitpid(-1, &status, WNOHANG);
      if (p > 0) {
        for (int i = 0; i < nproc; ++i)
          if (g_ranks[i] == p) g_ranks[i] = -1, --running;
      } else if (p < 0 && errno != EINTR) {
        running = 0;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    for (int i = 0; i < nproc; ++i)
      if (g_ranks[i] > 0) kill(g_ranks[i], SIGKILL);
  }
  g_count = 0;
  if (g_signal != 0 && code == 0) code = 2;
  if (g_signal != 0)
    std::fprintf(stderr, "tinyqat: error: --nproc: stopped by signal %d (%s), forwarded to every rank\n",
                 static_cast<int>(g_signal), strsignal(g_signal));
  return code;
}

}  // namespace tinyqat::cli
