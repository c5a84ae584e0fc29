/* self_info: prints facts about this process as "key=value" lines: ids, session, group, umask,
 * groups, some resource limits, and the signal masks from /proc/self/status (hex). */
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void limit(const char* name, int resource) {
    struct rlimit l;
    if (getrlimit(resource, &l) != 0) return;
    printf("%s_soft=%lld\n%s_hard=%lld\n", name, l.rlim_cur == RLIM_INFINITY ? -1LL : (long long)l.rlim_cur,
           name, l.rlim_max == RLIM_INFINITY ? -1LL : (long long)l.rlim_max);
}

int main(void) {
    printf("pid=%d\nppid=%d\npgid=%d\nsid=%d\n", (int)getpid(), (int)getppid(), (int)getpgid(0), (int)getsid(0));
    const mode_t mask = umask(0);
    printf("umask=%04o\n", (unsigned)mask);
    printf("uid=%d\ngid=%d\n", (int)getuid(), (int)getgid());
    gid_t groups[256];
    const int n = getgroups(256, groups);
    printf("groups=");
    for (int i = 0; i < n; ++i) printf(i == 0 ? "%d" : ",%d", (int)groups[i]);
    printf("\n");
    limit("nofile", RLIMIT_NOFILE);
    limit("core", RLIMIT_CORE);
    FILE* status = fopen("/proc/self/status", "r");
    if (status == NULL) return 2;
    char line[512];
    while (fgets(line, sizeof line, status) != NULL) {
        const char* keys[] = {"SigBlk:", "SigIgn:", "SigCgt:"};
        for (int i = 0; i < 3; ++i) {
            const size_t k = strlen(keys[i]);
            if (strncmp(line, keys[i], k) != 0) continue;
            const char* value = line + k;
            while (*value == ' ' || *value == '\t') ++value;
            printf("%.*s=%s", (int)(k - 1), keys[i], value);
        }
    }
    fclose(status);
    return 0;
}
