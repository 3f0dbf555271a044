#!/usr/bin/env python3
"""Seeded chaos harness for the distributed mode (issue 27).

Starts a topology (Redis single with AOF, Redis behind three Sentinels, or a 3+3 Redis Cluster;
2 ingest/logic nodes and 2 push nodes), each process in a network namespace of its own joined to a
bridge, runs publishers, viewers, likes and retractions from a client namespace, injects faults on
a schedule drawn from --seed, then checks what every viewer saw against every answer and history.

  Benchmarks/chaos/chaos.py --topology single --seconds 60 --seed 1 \
      --report /tmp/chaos.json --plot /tmp/chaos.png --binary .build/debug/danmaku

Prints the schedule, then one verdict line; exits 1 on any anomaly, 2 when the run itself failed.
Needs root, iproute2 and iptables for the namespaces; without them it runs on loopback and skips
the network faults (the report says "network": "loopback").
"""

import argparse
import asyncio
import ctypes
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

SUBNET = "10.231.0"
FAKETIME_LIB = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), "")
CLONE_NEWNET = 0x40000000


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(argv, check=True, timeout=20, quiet=False):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip() or result.stdout.strip()}")
    if not quiet and result.returncode != 0:
        log(f"warning: {' '.join(argv)}: {result.stderr.strip()}")
    return result


def crc16(data: bytes) -> int:
    """CRC16-XMODEM, the hash Redis Cluster maps keys to slots with."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot_of(room):
    return crc16(room.encode()) % 16384


# --------------------------------------------------------------------------------------------
# Network: one namespace per process, veth pairs to a bridge in a namespace of its own, so that
# nothing is added to the host's namespace and deleting the namespaces removes everything.


class Network:
    def __init__(self, tag, mode):
        self.tag = tag
        self.mode = mode  # "netns" or "loopback"
        self.members = {}  # name -> {"ns", "ip", "index"}
        self.namespaces = []
        self.switch = f"{tag}-sw"
        self.netem = False
        self.chains = 0

    def add(self, name):
        index = len(self.members)
        ip = f"{SUBNET}.{10 + index}" if self.mode == "netns" else "127.0.0.1"
        self.members[name] = {"ns": f"{self.tag}-{name}", "ip": ip, "index": index}
        return self.members[name]

    def ip(self, name):
        return self.members[name]["ip"]

    def prefix(self, name):
        if self.mode != "netns":
            return []
        return ["ip", "netns", "exec", self.members[name]["ns"]]

    def remove_stale(self):
        """Deletes the namespaces of earlier runs whose harness is gone (killed before its
        teardown) and that hold no process; ones that still hold processes are only named."""
        for line in run(["ip", "netns", "list"], check=False, quiet=True).stdout.splitlines():
            name = line.split()[0] if line.strip() else ""
            match = re.match(r"^dmkchaos(\d+)-", name)
            if not match or os.path.exists(f"/proc/{match.group(1)}"):
                continue
            if run(["ip", "netns", "pids", name], check=False, quiet=True).stdout.strip():
                log(f"namespace {name} of a gone run still holds processes; left alone")
            else:
                run(["ip", "netns", "del", name], check=False, quiet=True)

    def setup(self):
        if self.mode != "netns":
            return
        self.remove_stale()
        run(["ip", "netns", "add", self.switch])
        self.namespaces.append(self.switch)
        run(["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", self.switch, "link", "set", "br0", "up"])
        for name, member in self.members.items():
            ns = member["ns"]
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            veth = f"v{member['index']}"
            run(["ip", "-n", self.switch, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
            run(["ip", "-n", self.switch, "link", "set", veth, "master", "br0", "up"])
            run(["ip", "-n", ns, "addr", "add", f"{member['ip']}/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        probe = self.members[next(iter(self.members))]["ns"]
        self.netem = run(["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                          "delay", "1ms"], check=False, quiet=True).returncode == 0
        if self.netem:
            run(["ip", "netns", "exec", probe, "tc", "qdisc", "del", "dev", "eth0", "root"], check=False)

    def enter(self, name):
        """Moves this process's main thread into a member's namespace (the client's)."""
        if self.mode != "netns":
            return
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{self.members[name]['ns']}", os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)

    def teardown(self):
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False, quiet=True)
        self.namespaces = []

    def _iptables(self, name, *args, check=True):
        return run(self.prefix(name) + ["iptables", "-w", *args], check=check, quiet=not check)

    def drop_between(self, side_a, side_b):
        """Partition: every member of side_a drops all traffic to and from every member of side_b
        (one side is enough: a DROP there stops both directions). Returns an undo function."""
        self.chains += 1
        chain = f"CHAOS{self.chains}"
        for name in side_a:
            self._iptables(name, "-N", chain)
            for peer in side_b:
                self._iptables(name, "-A", chain, "-s", self.ip(peer), "-j", "DROP")
                self._iptables(name, "-A", chain, "-d", self.ip(peer), "-j", "DROP")
            self._iptables(name, "-I", "INPUT", "-j", chain)
            self._iptables(name, "-I", "OUTPUT", "-j", chain)

        def undo():
            for name in side_a:
                self._iptables(name, "-D", "INPUT", "-j", chain, check=False)
                self._iptables(name, "-D", "OUTPUT", "-j", chain, check=False)
                self._iptables(name, "-F", chain, check=False)
                self._iptables(name, "-X", chain, check=False)
        return undo

    def lose(self, name, probability):
        """Random loss of a share of a member's packets, both ways."""
        self.chains += 1
        chain = f"CHAOS{self.chains}"
        self._iptables(name, "-N", chain)
        self._iptables(name, "-A", chain, "-m", "statistic", "--mode", "random", "--probability",
                       f"{probability:.2f}", "-j", "DROP")
        self._iptables(name, "-I", "INPUT", "-j", chain)
        self._iptables(name, "-I", "OUTPUT", "-j", chain)

        def undo():
            self._iptables(name, "-D", "INPUT", "-j", chain, check=False)
            self._iptables(name, "-D", "OUTPUT", "-j", chain, check=False)
            self._iptables(name, "-F", chain, check=False)
            self._iptables(name, "-X", chain, check=False)
        return undo

    def delay(self, name, milliseconds):
        """Delays a member's outgoing packets: netem where the kernel has it, otherwise a token
        bucket so slow that packets wait in its queue for up to that long (then are delivered)."""
        if self.netem:
            spec = ["netem", "delay", f"{milliseconds}ms", f"{milliseconds // 4}ms"]
        else:
            spec = ["tbf", "rate", "96kbit", "burst", "4kb", "latency", f"{milliseconds}ms"]
        run(self.prefix(name) + ["tc", "qdisc", "add", "dev", "eth0", "root", *spec])

        def undo():
            run(self.prefix(name) + ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
        return undo


# --------------------------------------------------------------------------------------------
# Processes: each started by the harness, remembered by PID, and only those are signalled.


class Proc:
    def __init__(self, harness, name, member, argv, env=None):
        self.harness = harness
        self.name = name
        self.member = member
        self.argv = argv
        self.env = env
        self.popen = None
        self.paused = False
        self.down = False

    def start(self, env_extra=None):
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        if env_extra:
            env.update(env_extra)
        out = open(os.path.join(self.harness.logs, f"{self.name}.log"), "ab")
        out.write(f"--- start {time.time():.3f} {' '.join(self.argv)}\n".encode())
        out.flush()
        prefix = self.harness.net.prefix(self.member)
        if not prefix and env_extra and "LD_PRELOAD" in env_extra:
            # Started straight from Python with libfaketime preloaded, the Swift binary was seen
            # to run without its arguments (all roles, port 7000); through env(1) it has them.
            prefix = ["env"]
        self.popen = subprocess.Popen(prefix + self.argv, stdout=out,
                                      stderr=subprocess.STDOUT, env=env, start_new_session=True)
        out.close()
        self.paused = False
        self.down = False

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self.paused = False
        self.down = True

    def pause(self):
        if self.alive():
            os.kill(self.popen.pid, signal.SIGSTOP)
            self.paused = True

    def resume(self):
        if self.alive() and self.paused:
            os.kill(self.popen.pid, signal.SIGCONT)
        self.paused = False

    def stop(self):
        if not self.alive():
            return
        try:
            os.kill(self.popen.pid, signal.SIGCONT)
            os.kill(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=8)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------------------------
# A small HTTP/1.1 client on asyncio (one request per connection, bounded in time).


class HTTPFailure(Exception):
    pass


async def http(host, port, method, path, body=None, headers=None, timeout=3.0):
    async def exchange():
        reader, writer = await asyncio.open_connection(host, port)
        try:
            payload = b"" if body is None else json.dumps(body).encode()
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                     f"Content-Length: {len(payload)}"]
            if body is not None:
                lines.append("Content-Type: application/json")
            for key, value in (headers or {}).items():
                lines.append(f"{key}: {value}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
            await writer.drain()
            data = await reader.read(-1)
        finally:
            writer.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        if not head:
            raise HTTPFailure("empty answer")
        status = int(head.split(b" ", 2)[1])
        fields = {}
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.decode("latin-1").partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            decoded = b""
            while rest:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    break
                decoded += rest[:size]
                rest = rest[size + 2:]
            rest = decoded
        try:
            answer = json.loads(rest) if rest else None
        except ValueError:
            answer = None
        return status, answer, fields

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError, IndexError) as error:
        raise HTTPFailure(type(error).__name__) from error


# --------------------------------------------------------------------------------------------
# Topologies.

NODE_FLAGS = ["--allow-anonymous-posts", "--threads", "1", "--user-rate", "100000/100000",
              "--ip-rate", "100000/100000", "--read-rate", "100000/100000", "--room-rate", "100000/100000",
              "--history", "100000"]


class Harness:
    def __init__(self, args):
        self.args = args
        self.topology = args.topology
        self.seed = args.seed
        self.work = tempfile.mkdtemp(prefix="danmaku-chaos-")
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs)
        self.mode = self._network_mode()
        self.net = Network(f"dmkchaos{os.getpid()}", self.mode)
        self.procs = {}
        self.redis = []  # names of redis data nodes
        self.sentinels = []
        self.api = ["api1", "api2"]
        self.push = ["push1", "push2"]
        self.ports = {}
        self.t0 = None
        self.fault_log = []  # {"kind","target","start","end"} seconds since t0
        self.undo = []
        self.faketime = bool(FAKETIME_LIB)
        self.clock_files = {}
        self.inflight = {name: 0 for name in self.api}
        self.notes = []

    def _network_mode(self):
        if self.args.loopback:
            return "loopback"
        if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables"):
            log("no root, ip or iptables: running on loopback, without network faults")
            return "loopback"
        probe = f"dmkprobe{os.getpid()}"
        if run(["ip", "netns", "add", probe], check=False, quiet=True).returncode != 0:
            log("cannot make network namespaces: running on loopback, without network faults")
            return "loopback"
        run(["ip", "netns", "del", probe], check=False)
        return "netns"

    def now(self):
        return time.monotonic() - self.t0

    # -- addresses
    def port(self, name, default):
        if name not in self.ports:
            self.ports[name] = default if self.mode == "netns" else 21000 + (os.getpid() % 200) * 40 + len(self.ports)
        return self.ports[name]

    def addr(self, name):
        return self.net.ip(name), self.ports[name]

    # -- topology
    def plan_members(self):
        if self.topology == "single":
            self.redis = ["redis"]
        else:
            self.redis = [f"redis{i}" for i in range(6 if self.topology == "cluster" else 3)]
        if self.topology == "sentinel":
            self.sentinels = ["sentinel1", "sentinel2", "sentinel3"]
        for name in self.redis:
            self.net.add(name)
            self.port(name, 6379)
        for name in self.sentinels:
            self.net.add(name)
            self.port(name, 26379)
        for name in self.api + self.push:
            self.net.add(name)
            self.port(name, 7000)
        self.net.add("client")

    def redis_argv(self, name):
        host = "0.0.0.0" if self.mode == "netns" else "127.0.0.1"
        data = os.path.join(self.work, name)
        os.makedirs(data, exist_ok=True)
        argv = ["redis-server", "--port", str(self.ports[name]), "--bind", host, "--protected-mode", "no",
                "--dir", data, "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        if self.topology == "cluster":
            argv += ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
                     "--cluster-replica-validity-factor", "0", "--cluster-config-file", "nodes.conf"]
        return argv

    def start_redis(self):
        for index, name in enumerate(self.redis):
            argv = self.redis_argv(name)
            if self.topology == "sentinel" and index > 0:
                argv += ["--replicaof", self.net.ip(self.redis[0]), str(self.ports[self.redis[0]])]
            self.procs[name] = Proc(self, name, name, argv)
            self.procs[name].start()
        for name in self.redis:
            self.wait_redis(name)
        if self.topology == "cluster":
            nodes = [f"{self.net.ip(n)}:{self.ports[n]}" for n in self.redis]
            run(["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"], timeout=60)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                info = self.cli(self.redis[0], "CLUSTER", "INFO")
                if "cluster_state:ok" in info:
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
        if self.topology == "sentinel":
            master_ip, master_port = self.addr(self.redis[0])
            for name in self.sentinels:
                conf = os.path.join(self.work, f"{name}.conf")
                with open(conf, "w") as handle:
                    handle.write(f"port {self.ports[name]}\n"
                                 f"bind {'0.0.0.0' if self.mode == 'netns' else '127.0.0.1'}\n"
                                 "protected-mode no\n"
                                 f"dir {self.work}\n"
                                 f"sentinel monitor dmk {master_ip} {master_port} 2\n"
                                 "sentinel down-after-milliseconds dmk 2000\n"
                                 "sentinel failover-timeout dmk 6000\n"
                                 "sentinel parallel-syncs dmk 1\n")
                self.procs[name] = Proc(self, name, name, ["redis-server", conf, "--sentinel"])
                self.procs[name].start()
            for name in self.sentinels:
                self.wait_redis(name)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if all("num-other-sentinels" in self.cli(s, "SENTINEL", "MASTER", "dmk") for s in self.sentinels):
                    replicas = self.cli(self.redis[0], "INFO", "replication")
                    if "connected_slaves:2" in replicas:
                        break
                time.sleep(0.2)

    def cli(self, name, *command, timeout=5):
        ip, port = self.addr(name)
        result = run(["redis-cli", "-h", ip, "-p", str(port), *command], check=False, quiet=True, timeout=timeout)
        return result.stdout

    def wait_redis(self, name, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if "PONG" in self.cli(name, "PING", timeout=2):
                return True
            time.sleep(0.1)
        raise RuntimeError(f"{name} does not answer PING")

    def bus_url(self):
        if self.topology == "single":
            ip, port = self.addr("redis")
            return f"redis://{ip}:{port}"
        if self.topology == "sentinel":
            return "redis-sentinel://" + ",".join("%s:%d" % self.addr(s) for s in self.sentinels) + "/dmk"
        for name in self.redis:
            proc = self.procs[name]
            if proc.alive() and not proc.paused:
                ip, port = self.addr(name)
                return f"redis://{ip}:{port}"
        ip, port = self.addr(self.redis[0])
        return f"redis://{ip}:{port}"

    def node_argv(self, name):
        roles = "ingest,logic" if name in self.api else "push"
        host = "0.0.0.0" if self.mode == "netns" else "127.0.0.1"
        argv = [os.path.abspath(self.args.binary), "serve", "--roles", roles, "--bus", self.bus_url(),
                "--host", host, "--port", str(self.ports[name]), "--node-name", name, *NODE_FLAGS, "--log-level", self.args.node_log_level]
        if self.topology != "single":
            argv += ["--bus-min-replicas", str(self.args.min_replicas or (2 if self.topology == "sentinel" else 1))]
        return argv

    def start_node(self, name):
        env = {}
        if name in self.push and self.faketime:
            # The push nodes run under libfaketime with an offset read from a file, so that a
            # clock jump is a write to that file while the node runs. Monotonic clocks are left
            # alone: a jump moves the wall clock, as NTP stepping a host's clock does.
            if name not in self.clock_files:
                self.clock_files[name] = os.path.join(self.work, f"{name}.faketime")
                with open(self.clock_files[name], "w") as handle:
                    handle.write("+0\n")
            env = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME_TIMESTAMP_FILE": self.clock_files[name],
                   "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                   "DONT_FAKE_MONOTONIC": "1"}
        proc = self.procs.get(name) or Proc(self, name, name, [])
        proc.argv = self.node_argv(name)
        self.procs[name] = proc
        proc.start(env)

    async def wait_ready(self, names, seconds=60):
        deadline = time.monotonic() + seconds
        pending = list(names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                ip, port = self.addr(name)
                try:
                    status, _, _ = await http(ip, port, "GET", "/readyz", timeout=1.0)
                    if status == 200:
                        pending.remove(name)
                except HTTPFailure:
                    pass
            if pending:
                await asyncio.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready after {seconds} s: {', '.join(pending)}")

    def stop_all(self):
        order = self.push + self.api + self.sentinels + self.redis
        for name in order:
            proc = self.procs.get(name)
            if proc:
                try:
                    proc.stop()
                except Exception as error:  # keep stopping the others
                    log(f"stopping {name}: {error}")

    # -- rooms: in a cluster one per master, so that a master's failure touches some rooms only
    def choose_rooms(self):
        count = 3 if self.topology == "cluster" else 2
        rooms, shards = [], set()
        index = 0
        while len(rooms) < count:
            room = f"chaos{self.seed}-{index}"
            shard = min(slot_of(room) * 3 // 16384, 2)
            if self.topology != "cluster" or shard not in shards:
                rooms.append(room)
                shards.add(shard)
            index += 1
        return rooms

    # -- cluster helpers
    def cluster_nodes(self):
        for name in self.redis:
            proc = self.procs[name]
            if not proc.alive() or proc.paused:
                continue
            text = self.cli(name, "CLUSTER", "NODES", timeout=2)
            if text.strip():
                return text
        return ""

    def member_at(self, address):
        for name in self.redis:
            ip, port = self.addr(name)
            if address.startswith(f"{ip}:{port}"):
                return name
        return None

    def master_of(self, room):
        """The redis member serving the room's slot, and one of its replicas."""
        if self.topology == "single":
            return "redis", None
        if self.topology == "sentinel":
            for s in self.sentinels:
                text = self.cli(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "dmk", timeout=2).split()
                if len(text) == 2:
                    master = self.member_at(f"{text[0]}:{text[1]}")
                    replicas = [n for n in self.redis if n != master and not self.procs[n].down]
                    return master, (replicas[0] if replicas else None)
            return self.redis[0], None
        slot = slot_of(room)
        master_id, master, replica = None, None, None
        lines = [line.split() for line in self.cluster_nodes().splitlines() if line.strip()]
        for fields in lines:
            if "master" in fields[2] and "fail" not in fields[2]:
                for part in fields[8:]:
                    low, _, high = part.partition("-")
                    if part[0].isdigit() and int(low) <= slot <= int(high or low):
                        master_id, master = fields[0], self.member_at(fields[1])
        for fields in lines:
            if "slave" in fields[2] and fields[3] == master_id and "fail" not in fields[2]:
                replica = self.member_at(fields[1])
        return master, replica


# --------------------------------------------------------------------------------------------
# The fault schedule: drawn from the seed alone, before anything runs, and printed.


def make_schedule(topology, seconds, seed, netns, promised_only=False):
    """The faults, drawn from the seed alone. With promised_only, the faults docs/GUARANTEES.md
    lists as not covered are left out of the draw: a Sentinel failover away from a master that is
    still alive (SENTINEL FAILOVER, or the master cut off from a Sentinel majority)."""
    rng = random.Random(seed)
    kinds = {"kill": 2, "pause": 2, "pause_mid_post": 1}
    if netns:
        kinds.update({"partition": 4, "delay": 2, "loss": 1})
    kinds["clock_jump"] = 1
    if topology == "single":
        kinds["redis_restart"] = 1
        kinds["redis_pause"] = 1
    else:
        kinds["failover"] = 2
    names, weights = zip(*sorted(kinds.items()))
    busy = {}
    schedule = []
    t = 4.0
    end = seconds - 4.0
    last_failover = -100.0
    while t < end:
        kind = rng.choices(names, weights)[0]
        duration = round(rng.uniform(1.5, 5.0), 2)
        fault = {"at": round(t, 2), "kind": kind, "seconds": duration}
        if kind in ("kill", "pause"):
            fault["target"] = rng.choice(["api1", "api2", "push1", "push2"])
            if kind == "pause":
                fault["seconds"] = round(rng.uniform(1.0, 3.0), 2)
        elif kind == "pause_mid_post":
            fault["target"] = rng.choice(["api1", "api2"])
            fault["seconds"] = round(rng.uniform(1.0, 3.0), 2)
        elif kind == "clock_jump":
            fault["target"] = rng.choice(["push1", "push2"])
            fault["offset"] = rng.choice([-1, 1]) * rng.randint(30, 3600)
        elif kind == "partition":
            sides = [("push", "redis"), ("push", "redis"), ("api", "redis"), ("client", "push"), ("client", "api")]
            if topology == "cluster":
                sides += [("api", "shard"), ("push", "shard")]
            if topology == "sentinel" and not promised_only:
                sides += [("master", "sentinels")]
            a, b = rng.choice(sides)
            fault["sides"] = [a, b]
            fault["pick"] = rng.randint(0, 5)
            fault["seconds"] = round(rng.uniform(1.5, 6.0), 2)
        elif kind == "delay":
            fault["target"] = rng.choice(["api1", "api2", "push1", "push2", "redis"])
            fault["ms"] = rng.choice([500, 1000, 2000, 3000])
        elif kind == "loss":
            fault["target"] = rng.choice(["api1", "api2", "push1", "push2", "redis"])
            fault["probability"] = round(rng.uniform(0.05, 0.3), 2)
        elif kind == "redis_restart":
            fault["seconds"] = round(rng.uniform(0.5, 2.0), 2)
        elif kind == "redis_pause":
            fault["seconds"] = round(rng.uniform(1.0, 2.5), 2)
        elif kind == "failover":
            ways = ["kill_master", "kill_master", "graceful"]
            if promised_only and topology == "sentinel":
                ways = ["kill_master"]
            fault["how"] = rng.choice(ways)
            fault["pick"] = rng.randint(0, 2)
            fault["seconds"] = round(rng.uniform(3.0, 6.0), 2)
        target = fault.get("target", kind)
        if kind in ("failover", "redis_restart", "redis_pause") or fault.get("sides") == ["master", "sentinels"]:
            target = "redis"
            if t - last_failover < 12.0:
                t += rng.uniform(1.0, 3.0)
                continue
            last_failover = t
        if busy.get(target, -1.0) > t:
            t += rng.uniform(0.5, 1.5)
            continue
        busy[target] = t + fault["seconds"] + 1.0
        schedule.append(fault)
        t += rng.uniform(2.0, 5.0)
    return schedule


# --------------------------------------------------------------------------------------------
# Workload: publishers, likes, retractions and viewers, every event timestamped.


class Workload:
    def __init__(self, harness, rooms):
        self.h = harness
        self.rooms = rooms
        self.rng = random.Random(harness.seed * 7919 + 1)
        self.posts = []  # one record per post the client meant to make
        self.accepted = []  # posts answered 201
        self.likes = {}
        self.retractions = []
        self.viewers = []
        self.posting = True
        self.watching = True
        self.counter = 0

    async def post_one(self, index):
        room = self.rooms[index % len(self.rooms)]
        key = str(uuid.uuid4())
        body = {"text": f"chaos {self.h.seed} #{index}"}
        record = {"index": index, "room": room, "key": key, "sent": self.h.now(), "attempts": [],
                  "outcome": None}
        self.posts.append(record)
        deadline = record["sent"] + 30.0
        while self.h.now() < deadline:
            node = self.rng.choice(self.h.api)
            ip, port = self.h.addr(node)
            started = self.h.now()
            self.h.inflight[node] += 1
            try:
                status, answer, fields = await http(ip, port, "POST", f"/v1/rooms/{room}/comments", body,
                                                    {"Idempotency-Key": key}, timeout=3.0)
            except HTTPFailure as failure:
                record["attempts"].append({"node": node, "at": started, "status": str(failure)})
                await asyncio.sleep(0.3 + self.rng.random() * 0.4)
                continue
            finally:
                self.h.inflight[node] -= 1
            code = (answer or {}).get("error", {}).get("code") if isinstance(answer, dict) else None
            record["attempts"].append({"node": node, "at": started, "status": status, "code": code})
            if status == 201:
                record.update(outcome="accepted", id=answer["id"], seq=answer["seq"], answered=self.h.now())
                self.accepted.append(record)
                return
            if status == 409 and code == "idempotency_outcome_unknown":
                record["outcome"] = "unknown"
                return
            if status in (503, 429) or (status == 409 and code == "idempotency_in_progress"):
                retry = fields.get("retry-after", "1")
                await asyncio.sleep(min(float(retry) if retry.isdigit() else 1.0, 1.0) * (0.5 + self.rng.random()))
                continue
            record["outcome"] = f"refused {status} {code}"
            return
        record["outcome"] = "gave_up"

    async def publishers(self, until, rate):
        tasks = []
        interval = 1.0 / rate
        next_at = self.h.now()
        while self.h.now() < until:
            self.counter += 1
            tasks.append(asyncio.ensure_future(self.post_one(self.counter)))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - self.h.now()))
        await asyncio.gather(*tasks)

    async def likes_and_retractions(self, until):
        while self.h.now() < until:
            await asyncio.sleep(0.5 + self.rng.random())
            recent = [p for p in self.accepted if self.h.now() - p["answered"] < 60 and not p.get("retracting")]
            if not recent:
                continue
            target = self.rng.choice(recent)
            node = self.rng.choice(self.h.api)
            ip, port = self.h.addr(node)
            if self.rng.random() < 0.3:
                target["retracting"] = True
                entry = {"id": target["id"], "seq": target["seq"], "room": target["room"], "sent": self.h.now(),
                         "status": None}
                self.retractions.append(entry)
                for _ in range(10):
                    try:
                        status, _, _ = await http(ip, port, "DELETE", f"/v1/rooms/{target['room']}/comments/{target['id']}",
                                                  timeout=3.0)
                    except HTTPFailure as failure:
                        status = str(failure)
                    entry["status"] = status
                    if status in (200, 404, 403):
                        entry["answered"] = self.h.now()
                        break
                    await asyncio.sleep(0.5)
            else:
                try:
                    status, _, _ = await http(ip, port, "POST", f"/v1/rooms/{target['room']}/comments/{target['id']}/likes",
                                              {"seq": target["seq"]}, timeout=3.0)
                except HTTPFailure as failure:
                    status = str(failure)
                self.likes[str(status)] = self.likes.get(str(status), 0) + 1

    async def viewer(self, state):
        import websockets
        while self.watching:
            node = self.rng.choice(self.h.push)
            ip, port = self.h.addr(node)
            query = "v=1"
            if state["last"] is not None:
                query += f"&since={state['last']}"
                if state["epoch"]:
                    query += f"&epoch={state['epoch']}"
            url = f"ws://{ip}:{port}/v1/rooms/{state['room']}/ws?{query}"
            state["connects"].append({"at": self.h.now(), "node": node, "since": state["last"]})
            state["connection"] += 1
            try:
                async with websockets.connect(url, open_timeout=4, ping_interval=2, ping_timeout=4,
                                              close_timeout=1, max_size=None, compression=None) as socket:
                    async for raw in socket:
                        self.on_message(state, json.loads(raw), node)
                        if not self.watching:
                            break
            except Exception as error:  # any failure is a dropped connection: reconnect
                state["drops"].append({"at": self.h.now(), "node": node, "why": type(error).__name__})
            if self.watching:
                await asyncio.sleep(0.2 + self.rng.random() * 0.5)

    def on_message(self, state, message, node):
        now = self.h.now()
        kind = message.get("type")
        if kind == "hello":
            epoch = message.get("epoch") or 0
            if state["last"] is None:
                state["start"] = message.get("lastSeq", 0)
                state["last"] = state["start"]
                state["epoch"] = epoch
            elif epoch and state["epoch"] and epoch != state["epoch"]:
                state["restarts"].append({"at": now, "from": state["epoch"], "to": epoch})
                state["epoch"] = epoch
                state["screen"] = {}
                state["last"] = 0
            elif epoch and not state["epoch"]:
                state["epoch"] = epoch
        elif kind == "comments":
            for comment in message.get("comments", []):
                seq, cid = comment["seq"], comment["id"]
                if cid in state["seen"]:
                    state["duplicates"].append({"at": now, "seq": seq, "id": cid, "node": node})
                    continue
                state["seen"].add(cid)
                if seq <= state["last"] and not (seq == state["last"] and state["withdrawn_at"].get(seq)):
                    state["reorders"].append({"at": now, "seq": seq, "id": cid, "after": state["last"], "node": node})
                if cid in state["retracted"]:
                    state["after_retract"].append({"at": now, "seq": seq, "id": cid, "node": node})
                    state["after_retract_ids"].add(cid)
                state["last"] = max(state["last"], seq)
                state["screen"][cid] = seq
                state["deliveries"].append((now, seq, cid))
                state["delivered_on"][cid] = state["connection"]
        elif kind == "gap":
            state["gaps"].append((message["from"], message["to"], now))
        elif kind == "retract":
            for cid in [message.get("id")] + list(message.get("ids") or []):
                if cid:
                    # The first retract is the one that counts: a resume tells the retractions of
                    # the room's recent past again, and must not make an earlier one look missing.
                    if cid not in state["retracted"]:
                        state["retracted"][cid] = now
                        state["retracted_on"][cid] = state["connection"]
                    state["screen"].pop(cid, None)
            if message.get("seq") is not None:
                state["withdrawn_at"][message["seq"]] = now

    def new_viewer(self, index):
        state = {"name": f"viewer{index}", "room": self.rooms[index % len(self.rooms)], "last": None, "epoch": 0,
                 "start": None, "seen": set(), "screen": {}, "deliveries": [], "duplicates": [], "reorders": [],
                 "after_retract": [], "after_retract_ids": set(), "gaps": [], "retracted": {}, "withdrawn_at": {}, "restarts": [],
                 "connects": [], "drops": [], "connection": 0, "delivered_on": {}, "retracted_on": {}}
        self.viewers.append(state)
        return state


# --------------------------------------------------------------------------------------------
# Fault injection.


class Injector:
    def __init__(self, harness, workload, rooms):
        self.h = harness
        self.w = workload
        self.rooms = rooms
        self.active = []

    def group(self, side, fault):
        h = self.h
        pick = fault.get("pick", 0)
        if side == "client":
            return ["client"]
        if side == "push":
            return [h.push[pick % 2]]
        if side == "api":
            return [h.api[pick % 2]]
        if side == "redis":
            if h.topology == "single":
                return ["redis"]
            master, _ = h.master_of(self.rooms[pick % len(self.rooms)])
            return [master] if master else []
        if side == "shard":
            master, _ = h.master_of(self.rooms[(pick + 1) % len(self.rooms)])
            return [master] if master else []
        if side == "master":
            master, _ = h.master_of(self.rooms[0])
            return [master] if master else []
        if side == "sentinels":
            return list(h.sentinels)
        return []

    async def inject(self, fault):
        h = self.h
        kind = fault["kind"]
        start = h.now()
        entry = {"kind": kind, "start": round(start, 2), "end": None, "detail": ""}
        h.fault_log.append(entry)
        undo = None
        try:
            if kind == "kill":
                name = fault["target"]
                h.procs[name].kill9()
                entry["detail"] = f"kill -9 {name}"

                def undo(name=name):
                    h.start_node(name)
            elif kind in ("pause", "pause_mid_post"):
                name = fault["target"]
                if kind == "pause_mid_post":
                    deadline = h.now() + 2.0
                    while h.inflight[name] == 0 and h.now() < deadline:
                        await asyncio.sleep(0.001)
                    entry["detail"] = f"SIGSTOP {name} with {h.inflight[name]} posts in flight"
                else:
                    entry["detail"] = f"SIGSTOP {name}"
                h.procs[name].pause()
                undo = h.procs[name].resume
            elif kind == "redis_pause":
                h.procs["redis"].pause()
                entry["detail"] = "SIGSTOP redis"
                undo = h.procs["redis"].resume
            elif kind == "redis_restart":
                h.procs["redis"].kill9()
                entry["detail"] = "kill -9 redis (AOF, appendfsync always), restart"

                def undo():
                    h.procs["redis"].start()
            elif kind == "clock_jump":
                name = fault["target"]
                if not h.faketime:
                    entry["detail"] = "skipped: libfaketime not installed"
                else:
                    with open(h.clock_files[name], "w") as handle:
                        handle.write(f"{fault['offset']:+d}s\n")
                    entry["detail"] = f"{name} wall clock {fault['offset']:+d} s"

                    def undo(name=name):
                        with open(h.clock_files[name], "w") as handle:
                            handle.write("+0\n")
            elif kind == "partition":
                a = self.group(fault["sides"][0], fault)
                b = self.group(fault["sides"][1], fault)
                if fault["sides"] == ["master", "sentinels"]:
                    # The master (and whoever is with it: the API and push nodes) on one side, a
                    # Sentinel majority and the replicas on the other.
                    b = list(h.sentinels) + [r for r in h.redis if r not in a]
                a = [n for n in a if n]
                b = [n for n in b if n and n not in a]
                if a and b:
                    undo = h.net.drop_between(a, b)
                entry["detail"] = f"partition {a} | {b}"
            elif kind == "delay":
                target = self.resolve(fault["target"])
                undo = h.net.delay(target, fault["ms"])
                entry["detail"] = f"{target} delayed {fault['ms']} ms ({'netem' if h.net.netem else 'tbf queue'})"
            elif kind == "loss":
                target = self.resolve(fault["target"])
                undo = h.net.lose(target, fault["probability"])
                entry["detail"] = f"{target} loses {fault['probability']:.0%} of packets"
            elif kind == "failover":
                room = self.rooms[fault["pick"] % len(self.rooms)]
                master, replica = h.master_of(room)
                if fault["how"] == "graceful" and replica:
                    if h.topology == "cluster":
                        h.cli(replica, "CLUSTER", "FAILOVER")
                        entry["detail"] = f"CLUSTER FAILOVER on {replica} (replica of {master})"
                    else:
                        h.cli(h.sentinels[0], "SENTINEL", "FAILOVER", "dmk")
                        entry["detail"] = f"SENTINEL FAILOVER away from {master}"
                elif master:
                    h.procs[master].kill9()
                    entry["detail"] = f"kill -9 master {master}"

                    def undo(master=master):
                        h.procs[master].start()
        except Exception as error:
            entry["detail"] += f" (failed: {error})"
            log(f"fault {kind} failed: {error}")
        log(f"fault t={start:6.2f}s {entry['detail']} for {fault['seconds']} s")
        await asyncio.sleep(fault["seconds"])
        if undo:
            try:
                undo()
            except Exception as error:
                log(f"undoing {kind} failed: {error}")
        entry["end"] = round(h.now(), 2)

    def resolve(self, target):
        if target == "redis":
            master, _ = self.h.master_of(self.rooms[0])
            return master or self.h.redis[0]
        return target


# --------------------------------------------------------------------------------------------
# The checker.


def fault_windows(fault_log, at):
    return [f"{f['kind']}@{f['start']}-{f['end']}" for f in fault_log
            if f["start"] - 1.0 <= at <= (f["end"] if f["end"] is not None else f["start"]) + 5.0]


async def read_history(harness, room):
    comments = {}
    since = 0
    last_seq, epoch = 0, 0
    for _ in range(1000):
        answer = None
        for node in harness.api:
            ip, port = harness.addr(node)
            try:
                status, answer, _ = await http(ip, port, "GET", f"/v1/rooms/{room}/comments?since={since}&limit=1000",
                                               timeout=5.0)
                if status == 200:
                    break
            except HTTPFailure:
                pass
            answer = None
        if answer is None:
            raise RuntimeError(f"history of {room} could not be read")
        last_seq, epoch = answer.get("lastSeq", 0), answer.get("epoch", 0)
        batch = answer.get("comments", [])
        for comment in batch:
            comments[comment["id"]] = comment["seq"]
        if not batch:
            break
        since = batch[-1]["seq"]
    return comments, last_seq, epoch


def check(harness, workload, histories):
    anomalies = []
    counts = {"lost": 0, "duplicated": 0, "reordered": 0, "undeclared_gaps": 0, "shown_after_retract": 0,
              "history_missing": 0, "withdrawn_on_screen": 0, "retract_lost": 0}

    def anomaly(kind, at, **fields):
        counts[kind] += 1
        if len(anomalies) < 500:
            anomalies.append({"kind": kind, "at": round(at, 3), "faults": fault_windows(harness.fault_log, at), **fields})

    retractions = {r["id"]: r for r in workload.retractions}
    retract_ok = {r["id"] for r in workload.retractions if r["status"] == 200}
    retract_tried = {r["id"] for r in workload.retractions}
    accepted_by_id = {p["id"]: p for p in workload.accepted}
    for post in workload.accepted:
        history = histories[post["room"]][0]
        if post["id"] in history:
            if history[post["id"]] != post["seq"]:
                anomaly("history_missing", post["answered"], seq=post["seq"], id=post["id"], room=post["room"],
                        detail=f"history holds it at seq {history[post['id']]}")
        elif post["id"] not in retract_tried:
            anomaly("history_missing", post["answered"], seq=post["seq"], id=post["id"], room=post["room"])
    for retraction in workload.retractions:
        history = histories[retraction["room"]][0]
        if retraction["status"] == 200 and retraction["id"] in history:
            anomaly("shown_after_retract", retraction["sent"], seq=retraction["seq"], id=retraction["id"],
                    room=retraction["room"], detail="answered 200, still in history")

    for viewer in workload.viewers:
        name, room = viewer["name"], viewer["room"]
        history, _, _ = histories[room]
        if viewer["start"] is None:
            anomaly("lost", harness.now(), viewer=name, room=room, detail="never connected")
            continue
        for item in viewer["duplicates"]:
            anomaly("duplicated", item["at"], viewer=name, seq=item["seq"], id=item["id"], node=item["node"])
        for item in viewer["reorders"]:
            anomaly("reordered", item["at"], viewer=name, seq=item["seq"], id=item["id"], node=item["node"],
                    detail=f"after seq {item['after']}")
        for item in viewer["after_retract"]:
            anomaly("shown_after_retract", item["at"], viewer=name, seq=item["seq"], id=item["id"], node=item["node"],
                    detail="delivered after this viewer got its retract")
        shown_late = set()
        for at, seq, cid in viewer["deliveries"]:
            retraction = retractions.get(cid)
            # Its `retract` came after it on the same connection: the push node sent the comment
            # before it took the retraction in (a link held up by a fault delivers both late, in
            # that order), and the `retract` took it off the screen. A comment sent after the
            # retraction would arrive after the `retract` (counted above) or with none following.
            followed = (viewer["retracted_on"].get(cid) == viewer["delivered_on"].get(cid)
                        and viewer["retracted"].get(cid, -1.0) >= at)
            if (retraction and retraction["status"] == 200 and cid not in viewer["after_retract_ids"]
                    and at > retraction["answered"] + 1.0 and not followed):
                shown_late.add(cid)
                anomaly("shown_after_retract", at, viewer=name, seq=seq, id=cid,
                        detail=f"delivered {at - retraction['answered']:.2f} s after its retraction was answered 200")

        def declared(seq):
            return any(low <= seq <= high for low, high, _ in viewer["gaps"])

        restarted = bool(viewer["restarts"])
        for cid, seq in history.items():
            if seq <= viewer["start"] or cid in viewer["seen"] or declared(seq) or restarted:
                continue
            post = accepted_by_id.get(cid)
            at = post["answered"] if post else harness.now()
            anomaly("lost" if post else "undeclared_gaps", at, viewer=name, seq=seq, id=cid, room=room,
                    detail=None if post else "in history, not answered 201 (outcome unknown to the client)")
        for cid, seq in viewer["screen"].items():
            if cid in history or cid in viewer["after_retract_ids"]:
                continue  # (one anomaly per comment: shown after its retract is already counted)
            # Shown late and still on the screen at the end is a second breach: its retract never came.
            at = next((t for t, s, c in viewer["deliveries"] if c == cid), harness.now())
            # A viewer away when the retract went out is sent it again by its resume.
            reconnected = bool(viewer["drops"] or viewer["connects"][1:])
            if cid in retract_ok or cid in retract_tried:
                anomaly("retract_lost", at, viewer=name, seq=seq, id=cid,
                        detail=f"retracted, still on screen (the viewer {'reconnected meanwhile' if reconnected else 'stayed connected'})")
            else:
                anomaly("withdrawn_on_screen", at, viewer=name, seq=seq, id=cid,
                        detail="on screen, not in history, never retracted to this viewer")
    return counts, anomalies


# --------------------------------------------------------------------------------------------
# Plot.


def plot(harness, workload, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot")
        return False
    colors = {"partition": "tab:red", "delay": "tab:orange", "loss": "tab:pink", "kill": "tab:purple",
              "pause": "tab:brown", "pause_mid_post": "tab:olive", "clock_jump": "tab:cyan",
              "failover": "tab:blue", "redis_restart": "tab:blue", "redis_pause": "tab:gray"}
    figure, (lanes_axis, axis) = plt.subplots(2, 1, figsize=(14, 7), sharex=True,
                                              gridspec_kw={"height_ratios": [1, 3]})
    kinds = sorted({fault["kind"] for fault in harness.fault_log})
    for fault in harness.fault_log:
        end = fault["end"] if fault["end"] is not None else fault["start"] + 0.5
        color = colors.get(fault["kind"], "gray")
        lanes_axis.broken_barh([(fault["start"], end - fault["start"])], (kinds.index(fault["kind"]) - 0.4, 0.8),
                               color=color, alpha=0.8)
        axis.axvspan(fault["start"], end, color=color, alpha=0.12, linewidth=0)
    lanes_axis.set_yticks(range(len(kinds)))
    lanes_axis.set_yticklabels(kinds, fontsize=8)
    lanes_axis.set_title(f"danmaku chaos: {harness.topology}, seed {harness.seed}, {harness.mode}: faults")
    posts = sorted((p["answered"], p["answered"] - p["sent"]) for p in workload.accepted)
    if posts:
        axis.plot([p[0] for p in posts], [p[1] for p in posts], ".", markersize=3, color="black",
                  label="post latency (first send to 201), s")
    sent = {p["id"]: p["sent"] for p in workload.accepted}
    lag = {}
    for viewer in workload.viewers:
        for at, _, cid in viewer["deliveries"]:
            if cid in sent:
                lag[cid] = max(lag.get(cid, 0.0), at - sent[cid])
    points = sorted((sent[c], v) for c, v in lag.items())
    if points:
        axis.plot([p[0] for p in points], [p[1] for p in points], "-", linewidth=0.8, color="tab:green",
                  label="delivery lag, slowest viewer (first send to shown), s")
    axis.set_yscale("symlog", linthresh=0.1)
    axis.set_xlabel("seconds since the workload started")
    axis.set_ylabel("seconds")
    axis.legend(loc="upper left", fontsize=8, ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return True


# --------------------------------------------------------------------------------------------


async def main_async(harness):
    args = harness.args
    rooms = harness.choose_rooms()
    for name in harness.api + harness.push:
        harness.start_node(name)
    harness.t0 = time.monotonic()
    await harness.wait_ready(harness.api + harness.push, seconds=90)
    # One comment per room first, so that every room has its epoch before viewers join.
    workload = Workload(harness, rooms)
    for index in range(len(rooms)):
        await workload.post_one(index)
    if len(workload.accepted) != len(rooms):
        raise RuntimeError(f"the first posts were not accepted: {[p['attempts'] for p in workload.posts]}")
    workload.posts.clear()
    workload.accepted.clear()
    workload.counter = len(rooms)
    viewer_tasks = [asyncio.ensure_future(workload.viewer(workload.new_viewer(i))) for i in range(args.viewers)]
    deadline = time.monotonic() + 20
    while any(v["start"] is None for v in workload.viewers) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    harness.t0 = time.monotonic()
    schedule = make_schedule(harness.topology, args.seconds, harness.seed, harness.mode == "netns", args.promised_only)
    injector = Injector(harness, workload, rooms)

    async def run_schedule():
        tasks = []
        for fault in schedule:
            if fault["kind"] == "clock_jump" and not harness.faketime:
                continue
            await asyncio.sleep(max(0.0, fault["at"] - harness.now()))
            tasks.append(asyncio.ensure_future(injector.inject(fault)))
        await asyncio.gather(*tasks)

    publishing = asyncio.ensure_future(workload.publishers(args.seconds, args.rate))
    side = asyncio.ensure_future(workload.likes_and_retractions(args.seconds))
    await run_schedule()
    await asyncio.gather(publishing, side)
    faults_end = harness.now()
    # Settle: every process up and running, then wait for viewers to catch up with history.
    for name in harness.redis + harness.sentinels:
        if not harness.procs[name].alive():
            harness.procs[name].start()
        harness.procs[name].resume()
    for name in harness.api + harness.push:
        if not harness.procs[name].alive():
            log(f"{name} exited during the run; restarting it to settle")
            harness.start_node(name)
        harness.procs[name].resume()
    await harness.wait_ready(harness.api + harness.push, seconds=60)
    settle_deadline = harness.now() + args.settle
    histories = {}
    while True:
        histories = {room: await read_history(harness, room) for room in rooms}
        # The highest seq history holds, not the counter: a withdrawn or recalled last seq is
        # never delivered.
        newest = {room: max(h[0].values(), default=0) for room, h in histories.items()}
        behind = [v for v in workload.viewers if v["last"] is None or v["last"] < newest[v["room"]]]
        if not behind or harness.now() > settle_deadline:
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)
    histories = {room: await read_history(harness, room) for room in rooms}
    workload.watching = False
    for task in viewer_tasks:
        task.cancel()
    await asyncio.gather(*viewer_tasks, return_exceptions=True)
    counts, anomalies = check(harness, workload, histories)
    return schedule, workload, counts, anomalies, histories, faults_end


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", choices=["single", "sentinel", "cluster"], default="single")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the faulty period")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report", default=None, help="JSON report path")
    parser.add_argument("--plot", default=None, help="PNG timeline path")
    parser.add_argument("--binary", default=".build/debug/danmaku")
    parser.add_argument("--viewers", type=int, default=24)
    parser.add_argument("--rate", type=float, default=25.0, help="posts per second")
    parser.add_argument("--settle", type=float, default=45.0, help="most seconds to wait for viewers to catch up")
    parser.add_argument("--min-replicas", type=int, default=0,
                        help="--bus-min-replicas of the nodes (default: every replica: 2 for sentinel, 1 for cluster)")
    parser.add_argument("--promised-only", action="store_true",
                        help="leave out the faults docs/GUARANTEES.md lists as not covered (CI runs this way)")
    parser.add_argument("--loopback", action="store_true", help="run on loopback even where namespaces work")
    parser.add_argument("--print-schedule", action="store_true", help="print the schedule for the seed and exit")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (their directory is printed)")
    parser.add_argument("--node-log-level", default="notice", choices=["trace", "debug", "info", "notice", "warning"],
                        help="the danmaku nodes' --log-level (debug names every comment and retraction a push node takes)")
    args = parser.parse_args()

    if args.print_schedule:
        for fault in make_schedule(args.topology, args.seconds, args.seed, not args.loopback, args.promised_only):
            print(json.dumps(fault))
        return 0
    if not os.path.exists(args.binary):
        print(f"chaos: no binary at {args.binary}", file=sys.stderr)
        return 2
    harness = Harness(args)
    started = time.time()

    def on_signal(number, _frame):
        raise KeyboardInterrupt(f"signal {number}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(args.seconds + args.settle + 240))  # the whole run is bounded

    schedule = make_schedule(args.topology, args.seconds, args.seed, harness.mode == "netns", args.promised_only)
    log(f"topology {args.topology}, seed {args.seed}, network {harness.mode}, {len(schedule)} faults:")
    for fault in schedule:
        print("  " + json.dumps(fault, sort_keys=True), file=sys.stderr)
    status = 2
    try:
        harness.plan_members()
        harness.net.setup()
        if harness.mode == "loopback":
            harness.notes.append("processes on loopback (no network namespaces): no partition, delay or loss faults")
        if not harness.faketime:
            harness.notes.append("libfaketime not found: no clock jumps")
        if harness.mode == "netns" and not harness.net.netem:
            harness.notes.append("tc netem is not available in this kernel: delay faults use a tbf queue "
                                 "(packets wait up to the delay in a slow token bucket, then are delivered)")
        harness.net.enter("client")
        harness.start_redis()
        schedule, workload, counts, anomalies, histories, faults_end = asyncio.run(main_async(harness))
        faults = {}
        for fault in harness.fault_log:
            faults[fault["kind"]] = faults.get(fault["kind"], 0) + 1
        outcomes = {}
        for post in workload.posts:
            outcomes[post["outcome"] or "none"] = outcomes.get(post["outcome"] or "none", 0) + 1
        deliveries = sum(len(v["deliveries"]) for v in workload.viewers)
        total = sum(counts.values())
        report = {
            "seed": args.seed, "topology": args.topology, "network": harness.mode, "seconds": args.seconds,
            "promised_only": args.promised_only,
            "faults": faults, "accepted": len(workload.accepted), "viewers": len(workload.viewers),
            **counts, "anomalies": anomalies,
            "posts": outcomes, "retractions": sum(1 for r in workload.retractions if r["status"] == 200),
            "likes": workload.likes, "deliveries": deliveries,
            "reconnects": sum(len(v["connects"]) - 1 for v in workload.viewers),
            "declared_gaps": sum(len(v["gaps"]) for v in workload.viewers),
            "restarted": sum(len(v["restarts"]) for v in workload.viewers),
            "history": {room: {"comments": len(h[0]), "lastSeq": h[1], "epoch": h[2]} for room, h in histories.items()},
            "fault_log": harness.fault_log, "schedule": schedule, "notes": harness.notes,
            "retraction_log": workload.retractions,
            "viewer_log": [{"name": v["name"], "room": v["room"], "start": v["start"], "last": v["last"],
                            "connects": v["connects"], "drops": v["drops"], "gaps": v["gaps"],
                            "retracts_received": len(v["retracted"]), "restarts": v["restarts"]}
                           for v in workload.viewers],
            "wall_seconds": round(time.time() - started, 1),
            "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
        }
        if args.report:
            with open(args.report, "w") as handle:
                json.dump(report, handle, indent=1)
        if args.plot:
            plot(harness, workload, args.plot)
        verdict = "PASS" if total == 0 else "FAIL"
        print(f"chaos {verdict}: topology={args.topology} seed={args.seed} network={harness.mode} "
              f"faults={sum(faults.values())} accepted={len(workload.accepted)} viewers={len(workload.viewers)} "
              f"deliveries={deliveries} " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
        for item in anomalies[:20]:
            print("  anomaly " + json.dumps(item, sort_keys=True), flush=True)
        status = 0 if total == 0 else 1
    except KeyboardInterrupt as interrupt:
        print(f"chaos ABORTED: {interrupt}", flush=True)
        status = 2
    except Exception as error:
        print(f"chaos ERROR: {type(error).__name__}: {error}", flush=True)
        import traceback
        traceback.print_exc()
        status = 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        harness.stop_all()
        harness.net.teardown()
        if status != 0 or args.keep_logs:
            print(f"chaos: logs in {harness.logs}", file=sys.stderr)
        else:
            shutil.rmtree(harness.work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
