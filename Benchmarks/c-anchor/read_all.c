// The reader of write_loop.c as WebSocket viewers of a Danmaku room: opens N viewer sockets
// (the upgrade request, then reads everything that arrives) on one core, so the server is
// measured against exactly the reader the C write loop is measured against.
//
//   cc -O2 -o read_all read_all.c
//   ./read_all PORT ROOM SOCKETS CPU SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORT ROOM SOCKETS CPU SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), sockets = atoi(argv[3]), cpu = atoi(argv[4]), seconds = atoi(argv[5]);
    pin(cpu);
    char request[512];
    int requestLength = snprintf(request, sizeof request,
        "GET /v1/rooms/%s/ws?v=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", argv[2]);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int epoll = epoll_create1(0);
    for (int i = 0; i < sockets; i++) {
        int fd = connect_from(101, i, &address);
        if (write(fd, request, requestLength) != requestLength) { perror("write"); return 1; }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
        // Paced like danmaku-bench's connection rate, so the server's per-address limits allow it.
        if (i % 1000 == 999) usleep(100000);
    }
    fprintf(stderr, "%d viewers connected\n", sockets);
    static char buffer[262144];
    struct epoll_event events[1024];
    long bytes = 0;
    time_t end = time(NULL) + seconds;
    while (time(NULL) < end) {
        int ready = epoll_wait(epoll, events, 1024, 1000);
        for (int i = 0; i < ready; i++) {
            ssize_t got;
            while ((got = read(events[i].data.fd, buffer, sizeof buffer)) > 0) bytes += got;
        }
    }
    printf("read %ld bytes\n", bytes);
    return 0;
}
