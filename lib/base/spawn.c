/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a helper program and waiting for it. */
#include "base/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"

extern char **environ;

static int spawn(const char *const argv[], const char *const extra_env[], char *out,
		 size_t outlen)
{
	size_t n = 0, m = 0;
	_cleanup_free_ char **envp = NULL; /* borrowed strings */
	posix_spawn_file_actions_t fa;
	char errbuf[512] = "";
	int pipefd[2], status, r;
	pid_t pid;
	ssize_t got;

	while (environ[n])
		n++;
	while (extra_env && extra_env[m])
		m++;
	envp = calloc(n + m + 1, sizeof(char *));
	if (!envp)
		return -ENOMEM;
	if (m) /* extra_env may be NULL, which memcpy must not get even for 0 bytes */
		memcpy(envp, (const void *)extra_env, m * sizeof(char *));
	memcpy(envp + m, environ, n * sizeof(char *));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return aim_error_set(-r, "cannot run %s: %s (is it installed?)", argv[0],
				     strerror(r));
	}
	got = read(pipefd[0], errbuf, sizeof(errbuf) - 1);
	if (out && outlen) {
		size_t k = got > 0 ? (size_t)got : 0;

		k = k < outlen - 1 ? k : outlen - 1;
		memcpy(out, errbuf, k);
		out[k] = 0;
	}
	/* Drain the rest so the child never blocks on a full pipe. */
	{
		char sink[4096];
		while (read(pipefd[0], sink, sizeof(sink)) > 0)
			;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	errbuf[got > 0 ? got : 0] = 0;
	errbuf[strcspn(errbuf, "\n")] = 0;
	return aim_error_set(-EIO, "%s failed (%s%d)%s%s", argv[0],
			     WIFEXITED(status) ? "exit status " : "signal ",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			     errbuf[0] ? ": " : "", errbuf);
}

int aim_spawn(const char *const argv[], const char *const extra_env[])
{
	return spawn(argv, extra_env, NULL, 0);
}

int aim_spawn_output(const char *const argv[], char *out, size_t outlen)
{
	return spawn(argv, NULL, out, outlen);
}
