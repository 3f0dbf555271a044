// The floor a push server is measured against: one core writing one pre-built frame to each of
// N loopback sockets, round after round, while a reader process on another core reads them all
// (as danmaku-bench does). Reports the writer's CPU time per write, kernel included.
//
//   cc -O2 -o write_loop write_loop.c
//   ./write_loop SOCKETS FRAME_BYTES WRITES_PER_SECOND SECONDS WRITER_CPU READER_CPU
//
// e.g. ./write_loop 10000 240 50000 10 0 1  (danmaku-bench's "quiet" load: 10,000 viewers, 5 frames/s each)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

static double now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

// The reader: connects every socket, then reads whatever arrives until killed.
static void reader(int port, int sockets, int cpu) {
    pin(cpu);
    int epoll = epoll_create1(0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    for (int i = 0; i < sockets; i++) {
        int fd = connect_from(100, i, &address);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    }
    static char buffer[262144];
    struct epoll_event events[1024];
    for (;;) {
        int ready = epoll_wait(epoll, events, 1024, -1);
        for (int i = 0; i < ready; i++) {
            while (read(events[i].data.fd, buffer, sizeof buffer) > 0) {}
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s SOCKETS FRAME_BYTES WRITES_PER_SECOND SECONDS WRITER_CPU READER_CPU\n", argv[0]);
        return 2;
    }
    int sockets = atoi(argv[1]), frameBytes = atoi(argv[2]), rate = atoi(argv[3]), seconds = atoi(argv[4]);
    int writerCPU = atoi(argv[5]), readerCPU = atoi(argv[6]);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    bind(listener, (struct sockaddr *)&address, sizeof address);
    listen(listener, 4096);
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    pid_t child = fork();
    if (child == 0) reader(ntohs(address.sin_port), sockets, readerCPU);
    pin(writerCPU);
    int *fds = malloc(sizeof(int) * sockets);
    for (int i = 0; i < sockets; i++) {
        fds[i] = accept(listener, NULL, NULL);
        if (fds[i] < 0) { perror("accept"); kill(child, SIGKILL); return 1; }
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    // A WebSocket text frame header and a payload of the given size, built once.
    char *frame = malloc(frameBytes);
    memset(frame, 'x', frameBytes);
    frame[0] = (char)0x81;
    double start = now(CLOCK_MONOTONIC), busy = 0;
    long writes = 0, failed = 0;
    // Paced: each round writes to every socket, and rounds start at the rate asked for. The time
    // spent writing a round (the core is this thread's alone) is its cost, kernel included.
    double roundsPerSecond = (double)rate / sockets;
    for (long round = 0; now(CLOCK_MONOTONIC) - start < seconds; round++) {
        double due = start + round / roundsPerSecond;
        double left = due - now(CLOCK_MONOTONIC);
        if (left > 0) {
            struct timespec pause = {.tv_sec = (time_t)left, .tv_nsec = (long)((left - (time_t)left) * 1e9)};
            nanosleep(&pause, NULL);
        }
        double begin = now(CLOCK_MONOTONIC);
        for (int i = 0; i < sockets; i++) {
            if (write(fds[i], frame, frameBytes) == frameBytes) writes++; else failed++;
        }
        busy += now(CLOCK_MONOTONIC) - begin;
    }
    double wall = now(CLOCK_MONOTONIC) - start;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("%d sockets, %d-byte frames: %ld writes in %.1f s (%.0f/s), %ld failed; %.2f us per write, %.0f%% of the core\n",
           sockets, frameBytes, writes, wall, writes / wall, failed, busy / (writes + failed) * 1e6, busy / wall * 100);
    return 0;
}
