// `tinyqat train|qat --nproc N`: N ranks of the same command on this machine, as torchrun
// --nproc-per-node N would start them (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// MASTER_PORT a free port unless set). The launcher forwards SIGINT/SIGTERM/SIGHUP to the ranks and waits;
// the first rank that fails (exit code or signal) is named on one line, the others are stopped, and the
// launcher exits with code 2.
#pragma once

namespace tinyqat::cli {

// Runs this process's own command line (read from /proc/self/cmdline, without --nproc) as `nproc` ranks;
// returns the exit code (0 when every rank succeeded).
int launch_local(int nproc);

}  // namespace tinyqat::cli
