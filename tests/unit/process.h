#pragma once
// Runs a program with arguments (no shell), feeds it optional stdin, and captures stdout,
// stderr and how it ended, with a timeout. Header-only so the unit-test glob (*_test.cpp)
// needs no change. POSIX only: posix_spawn + pipes + poll.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace hearth::test {

struct ProcessResult {
    int exit_code = -1;     // the exit status when the process exited normally, else -1
    int term_signal = 0;    // the signal that ended it (SIGSEGV, SIGABRT, SIGKILL on timeout…), else 0
    bool timed_out = false; // killed because it ran past the timeout
    std::string out;        // everything written to stdout
    std::string err;        // everything written to stderr
    std::string spawn_error;  // non-empty when the program could not be started at all

    bool exited() const { return term_signal == 0 && !timed_out && spawn_error.empty(); }
};

struct ProcessOptions {
    std::string stdin_data;      // written to the child's stdin, which is then closed
    double timeout_seconds = 60;
};

namespace detail {

inline void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace detail

// argv[0] is the program's path (not searched in PATH).
inline ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {}) {
    ProcessResult r;
    if (argv.empty()) {
        r.spawn_error = "no program given";
        return r;
    }
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(err_pipe, O_CLOEXEC) != 0) {
        r.spawn_error = std::string("pipe: ") + std::strerror(errno);
        for (int* p : {in_pipe, out_pipe, err_pipe}) detail::close_fd(p[0]), detail::close_fd(p[1]);
        return r;
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);

    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    detail::close_fd(in_pipe[0]);
    detail::close_fd(out_pipe[1]);
    detail::close_fd(err_pipe[1]);
    if (rc != 0) {
        r.spawn_error = "posix_spawn " + argv[0] + ": " + std::strerror(rc);
        detail::close_fd(in_pipe[1]), detail::close_fd(out_pipe[0]), detail::close_fd(err_pipe[0]);
        return r;
    }

    // A child that exits without reading its stdin must not kill us with SIGPIPE.
    struct sigaction ignore{}, previous{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);

    size_t stdin_written = 0;
    if (options.stdin_data.empty()) detail::close_fd(in_pipe[1]);
    else ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);

    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.timeout_seconds));
    char buf[65536];
    while (out_pipe[0] >= 0 || err_pipe[0] >= 0 || in_pipe[1] >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            r.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd fds[3];
        int n = 0;
        int idx_out = -1, idx_err = -1, idx_in = -1;
        if (out_pipe[0] >= 0) idx_out = n, fds[n++] = {out_pipe[0], POLLIN, 0};
        if (err_pipe[0] >= 0) idx_err = n, fds[n++] = {err_pipe[0], POLLIN, 0};
        if (in_pipe[1] >= 0) idx_in = n, fds[n++] = {in_pipe[1], POLLOUT, 0};
        int ready = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long long>(left, 1000)));
        if (ready < 0) {
            if (errno == EINTR) continue;
            r.spawn_error = std::string("poll: ") + std::strerror(errno);
            ::kill(pid, SIGKILL);
            break;
        }
        auto drain = [&](int idx, int& fd, std::string& sink) {
            if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
            ssize_t got = ::read(fd, buf, sizeof buf);
            if (got > 0) sink.append(buf, static_cast<size_t>(got));
            else if (got == 0 || errno != EINTR) detail::close_fd(fd);
        };
        drain(idx_out, out_pipe[0], r.out);
        drain(idx_err, err_pipe[0], r.err);
        if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t put = ::write(in_pipe[1], options.stdin_data.data() + stdin_written,
                                  options.stdin_data.size() - stdin_written);
            if (put > 0) stdin_written += static_cast<size_t>(put);
            if ((put < 0 && errno != EAGAIN && errno != EINTR) || stdin_written == options.stdin_data.size())
                detail::close_fd(in_pipe[1]);
        }
    }
    detail::close_fd(in_pipe[1]), detail::close_fd(out_pipe[0]), detail::close_fd(err_pipe[0]);

    // The pipes can close before the process ends; keep to the deadline while waiting too.
    int status = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, r.timed_out ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        if (w == 0) {
            if (Clock::now() >= deadline) {
                r.timed_out = true;
                ::kill(pid, SIGKILL);
            } else {
                ::usleep(1000);
            }
        }
    }
    ::sigaction(SIGPIPE, &previous, nullptr);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
    return r;
}

#ifdef HEARTH_BINARY
// The hearth binary under test (the build's bin/hearth) with `args`.
inline ProcessResult run_hearth(const std::vector<std::string>& args, ProcessOptions options = {"", 120}) {
    std::vector<std::string> argv{HEARTH_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, options);
}
#endif

}  // namespace hearth::test
