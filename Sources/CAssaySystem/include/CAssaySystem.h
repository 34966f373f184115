#ifndef ASSAY_CASSAYSYSTEM_H
#define ASSAY_CASSAYSYSTEM_H
#include <sys/types.h>

/// Puts the calling process in the idle I/O class (ioprio_set(2) has no glibc wrapper).
int assay_set_idle_io_priority(void);
/// Spawns argv[0] (a full path) with stdin from /dev/null, stdout to a pipe, stderr discarded;
/// returns the pid and the read end of the pipe, or -1.
pid_t assay_spawn_reading(const char *const argv[], int *stdout_fd);
#endif
