#include "config.h"

#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "shm.h"

struct shm *
shm_create(void)
{
	void *p = mmap(NULL, sizeof(struct shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fatal("mmap %zu bytes of shared memory", sizeof(struct shm));
	((struct shm *)p)->cpus = (int32_t)sysconf(_SC_NPROCESSORS_ONLN);
	if (((struct shm *)p)->cpus < 1)
		((struct shm *)p)->cpus = 1;
	return p;
}
