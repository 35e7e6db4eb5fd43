/*
 * replay.c - a main() for the fuzz targets without libFuzzer: feed each
 * file named on the command line (directories are walked) to
 * LLVMFuzzerTestOneInput once.  The test suite uses it to run every
 * parser over the real corpora under the sanitizers.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long files;

static void
replay(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;

		if (!d)
			return;
		while ((e = readdir(d))) {
			char sub[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			replay(sub);
		}
		closedir(d);
		return;
	}
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	uint8_t *data = malloc((size_t)st.st_size + 1);
	size_t n = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (data) {
		LLVMFuzzerTestOneInput(data, n);
		files++;
	}
	free(data);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay(argv[i]);
	printf("replayed %lu files\n", files);
	return 0;
}
