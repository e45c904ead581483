/* replay.c — main() for a fuzz target outside libFuzzer: feeds it every file named on the
 * command line, or every file of a folder (sorted), or, without arguments, the target's
 * committed corpus FUZZ_CORPUS. Each input is copied into a buffer of exactly its size so
 * ASan sees a read past the end. Prints one line; exits 1 when a folder holds no input. A
 * crash or a failed invariant aborts the process, which the unit runner reports. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "."
#endif

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL)
        abort();
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL)
        abort();
    if (n)
        memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int only_files(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Replays a file or every file of a folder; returns how many inputs ran, -1 on error. */
static long replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path) == 0 ? 1 : -1;
    struct dirent **names;
    int k = scandir(path, &names, only_files, alphasort);
    if (k < 0) {
        perror(path);
        return -1;
    }
    long count = 0;
    for (int i = 0; i < k; i++) {
        char full[4096];
        snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
        if (count >= 0 && stat(full, &st) == 0 && S_ISREG(st.st_mode))
            count = replay_file(full) == 0 ? count + 1 : -1;
        free(names[i]);
    }
    free(names);
    if (count == 0)
        fprintf(stderr, "%s: no input to replay\n", path);
    return count > 0 ? count : -1;
}

int main(int argc, char **argv)
{
    const char *def[] = {FUZZ_CORPUS};
    const char **paths = argc > 1 ? (const char **)argv + 1 : def;
    int npaths = argc > 1 ? argc - 1 : 1;
    long total = 0;
    for (int i = 0; i < npaths; i++) {
        long n = replay_path(paths[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
