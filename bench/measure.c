/*
 * measure: run a command and write its wall time and resource usage.
 *
 * Usage: measure OUTFILE COMMAND [ARG]...
 *
 * Forks, execs COMMAND, waits for it with wait4() and writes one line to
 * OUTFILE:
 *     start_monotonic_s wall_s user_s sys_s maxrss_kib exit_code
 * user/sys/maxrss cover COMMAND and the descendants it waited for; exit_code
 * is 128+signal when it was killed.  Exit status: that of COMMAND.
 *
 * Why not wait4() from the benchmark's Python directly: a child forked from
 * a large process keeps that process's resident-set high-water mark across
 * exec (Linux records it in the child at exec time), so ru_maxrss would
 * report the Python interpreter's size, not the warmer's.  Forked from this
 * small program, the floor is this program's own ~1 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: measure OUTFILE COMMAND [ARG]...\n");
		return 127;
	}
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 127;
	}
	double t0 = mono();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 127;
	}
	if (pid == 0) {
		fclose(out);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("wait4");
			return 127;
		}
	}
	double t1 = mono();
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%.6f %.6f %.6f %.6f %ld %d\n", t0, t1 - t0,
		ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		ru.ru_maxrss, code);
	fclose(out);
	return code;
}
