// What write_loop.c and read_all.c share: pinning to a CPU, and connecting a loopback socket
// from one of 200 source addresses (127.0.BLOCK.1-200), so the ports of one address suffice for
// 20,000 sockets.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); exit(1); }
}

// The index-th socket connected to address from 127.0.block.x; exits on failure.
static int connect_from(int block, int index, const struct sockaddr_in *address) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in source = {.sin_family = AF_INET, .sin_port = 0};
    char ip[32];
    snprintf(ip, sizeof ip, "127.0.%d.%d", block, 1 + index % 200);
    inet_pton(AF_INET, ip, &source.sin_addr);
    if (bind(fd, (struct sockaddr *)&source, sizeof source) != 0 || connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}
