/* socket-get SOCKET PATH: GET PATH from the HTTP server on a unix socket (the Docker engine's, in a
 * sandbox that mounts it) and print the answer's body. A static binary, so that the busybox test
 * templates can prove that the agent reaches the engine through the socket it was given. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: socket-get SOCKET PATH\n");
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror(argv[1]);
        return 1;
    }
    char request[512];
    int n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: docker\r\n\r\n", argv[2]);
    if (write(fd, request, n) != n) {
        perror("write");
        return 1;
    }
    static char answer[1 << 20];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof answer - 1 && (r = read(fd, answer + got, sizeof answer - 1 - got)) > 0)
        got += (size_t)r;
    answer[got] = 0;
    char *body = strstr(answer, "\r\n\r\n");
    if (strncmp(answer, "HTTP/1.", 7) != 0 || body == NULL) {
        fprintf(stderr, "not an HTTP answer\n");
        return 1;
    }
    fputs(body + 4, stdout);
    return strncmp(answer + 9, "200", 3) == 0 ? 0 : 1;
}
