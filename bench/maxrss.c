/* maxrss OUT CMD [ARG...]: run CMD and write its peak RSS in KiB (wait4 ru_maxrss) to OUT.
 * A tiny static program spawns the command with vfork, so the number is not inflated by a big
 * parent's memory (exec records the old address space's peak: a Python parent adds ~15 MB).
 * Exits with CMD's exit code. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3)
		return 2;
	pid = vfork();
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return 2;
	out = fopen(argv[1], "w");
	if (!out)
		return 2;
	fprintf(out, "%ld\n", ru.ru_maxrss);
	fclose(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
