/* berth-session: an agent's terminal held inside a sandbox, so that the agent outlives the terminal
 * that started it and can be attached again, from any client, through the engine's exec API alone.
 *
 * Berth copies this program (built static, so it needs nothing from the template) into each
 * sandbox. It runs there as the agent's user and is as untrusted as the agent: it only ever touches
 * its own sessions folder, and whatever it prints is read by Berth as untrusted text.
 *
 *   berth-session new [--dir D] [--id ID] [--agent A] [--cols C --rows R] [--attach] [--framed] -- CMD...
 *   berth-session attach [--dir D] [--framed] [--cols C --rows R] ID
 *   berth-session ls [--dir D]          one JSON object per line, newest last
 *   berth-session stop [--dir D] ID     ends the agent (HUP, TERM, then KILL) and waits for it
 *
 * A session is a daemon (its own session leader, away from the exec that started it) holding the
 * pty master of the agent's terminal, the last RING bytes of its output, and a Unix socket in
 * DIR/ID/sock where one client at a time attaches (a newer one takes over). When the agent exits,
 * its exit code and last output stay in DIR/ID (exit, output); `attach` then replays them.
 *
 * Attaching from a terminal (stdin a tty): raw mode, the window size follows SIGWINCH, Ctrl-\
 * detaches. From a pipe: input as it comes, then end-of-file (^D) to the agent; output until it
 * exits. --framed (a client with no pty of its own, such as an editor's pseudo-terminal):
 * stdin and stdout carry frames, each a type byte, a 16-bit big-endian length and the payload:
 *   in:  'd' input bytes  'w' cols rows (16-bit each)
 *   out: 's' session id (first)  'o' output bytes  'x' exit code (32-bit)  'k' attached elsewhere
 *        'e' the session had ended without an exit code (its sandbox stopped)
 * Starts and exits are written, one line each, to the sandbox's log through /run/berth/events.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RING (256 * 1024)   /* output kept for a client that attaches later */
#define TAIL 8192           /* of it, what `ls` shows of an exited session */
#define KEEP_ENDED 10       /* ended sessions kept for their exit code and output */
#define EVENTS "/run/berth/events"
#define DETACH_KEY 0x1c     /* Ctrl-\ */
#define INQ (1024 * 1024)   /* input waiting for the agent */
#define MAX_SCAN 512        /* session folders `ls` looks at */
#define MAX_LISTED 64       /* sessions `ls` prints (the newest) */

static char g_dir[512];

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("berth-session: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static int valid_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-') return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.') return 0;
    return 1;
}

static void path_of(char *out, size_t n, const char *id, const char *leaf) {
    snprintf(out, n, "%s/%s%s%s", g_dir, id, leaf ? "/" : "", leaf ? leaf : "");
}

/* The sessions folder: made 0700, and refused unless it is a real folder of this user's. */
static void ensure_dir(int make) {
    struct stat st;
    if (make) mkdir(g_dir, 0700);
    if (lstat(g_dir, &st) != 0) {
        if (!make && errno == ENOENT) return;
        die("cannot use %s: %s", g_dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
        die("%s is not a folder of this user's", g_dir);
}

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, char type, const void *data, size_t n) {
    unsigned char head[3] = {(unsigned char)type, (unsigned char)(n >> 8), (unsigned char)n};
    if (write_all(fd, head, 3) != 0) return -1;
    return n ? write_all(fd, data, n) : 0;
}

static int write_file(const char *path, const void *data, size_t n) {
    char tmp[640];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    int bad = write_all(fd, data, n);
    close(fd);
    return bad || rename(tmp, path) ? -1 : 0;
}

static char *read_file(const char *path, size_t max, size_t *len) {
    /* O_NONBLOCK: a FIFO the agent put here must not hold the reader; only a file is read */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size, skip = size > max ? size - max : 0;
    char *buf = malloc(size - skip + 1);
    if (!buf || lseek(fd, (off_t)skip, SEEK_SET) < 0) {
        free(buf);
        close(fd);
        return NULL;
    }
    ssize_t r = read(fd, buf, size - skip);
    close(fd);
    if (r < 0) r = 0;
    buf[r] = 0;
    if (len) *len = (size_t)r;
    return buf;
}

/* One line in the sandbox's log; never waits (no reader: the line is dropped). */
static void log_line(const char *fmt, ...) {
    char line[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "berth: %Y-%m-%dT%H:%M:%SZ ", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    int fd = open(EVENTS, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) (void)!write(fd, line, strlen(line));
    close(fd);
}

/* A process's start time (clock ticks after boot): with its pid, it tells it from a later one. */
static unsigned long long start_time(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) return 0;
    buf[r] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    unsigned long long t = 0;
    /* after the command: state, then fields 4..21, then starttime (22) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &t) != 1)
        return 0;
    return t;
}

/* -- the session daemon ----------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop_asked, g_child_done;
static void on_usr1(int s) { (void)s; g_stop_asked = 1; }
static void on_chld(int s) { (void)s; g_child_done = 1; }

struct ring {
    char buf[RING];
    size_t start, len;
};

static void ring_add(struct ring *r, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t at = (r->start + r->len) % RING;
        r->buf[at] = p[i];
        if (r->len < RING) r->len++;
        else r->start = (r->start + 1) % RING;
    }
}

/* Calls f on the ring's contents in order (at most two pieces). */
static int ring_each(struct ring *r, int (*f)(void *, const char *, size_t), void *arg) {
    size_t first = r->len < RING - r->start ? r->len : RING - r->start;
    if (first && f(arg, r->buf + r->start, first)) return -1;
    if (r->len > first && f(arg, r->buf, r->len - first)) return -1;
    return 0;
}

static int to_client(void *fd, const char *p, size_t n) {
    while (n > 0) {
        size_t part = n > 60000 ? 60000 : n;
        if (send_frame(*(int *)fd, 'o', p, part)) return -1;
        p += part;
        n -= part;
    }
    return 0;
}

static int to_buffer(void *dst, const char *p, size_t n) {
    char **d = dst;
    memcpy(*d, p, n);
    *d += n;
    return 0;
}

static void set_size(int master, unsigned cols, unsigned rows) {
    if (!cols || !rows || cols > 4096 || rows > 4096) return;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(master, TIOCSWINSZ, &ws);
}

static void drop_client(int *client, const char *id) {
    if (*client < 0) return;
    close(*client);
    *client = -1;
    char path[640];
    path_of(path, sizeof path, id, "attached");
    unlink(path);
}

/* Runs the session until the agent exits. `ready` is written once the socket listens. */
static void daemon_main(const char *id, const char *agent, int lsock, int ready, unsigned cols,
                        unsigned rows, char **cmd) {
    struct winsize ws = {.ws_row = (unsigned short)(rows ? rows : 24), .ws_col = (unsigned short)(cols ? cols : 80)};
    int master, slave;
    signal(SIGCHLD, on_chld);
    /* The daemon keeps the terminal's other end open as well, from before the agent starts: reads
     * then never fail at the agent's exit, which on Linux can drop its last output (an error
     * message just before exiting). */
    if (openpty(&master, &slave, NULL, NULL, &ws) != 0) _exit(1);
    pid_t child = fork();
    if (child < 0) _exit(1);
    if (child == 0) {
        close(master);
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        if (slave > 2) close(slave);
        close(lsock);
        close(ready);
        execvp(cmd[0], cmd);
        fprintf(stderr, "berth-session: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    char path[640], info[1024];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pid_t me = getpid();
    int n = snprintf(info, sizeof info,
                     "{\"id\":\"%s\",\"agent\":\"%s\",\"started\":%lld,\"pid\":%d,\"startTime\":%llu}\n",
                     id, agent, (long long)now.tv_sec, (int)me, start_time(me));
    path_of(path, sizeof path, id, "info");
    write_file(path, info, (size_t)n);
    (void)!write(ready, "1", 1);
    close(ready);
    log_line("session %s (%s) started", id, agent);

    static struct ring ring;
    /* Input the agent has not read yet: written as the terminal takes it, never dropped; the client
     * is not read while this is nearly full, so a fast paste waits instead of vanishing. */
    static char inq[INQ];
    size_t inq_len = 0;
    int client = -1, status = 0, exited = 0, jiggle = 0;
    time_t stop_at = 0, drain_until = 0;
    int stop_stage = 0;
    fcntl(master, F_SETFL, O_NONBLOCK);
    for (;;) {
        if (g_stop_asked && !stop_stage) {
            stop_stage = 1;
            stop_at = time(NULL);
            kill(-child, SIGHUP);
            kill(child, SIGHUP);
        }
        if (stop_stage && !exited) {
            time_t t = time(NULL) - stop_at;
            if (stop_stage == 1 && t >= 2) { kill(-child, SIGTERM); kill(child, SIGTERM); stop_stage = 2; }
            if (stop_stage == 2 && t >= 5) { kill(-child, SIGKILL); kill(child, SIGKILL); stop_stage = 3; }
        }
        if (g_child_done && !exited) {
            g_child_done = 0;
            if (waitpid(child, &status, WNOHANG) == child) exited = 1;
        }
        int take_input = client >= 0 && inq_len <= INQ - 65536 - 3;
        struct pollfd fds[3] = {{master, (short)(POLLIN | (inq_len ? POLLOUT : 0)), 0},
                                {lsock, POLLIN, 0}, {take_input ? client : -1, POLLIN, 0}};
        int r = poll(fds, 3, exited ? 0 : 500);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) {
            if (exited) break; /* the agent is gone and its output drained */
            continue;
        }
        /* what the agent left running may write on: its output is read for a second at most */
        if (exited && !drain_until) drain_until = time(NULL) + 2;
        if (exited && time(NULL) >= drain_until) break;
        if (inq_len && (fds[0].revents & POLLOUT)) {
            ssize_t w = write(master, inq, inq_len);
            if (w > 0) {
                memmove(inq, inq + w, inq_len - (size_t)w);
                inq_len -= (size_t)w;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t got = read(master, buf, sizeof buf);
            if (got > 0) {
                ring_add(&ring, buf, (size_t)got);
                if (client >= 0 && to_client(&client, buf, (size_t)got)) drop_client(&client, id);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* the pty has no other end left: wait for the agent itself */
                if (!exited) {
                    waitpid(child, &status, 0);
                    exited = 1;
                }
                break;
            }
        }
        if (fds[1].revents & POLLIN) {
            int c = accept(lsock, NULL, NULL);
            if (c >= 0) {
                if (client >= 0) {
                    send_frame(client, 'k', NULL, 0);
                    drop_client(&client, id);
                }
                /* a client that stops reading, or sends half a frame, must not stall the agent */
                struct timeval tv = {5, 0};
                setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
                client = c;
                path_of(path, sizeof path, id, "attached");
                write_file(path, "", 0);
                if (ring_each(&ring, to_client, &client)) drop_client(&client, id);
                jiggle = ring.len > 0;
            }
        }
        if (take_input && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            unsigned char head[3], data[65536];
            if (read_full(client, head, 3) != 0) {
                drop_client(&client, id);
                continue;
            }
            size_t len = ((size_t)head[1] << 8) | head[2];
            if (len && read_full(client, data, len) != 0) {
                drop_client(&client, id);
                continue;
            }
            if (head[0] == 'd') {
                memcpy(inq + inq_len, data, len);
                inq_len += len;
            } else if (head[0] == 'w' && len == 4) {
                unsigned c = (data[0] << 8) | data[1], rw = (data[2] << 8) | data[3];
                struct winsize cur;
                if (jiggle && ioctl(master, TIOCGWINSZ, &cur) == 0 && cur.ws_col == c && cur.ws_row == rw && rw > 1)
                    set_size(master, c, rw - 1); /* the same size: the agent still hears of it and redraws */
                jiggle = 0;
                set_size(master, c, rw);
            }
        }
    }
    if (!exited) { /* the loop failed: the agent must not run on unheld */
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        exited = 1;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    /* what the terminal last showed, then the exit code: `attach` replays both */
    char *out = malloc(RING), *end = out;
    if (out) {
        ring_each(&ring, to_buffer, &end);
        path_of(path, sizeof path, id, "output");
        write_file(path, out, (size_t)(end - out));
        free(out);
    }
    n = snprintf(info, sizeof info, "%d\n%s", code, g_stop_asked ? "stopped\n" : "");
    path_of(path, sizeof path, id, "exit");
    write_file(path, info, (size_t)n);
    log_line("session %s (%s) exited with code %d", id, agent, code);
    if (client >= 0) {
        uint32_t be = htonl((uint32_t)code);
        send_frame(client, 'x', &be, 4);
        drop_client(&client, id);
    }
    path_of(path, sizeof path, id, "sock");
    unlink(path);
    /* Whoever connected while the session was ending gets what a later client would. */
    fcntl(lsock, F_SETFL, O_NONBLOCK);
    for (int c; (c = accept(lsock, NULL, NULL)) >= 0; close(c)) {
        struct timeval tv = {2, 0};
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (ring_each(&ring, to_client, &c) == 0) {
            uint32_t be = htonl((uint32_t)code);
            send_frame(c, 'x', &be, 4);
        }
    }
    _exit(0);
}

/* -- reading sessions ------------------------------------------------------------------------- */

static long long json_int(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? atoll(p + strlen(pat)) : -1;
}

static void json_str(const char *json, const char *key, char *out, size_t n) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = json ? strstr(json, pat) : NULL;
    out[0] = 0;
    if (!p) return;
    p += strlen(pat);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
    out[i] = 0;
}

enum state { GONE, RUNNING, EXITED, ENDED };

struct session {
    char id[80], agent[80];
    long long started;
    int code, attached, stopped;
    enum state state;
};

static enum state read_session(const char *id, struct session *s) {
    char path[640];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    path_of(path, sizeof path, id, "info");
    char *info = read_file(path, 4096, NULL);
    if (!info) return s->state = GONE;
    json_str(info, "agent", s->agent, sizeof s->agent);
    s->started = json_int(info, "started");
    pid_t pid = (pid_t)json_int(info, "pid");
    unsigned long long st = (unsigned long long)json_int(info, "startTime");
    free(info);
    path_of(path, sizeof path, id, "exit");
    char *exit_text = read_file(path, 64, NULL);
    s->code = -1;
    if (exit_text) {
        s->code = atoi(exit_text);
        s->stopped = strstr(exit_text, "stopped") != NULL;
        free(exit_text);
        return s->state = EXITED;
    }
    if (pid > 0 && st && start_time(pid) == st) {
        path_of(path, sizeof path, id, "attached");
        s->attached = access(path, F_OK) == 0;
        return s->state = RUNNING;
    }
    return s->state = ENDED; /* its daemon went with the sandbox's last stop */
}

static void json_escaped(FILE *f, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
}

static int by_started(const void *a, const void *b) {
    const struct session *x = a, *y = b;
    return x->started < y->started ? -1 : x->started > y->started ? 1 : strcmp(x->id, y->id);
}

static void remove_session(const char *id) {
    const char *leaves[] = {"info", "exit", "output", "sock", "attached", "info.tmp", "exit.tmp", "output.tmp", "attached.tmp"};
    char path[640];
    for (size_t i = 0; i < sizeof leaves / sizeof *leaves; i++) {
        path_of(path, sizeof path, id, leaves[i]);
        unlink(path);
    }
    path_of(path, sizeof path, id, NULL);
    rmdir(path);
}

static int list_sessions(struct session **out) {
    ensure_dir(0);
    DIR *d = opendir(g_dir);
    int n = 0, cap = 0;
    struct session *all = NULL;
    if (!d) {
        *out = NULL;
        return 0;
    }
    struct dirent *e;
    int scanned = 0;
    while ((e = readdir(d)) != NULL && scanned < MAX_SCAN) {
        if (!valid_id(e->d_name)) continue;
        scanned++;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            all = realloc(all, (size_t)cap * sizeof *all);
            if (!all) die("out of memory");
        }
        if (read_session(e->d_name, &all[n]) != GONE) n++;
    }
    closedir(d);
    qsort(all, (size_t)n, sizeof *all, by_started);
    /* only the last KEEP_ENDED ended sessions stay */
    int ended = 0;
    for (int i = n - 1; i >= 0; i--)
        if (all[i].state != RUNNING && ++ended > KEEP_ENDED) {
            remove_session(all[i].id);
            all[i].state = GONE;
        }
    *out = all;
    return n;
}

static int cmd_ls(void) {
    struct session *all;
    int n = list_sessions(&all);
    static const char *names[] = {"gone", "running", "exited", "ended"};
    for (int i = n > MAX_LISTED ? n - MAX_LISTED : 0; i < n; i++) {
        struct session *s = &all[i];
        if (s->state == GONE) continue;
        printf("{\"id\":\"%s\",\"agent\":\"", s->id);
        json_escaped(stdout, s->agent, strlen(s->agent));
        printf("\",\"started\":%lld,\"state\":\"%s\",\"attached\":%s", s->started, names[s->state],
               s->attached ? "true" : "false");
        if (s->state == EXITED) {
            char path[640];
            size_t len = 0;
            path_of(path, sizeof path, s->id, "output");
            char *tail = read_file(path, TAIL, &len);
            printf(",\"exitCode\":%d,\"stopped\":%s,\"tail\":\"", s->code, s->stopped ? "true" : "false");
            if (tail) json_escaped(stdout, tail, len);
            free(tail);
            printf("\"");
        }
        printf("}\n");
    }
    free(all);
    return 0;
}

/* -- attaching -------------------------------------------------------------------------------- */

static struct termios g_saved;
static int g_raw;
static volatile sig_atomic_t g_winch = 1;
static void on_winch(int s) { (void)s; g_winch = 1; }
static void restore_tty(void) {
    if (g_raw) tcsetattr(0, TCSADRAIN, &g_saved);
    g_raw = 0;
}

static void send_size(int sock, unsigned cols, unsigned rows) {
    unsigned char w[4] = {(unsigned char)(cols >> 8), (unsigned char)cols, (unsigned char)(rows >> 8), (unsigned char)rows};
    send_frame(sock, 'w', w, 4);
}

/* An exited (or ended) session: its last output and exit code, as a live one would end. */
static int replay_ended(const char *id, int framed, int announce) {
    struct session s;
    enum state st = read_session(id, &s);
    if (st == GONE) die("no session %s", id);
    if (framed && announce) send_frame(1, 's', id, strlen(id));
    if (st == ENDED) {
        if (framed) send_frame(1, 'e', NULL, 0);
        else fprintf(stderr, "berth-session: session %s ended when its sandbox stopped\n", id);
        return 255;
    }
    char path[640];
    size_t len = 0;
    path_of(path, sizeof path, id, "output");
    char *out = read_file(path, RING, &len);
    if (out) {
        if (framed) to_client(&(int){1}, out, len);
        else write_all(1, out, len);
        free(out);
    }
    if (framed) {
        uint32_t be = htonl((uint32_t)s.code);
        send_frame(1, 'x', &be, 4);
    }
    return s.code;
}

static int attach(const char *id, int framed, unsigned cols, unsigned rows) {
    char path[640];
    path_of(path, sizeof path, id, "sock");
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (sock >= 0) close(sock);
        return replay_ended(id, framed, 1);
    }
    signal(SIGPIPE, SIG_IGN);
    int tty = !framed && isatty(0);
    if (framed) send_frame(1, 's', id, strlen(id));
    if (tty) {
        tcgetattr(0, &g_saved);
        struct termios raw = g_saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSADRAIN, &raw);
        g_raw = 1;
        atexit(restore_tty);
        signal(SIGWINCH, on_winch);
        /* a fresh screen for the replay, as a terminal multiplexer gives */
        write_all(1, "\033[H\033[2J", 7);
    } else if (cols && rows) {
        send_size(sock, cols, rows);
        g_winch = 0;
    } else {
        g_winch = 0;
    }
    unsigned char inbuf[65536 + 3];
    size_t inlen = 0;
    int stdin_open = 1;
    for (;;) {
        if (tty && g_winch) {
            g_winch = 0;
            struct winsize ws;
            if (ioctl(0, TIOCGWINSZ, &ws) == 0) send_size(sock, ws.ws_col, ws.ws_row);
        }
        struct pollfd fds[2] = {{stdin_open ? 0 : -1, POLLIN, 0}, {sock, POLLIN, 0}};
        int r = poll(fds, 2, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char head[3], data[65536];
            if (read_full(sock, head, 3) != 0) break; /* the daemon is gone with the sandbox */
            size_t len = ((size_t)head[1] << 8) | head[2];
            if (len && read_full(sock, data, len) != 0) break;
            if (head[0] == 'o') {
                if ((framed ? send_frame(1, 'o', data, len) : write_all(1, data, len)) != 0) return 0;
            } else if (head[0] == 'x' && len == 4) {
                uint32_t be;
                memcpy(&be, data, 4);
                if (framed) send_frame(1, 'x', data, 4);
                restore_tty();
                return (int)ntohl(be) & 0xff;
            } else if (head[0] == 'k') {
                if (framed) send_frame(1, 'k', NULL, 0);
                restore_tty();
                if (!framed) fprintf(stderr, "\r\nberth-session: %s was attached elsewhere\r\n", id);
                return 0;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            /* unframed input becomes frames of at most 65535 bytes: read no more than one */
            size_t room = framed ? sizeof inbuf - inlen : 65535;
            ssize_t got = read(0, inbuf + inlen, room);
            if (got <= 0) {
                if (got < 0 && errno == EINTR) continue;
                if (framed || tty) return 0; /* the terminal is gone: detached, the agent keeps running */
                /* piped input ended: the agent hears end-of-file, and its output is read to its end */
                if (send_frame(sock, 'd', "\004", 1) != 0) break;
                stdin_open = 0;
                continue;
            }
            if (framed) {
                /* frames go to the daemon as they are, whole frames only */
                inlen += (size_t)got;
                size_t at = 0;
                while (inlen - at >= 3) {
                    size_t len = ((size_t)inbuf[at + 1] << 8) | inbuf[at + 2];
                    if (inlen - at < 3 + len) break;
                    if (write_all(sock, inbuf + at, 3 + len) != 0) return 0;
                    at += 3 + len;
                }
                memmove(inbuf, inbuf + at, inlen - at);
                inlen -= at;
            } else {
                unsigned char *key = tty ? memchr(inbuf, DETACH_KEY, (size_t)got) : NULL;
                if (key) {
                    if (key > inbuf) send_frame(sock, 'd', inbuf, (size_t)(key - inbuf));
                    restore_tty();
                    fprintf(stderr, "\r\n[detached from %s: the agent keeps running]\r\n", id);
                    return 0;
                }
                if (send_frame(sock, 'd', inbuf, (size_t)got) != 0) break;
            }
        }
    }
    restore_tty();
    struct session s;
    if (read_session(id, &s) == EXITED) { /* it ended as this attached: its end, from its record */
        close(sock);
        return replay_ended(id, framed, 0);
    }
    if (framed) send_frame(1, 'e', NULL, 0);
    else fprintf(stderr, "\r\nberth-session: the session %s ended with its sandbox\r\n", id);
    return 255;
}

/* -- new, stop -------------------------------------------------------------------------------- */

static int cmd_new(const char *id_arg, const char *agent, unsigned cols, unsigned rows, int do_attach,
                   int framed, char **cmd) {
    char id[80], path[640];
    ensure_dir(1);
    if (id_arg) {
        snprintf(id, sizeof id, "%s", id_arg);
        path_of(path, sizeof path, id, NULL);
        if (mkdir(path, 0700) != 0) die("cannot make session %s: %s", id, strerror(errno));
    } else {
        /* AGENT-N, the first N free (mkdir decides between two at once) */
        for (int n = 1;; n++) {
            snprintf(id, sizeof id, "%s-%d", agent, n);
            path_of(path, sizeof path, id, NULL);
            if (mkdir(path, 0700) == 0) break;
            if (errno != EEXIST || n > 100000) die("cannot make a session: %s", strerror(errno));
        }
    }
    if (!cols || !rows) {
        struct winsize ws;
        if (!framed && isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0) {
            cols = ws.ws_col;
            rows = ws.ws_row;
        }
    }
    path_of(path, sizeof path, id, "sock");
    int lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) die("the sessions folder's path is too long");
    strcpy(addr.sun_path, path);
    if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lsock, 4) != 0)
        die("cannot listen on %s: %s", path, strerror(errno));
    int pipefd[2];
    if (pipe(pipefd) != 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pipefd[0]);
        setsid();
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
        for (int fd = 3; fd < 1024; fd++) /* nothing of the caller's reaches the agent */
            if (fd != lsock && fd != pipefd[1]) close(fd);
        /* one more fork: the daemon is no child of the exec that started it */
        pid_t d = fork();
        if (d != 0) _exit(d < 0);
        daemon_main(id, agent, lsock, pipefd[1], cols, rows, cmd);
    }
    close(pipefd[1]);
    close(lsock);
    waitpid(pid, NULL, 0);
    char ok;
    if (read(pipefd[0], &ok, 1) != 1) {
        remove_session(id); /* nothing of it is left to list */
        die("the session %s did not start", id);
    }
    close(pipefd[0]);
    if (!do_attach) {
        printf("%s\n", id);
        return 0;
    }
    return attach(id, framed, cols, rows);
}

static int cmd_stop(const char *id) {
    struct session s;
    enum state st = read_session(id, &s);
    if (st == GONE) die("no session %s", id);
    if (st != RUNNING) return 0;
    char path[640];
    path_of(path, sizeof path, id, "info");
    char *info = read_file(path, 4096, NULL);
    pid_t pid = (pid_t)json_int(info, "pid");
    free(info);
    if (pid <= 0 || kill(pid, SIGUSR1) != 0) die("cannot stop %s: %s", id, strerror(errno));
    for (int i = 0; i < 100; i++) { /* at most 10 s: HUP, TERM after 2 s, KILL after 5 s */
        if (read_session(id, &s) != RUNNING) return 0;
        usleep(100000);
    }
    die("the session %s did not end", id);
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: berth-session new|attach|ls|stop ...");
    const char *verb = argv[1], *id = NULL, *agent = "agent";
    unsigned cols = 0, rows = 0;
    int do_attach = 0, framed = 0, i;
    snprintf(g_dir, sizeof g_dir, "/tmp/berth-sessions-%u", (unsigned)getuid());
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "--attach")) do_attach = 1;
        else if (!strcmp(a, "--framed")) framed = 1;
        else if (i + 1 < argc && !strcmp(a, "--dir")) snprintf(g_dir, sizeof g_dir, "%s", argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--id")) id = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--agent")) agent = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--cols")) cols = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "--rows")) rows = (unsigned)atoi(argv[++i]);
        else if (a[0] == '-') die("unknown option %s", a);
        else if (!id && strcmp(verb, "new")) id = a;
        else break;
    }
    if (!valid_id(agent)) die("not an agent name: %s", agent);
    if (id && !valid_id(id)) die("not a session id: %s", id);
    if (!strcmp(verb, "new")) {
        if (i >= argc) die("new: no command after --");
        return cmd_new(id, agent, cols, rows, do_attach, framed, argv + i);
    }
    if (!strcmp(verb, "ls")) return cmd_ls();
    if (!id) die("%s: which session?", verb);
    if (!strcmp(verb, "attach")) {
        ensure_dir(0);
        return attach(id, framed, cols, rows);
    }
    if (!strcmp(verb, "stop")) return cmd_stop(id);
    die("unknown command %s", verb);
    return 2;
}
