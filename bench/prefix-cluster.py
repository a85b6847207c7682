#!/usr/bin/env python3
"""Prefix-cache routing benchmark: a cluster of gpud daemons on loopback under a multi-turn chat
workload, once per routing policy, with the same seeded workload each time.

    bench/prefix-cluster.sh [options]        (the wrapper finds Java 25 and checks the jar)

Policies (POLICIES below):
  round-robin  every node serves locally (routing.enabled false); the client spreads requests
               over the nodes in turn
  load-only    the client sends each request to a random node (as a load balancer would), which
               routes it with the cache term off (load 0.5, latency 0.3, affinity 0.2)
  load+cache   the same with the cache term on

For each policy it starts N daemons (fresh data directories, so every policy starts with cold
caches), waits until each one is READY and sees all N members alive and READY, runs the
workload for warm-up + duration seconds, lets the requests in flight finish (bounded), scrapes
every node's /metrics and stops the daemons. Then it prints one table per policy and the ratios
the target speaks of, and writes them as JSON with --json. Standard library only; traffic goes
to 127.0.0.1 only; every wait is bounded.
"""
import argparse
import asyncio
import ctypes
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# --- Names defined elsewhere in gpud: adjust here when they change. ------------------------

METRIC_HIT_TOKENS = "gpud_prefix_cache_hit_tokens_total"        # prompt tokens the cache supplied
METRIC_LOOKUP_TOKENS = "gpud_prefix_cache_lookup_tokens_total"  # prompt tokens looked up
METRIC_DECISIONS = "gpud_route_decisions_total"                 # label outcome: local, forward, ...
METRIC_FORWARD_ATTEMPTS = "gpud_route_forward_attempts_total"   # label result: ok, timeout, ...
METRIC_GENERATED = "gpud_generated_tokens_total"                # counted where the engine ran
METRIC_PROMPT = "gpud_prompt_tokens_total"
METRIC_INFLIGHT = "gpud_inflight_requests"                      # gauge, sampled for busy fraction
METRIC_BUSY_SECONDS = "gpud_engine_busy_seconds_total"          # used instead when a build has it
NODE_HEADER = "x-gpud-node"                                     # the node that served a response
CACHE_WEIGHT = "weightCache"                                    # routing key of the cache term

# Each policy: how the client picks the node it sends to, and the node configuration it runs
# under (merged over BASE_CONFIG; --set overrides single keys).
POLICIES = {
    "round-robin": {"client": "turns", "config": {"routing": {"enabled": False}}},
    "load-only": {"client": "random", "config": {"routing": {
        "enabled": True, "weightLoad": 0.5, "weightLatency": 0.3, "weightAffinity": 0.2, CACHE_WEIGHT: 0.0}}},
    "load+cache": {"client": "random", "config": {"routing": {
        "enabled": True, "weightLoad": 0.35, "weightLatency": 0.2, "weightAffinity": 0.15, CACHE_WEIGHT: 0.3}}},
}
BASE_CONFIG = {"gossip": {"profile": "loopback", "bindAddress": "127.0.0.1"}}

READY_MARK = " READY: data plane on 127.0.0.1:"


# --- Workload ------------------------------------------------------------------------------

SYLLABLES = ["ka", "lo", "mi", "ter", "vos", "an", "pel", "du", "rin", "so", "ex", "tra", "ben", "cho", "la",
             "gui", "net", "or", "sim", "pa", "qui", "ze", "mon", "fa", "ru", "del", "is", "yo", "wen", "hu"]


def words(rng, chars):
    """Pseudo-words of about `chars` characters: text the model's tokenizer splits as it would prose."""
    out, n = [], 0
    while n < chars:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.08:
            w += rng.choice([",", ".", "?"])
        out.append(w)
        n += len(w) + 1
    return " ".join(out)


def span(text):
    """'A-B' or 'A' as (A, B)."""
    a, _, b = text.partition("-")
    lo, hi = float(a), float(b or a)
    if lo < 0 or hi < lo:
        raise argparse.ArgumentTypeError(f"'{text}' must be A or A-B with 0 <= A <= B")
    return lo, hi


def make_workload(a):
    """Every user of the run, a pure function of the seed and the workload options.

    Users arrive as a Poisson process (rate --user-rate) from the start until the end of the
    measured window: the arrivals do not wait for the servers (open loop). Each user holds one
    conversation under one of --systems shared system prompts (user i under prompt i mod
    --systems) for a number of turns drawn from --turns; each turn is a new message of
    --message-tokens tokens and asks for max_tokens drawn from a lognormal (median
    --max-tokens-median, sigma --max-tokens-sigma, clipped to --max-tokens-range), long-tailed
    like ShareGPT's reply lengths; between a reply and the next turn the user thinks for an
    exponential time with mean --think seconds (closed loop within a conversation).
    """
    rng = random.Random(a.seed)
    cpt = a.chars_per_token
    systems = []
    for g in range(a.systems):
        n = rng.randint(int(a.system_tokens[0]), int(a.system_tokens[1]))
        systems.append(f"System prompt {g}. You are assistant {g} of a bench; follow these notes. "
                       + words(rng, int(n * cpt)))
    users, t, end = [], 0.0, a.warmup + a.duration
    lo_mt, hi_mt = a.max_tokens_range
    while True:
        t += rng.expovariate(a.user_rate)
        if t >= end:
            break
        turns = []
        for _ in range(rng.randint(int(a.turns[0]), int(a.turns[1]))):
            chars = int(rng.uniform(*a.message_tokens) * cpt)
            max_tokens = round(a.max_tokens_median * math.exp(rng.gauss(0, a.max_tokens_sigma)))
            turns.append({"text": words(rng, chars), "max_tokens": int(min(hi_mt, max(lo_mt, max_tokens))),
                          "think": rng.expovariate(1.0 / a.think) if a.think > 0 else 0.0})
        users.append({"index": len(users), "arrival": t, "system": len(users) % a.systems, "turns": turns})
    return systems, users


# --- HTTP over loopback (raw HTTP/1.1, one connection per request) --------------------------

async def http(port, method, path, body=None, on_data=None, limit=1 << 20):
    """Sends one request to 127.0.0.1:port and reads the answer. Returns (status, headers, body
    bytes not handed to on_data). With on_data, 200 answers stream their body through it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=limit)
    try:
        payload = b"" if body is None else body
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
                f"Content-Length: {len(payload)}\r\n")
        if body is not None:
            head += "Content-Type: application/json\r\n"
        writer.write(head.encode() + b"\r\n" + payload)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        headers = {}
        while True:
            line = (await reader.readline()).decode("latin-1").strip()
            if not line:
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        sink = on_data if (on_data and status == 200) else None
        kept = []

        def take(data):
            if sink:
                sink(data)
            elif sum(map(len, kept)) < limit:
                kept.append(data)

        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    break
                take(await reader.readexactly(size))
                await reader.readline()
        elif "content-length" in headers:
            take(await reader.readexactly(int(headers["content-length"])))
        else:
            while data := await reader.read(65536):
                take(data)
        return status, headers, b"".join(kept)
    finally:
        writer.close()


class Stream:
    """An SSE chat-completion stream: the reply text, the first content time, the usage."""

    def __init__(self):
        self.buffer, self.parts, self.first, self.usage, self.error = b"", [], None, None, None

    def feed(self, data):
        self.buffer += data
        while (cut := self.buffer.find(b"\n\n")) >= 0:
            event, self.buffer = self.buffer[:cut], self.buffer[cut + 2:]
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                text = line[5:].strip()
                if text == b"[DONE]":
                    continue
                chunk = json.loads(text)
                if "error" in chunk:
                    self.error = json.dumps(chunk["error"])[:200]
                for choice in chunk.get("choices") or []:
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        if self.first is None:
                            self.first = time.monotonic()
                        self.parts.append(content)
                if chunk.get("usage"):
                    self.usage = chunk["usage"]


async def chat(port, model, messages, max_tokens, timeout):
    """One streamed /v1/chat/completions; a record of what happened."""
    body = json.dumps({"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0,
                       "stream": True, "stream_options": {"include_usage": True}}).encode()
    stream, start = Stream(), time.monotonic()
    rec = {"start": start}
    try:
        status, headers, rest = await asyncio.wait_for(
            http(port, "POST", "/v1/chat/completions", body, stream.feed), timeout)
        rec["status"] = status
        rec["served_by"] = headers.get(NODE_HEADER)
        if status != 200:
            rec["error"] = rest[:200].decode("utf-8", "replace")
        elif stream.error or stream.usage is None:
            rec["status"] = "stream-error"
            rec["error"] = stream.error or "no usage in the stream"
    except asyncio.TimeoutError:
        rec["status"], rec["error"] = "timeout", f"no complete answer within {timeout} s"
    except (OSError, ValueError, asyncio.IncompleteReadError) as e:
        rec["status"], rec["error"] = "connection", f"{type(e).__name__}: {e}"
    end = time.monotonic()
    rec["end"] = end
    rec["e2e"] = end - start
    rec["ttft"] = (stream.first - start) if stream.first else None
    usage = stream.usage or {}
    rec["prompt_tokens"] = usage.get("prompt_tokens")
    rec["completion_tokens"] = usage.get("completion_tokens")
    rec["cached_tokens"] = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    rec["reply"] = "".join(stream.parts)
    return rec


# --- Metrics -------------------------------------------------------------------------------

def parse_metrics(text):
    """Prometheus text → {(name, ((label, value), ...)): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = []
        for part in labels.rstrip("}").split(","):
            if "=" in part:
                k, _, v = part.partition("=")
                pairs.append((k.strip(), v.strip().strip('"')))
        try:
            out[(name, tuple(sorted(pairs)))] = float(value)
        except ValueError:
            pass
    return out


def total(snapshot, name, **labels):
    """Sum of a family's samples whose labels include `labels`; None when the family is absent."""
    found, s = False, 0.0
    for (n, pairs), v in snapshot.items():
        if n == name and all((k, val) in pairs for k, val in labels.items()):
            found, s = True, s + v
    return s if found else None


def by_label(snapshot, name, label):
    out = {}
    for (n, pairs), v in snapshot.items():
        if n == name:
            key = dict(pairs).get(label, "")
            out[key] = out.get(key, 0.0) + v
    return out


async def scrape(node):
    status, _, body = await asyncio.wait_for(http(node["metrics_port"], "GET", "/metrics"), 10)
    if status != 200:
        raise RuntimeError(f"{node['id']}: /metrics answered {status}")
    return parse_metrics(body.decode())


async def scrape_all(nodes):
    return await asyncio.gather(*(scrape(n) for n in nodes))


# --- The cluster ---------------------------------------------------------------------------

def to_yaml(tree, indent=0):
    lines = []
    for k, v in tree.items():
        pad = "  " * indent
        if isinstance(v, dict):
            lines.append(f"{pad}{k}:")
            lines.append(to_yaml(v, indent + 1))
        elif isinstance(v, bool):
            lines.append(f"{pad}{k}: {'true' if v else 'false'}")
        elif isinstance(v, list):
            lines.append(f"{pad}{k}: [{', '.join(json.dumps(x) for x in v)}]")
        elif isinstance(v, (int, float)):
            lines.append(f"{pad}{k}: {v}")
        else:
            lines.append(f"{pad}{k}: {json.dumps(str(v))}")
    return "\n".join(lines)


def merge(base, over):
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def scalar(text):
    if text in ("true", "false"):
        return text == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def apply_set(tree, dotted, value):
    *path, last = dotted.split(".")
    node = tree
    for p in path:
        node = node.setdefault(p, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value


def policy_config(a, name):
    """The node configuration of a policy: BASE_CONFIG, the engine options, the policy, --set."""
    engine = {}
    if a.backend:
        engine["backend"] = a.backend
    if a.sim_profile:
        engine["simProfile"] = a.sim_profile
    if a.max_concurrent:
        engine["maxConcurrent"] = a.max_concurrent
    if a.engine_threads:
        engine["threads"] = a.engine_threads
    config = merge(merge(BASE_CONFIG, {"engine": engine} if engine else {}), POLICIES[name]["config"])
    if a.no_cache_term:
        routing = config.get("routing", {})
        routing.pop(CACHE_WEIGHT, None)
        if routing.get("enabled"):  # the build has no cache term: load+cache routes as load-only
            routing.update({k: v for k, v in POLICIES["load-only"]["config"]["routing"].items() if k != CACHE_WEIGHT})
    for item in a.set:
        target, _, assignment = item.partition(":")
        key, eq, value = assignment.partition("=")
        if target in (name, "all"):
            apply_set(config, key, scalar(value) if eq else None)
    return config


def free_port(taken):
    """A port free for TCP and UDP on loopback now, below the ephemeral range (a gossip port
    must be known before its daemon starts, so its peers can name it)."""
    rng = random.Random()
    for _ in range(500):
        port = rng.randint(10000, 32767)
        if port in taken:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("127.0.0.1", port))
                u.bind(("127.0.0.1", port))
            taken.add(port)
            return port
        except OSError:
            continue
    raise RuntimeError("no port in 10000-32767 is free for both TCP and UDP")


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the daemon goes if this script is killed


def admin_get(sock_path, path):
    """GET over a daemon's admin Unix socket; the body as JSON."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sock_path)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while data := s.recv(65536):
            raw += data
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        out = b""
        while True:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, body = out + body[:size], body[size + 2:]
        body = out
    return json.loads(body)


class Cluster:
    def __init__(self, a, policy, work):
        self.a, self.policy, self.work = a, policy, work
        self.nodes, self.procs = [], []

    def start(self):
        a, taken = self.a, set()
        config = policy_config(a, self.policy)
        gossip_ports = [free_port(taken) for _ in range(a.nodes)]
        seed = f"127.0.0.1:{gossip_ports[0]}"
        env = dict(os.environ, GPUD_JAVA_OPTS=f"-Xmx{a.heap} {os.environ.get('GPUD_JAVA_OPTS', '')}".strip())
        for i in range(a.nodes):
            data = os.path.join(self.work, f"node{i}")
            os.makedirs(data)
            path = os.path.join(data, "gpud.yaml")
            with open(path, "w") as f:
                f.write(to_yaml(config) + "\n")
            cmd = [a.gpud, "run", "--insecure-cluster", "--config", path, "--host", "127.0.0.1", "--port", "0",
                   "--metrics-port", "0", "--gossip-port", str(gossip_ports[i]), "--data-dir", data,
                   "--node-id", f"node{i}"]
            if i > 0:
                cmd += ["--join", seed]
            cmd += ["--model", a.model, "--model-name", a.model_name] if a.model else ["--demo"]
            if a.tokenizer:
                cmd += ["--tokenizer", a.tokenizer]
            log = open(os.path.join(data, "daemon.log"), "wb")
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                               start_new_session=True, preexec_fn=_die_with_parent))
            log.close()
            self.nodes.append({"id": f"node{i}", "data": data, "admin": os.path.join(data, "admin.sock"),
                               "port": None, "metrics_port": None})
        self.await_ready()

    def log_tail(self, i, lines=30):
        with open(os.path.join(self.nodes[i]["data"], "daemon.log"), errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def await_ready(self):
        """Until every node is READY and sees all N members alive and READY (bounded)."""
        n, deadline, pending = self.a.nodes, time.monotonic() + self.a.start_timeout, set(range(self.a.nodes))
        while pending:
            if time.monotonic() > deadline:
                i = min(pending)
                raise RuntimeError(f"{self.nodes[i]['id']} not ready with all {n} members after "
                                   f"{self.a.start_timeout} s; its log ends:\n{self.log_tail(i)}")
            for i in sorted(pending):
                node, proc = self.nodes[i], self.procs[i]
                if proc.poll() is not None:
                    tail = self.log_tail(i)
                    hint = (f"\n(this build has no routing.{CACHE_WEIGHT}: run with --no-cache-term)"
                            if f"unknown setting 'routing.{CACHE_WEIGHT}'" in tail else "")
                    raise RuntimeError(f"{node['id']} exited with {proc.returncode}; its log ends:\n{tail}{hint}")
                if node["port"] is None:
                    with open(os.path.join(node["data"], "daemon.log"), errors="replace") as f:
                        for line in f:
                            if READY_MARK in line:
                                rest = line.split(READY_MARK, 1)[1]
                                node["port"] = int(rest.split(",")[0])
                                node["metrics_port"] = int(rest.split("metrics on :", 1)[1].split(",")[0])
                                break
                if node["port"] is None:
                    continue
                try:
                    status = admin_get(node["admin"], "/v1/status")
                except (OSError, ValueError):
                    continue
                members = status.get("members") or []
                if (status.get("state") == "READY" and len(members) == n
                        and all(m.get("state") == "alive" and m.get("nodeState") == "READY" for m in members)):
                    pending.discard(i)
                    node["context"] = min((m.get("contextLength") or 0 for m in status.get("models") or []
                                           if m.get("name") == self.a.served_name), default=0)
            if pending:
                time.sleep(0.2)

    def stop(self):
        """SIGTERM to each daemon, then SIGKILL to any still there after --stop-timeout."""
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + self.a.stop_timeout
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        self.procs = []


# --- One policy's run ----------------------------------------------------------------------

async def run_policy(a, name, cluster, systems, users):
    nodes = cluster.nodes
    context = min(n.get("context") or 0 for n in nodes) or None
    client = POLICIES[name]["client"]
    pick_rng, turn_counter = random.Random(a.seed * 7919 + 1), [0]

    def pick():
        if client == "turns":
            turn_counter[0] += 1
            return nodes[(turn_counter[0] - 1) % len(nodes)]
        return pick_rng.choice(nodes)

    t0 = time.monotonic()
    w0, w1 = t0 + a.warmup, t0 + a.warmup + a.duration
    records, outcome = [], {"users": 0, "finished": 0, "context": 0, "failed": 0, "window_end": 0}

    async def user(u):
        await asyncio.sleep(max(0.0, t0 + u["arrival"] - time.monotonic()))
        outcome["users"] += 1
        history = [{"role": "system", "content": systems[u["system"]]}]
        prompt_estimate = len(systems[u["system"]]) / a.chars_per_token + 64
        for k, turn in enumerate(u["turns"]):
            if time.monotonic() >= w1:
                outcome["window_end"] += 1
                return
            prompt_estimate += 1.5 * len(turn["text"]) / a.chars_per_token + 16
            if context and prompt_estimate + turn["max_tokens"] > context:
                outcome["context"] += 1  # the conversation no longer fits the model's context
                return
            node = pick()
            message = {"role": "user", "content": turn["text"]}
            rec = await chat(node["port"], a.served_name, history + [message], turn["max_tokens"], a.request_timeout)
            reply = rec.pop("reply")
            rec.update(user=u["index"], turn=k, sent_to=node["id"], reply_chars=len(reply))
            records.append(rec)
            if rec["status"] != 200:
                outcome["failed"] += 1
                return
            prompt_estimate = rec["prompt_tokens"] + rec["completion_tokens"] + 16
            history += [message, {"role": "assistant", "content": reply}]
            await asyncio.sleep(turn["think"])
        outcome["finished"] += 1

    busy_samples = [[0, 0, 0.0] for _ in nodes]  # samples, samples with work in flight, sum in flight

    async def sampler():
        await asyncio.sleep(max(0.0, w0 - time.monotonic()))
        while time.monotonic() < w1:
            shots = await asyncio.gather(*(scrape(n) for n in nodes), return_exceptions=True)
            for i, shot in enumerate(shots):
                if isinstance(shot, dict):
                    inflight = total(shot, METRIC_INFLIGHT) or 0.0
                    busy_samples[i][0] += 1
                    busy_samples[i][1] += inflight > 0
                    busy_samples[i][2] += inflight
            await asyncio.sleep(a.sample_interval)

    async def at_window_start():
        await asyncio.sleep(max(0.0, w0 - time.monotonic()))
        return await scrape_all(nodes), time.monotonic()

    tasks = [asyncio.create_task(user(u)) for u in users]
    sampling = asyncio.create_task(sampler())
    start_shot = asyncio.create_task(at_window_start())
    done, late = await asyncio.wait(tasks, timeout=max(0.0, w1 + a.drain - time.monotonic()))
    for t in late:
        t.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for t in done:
        if t.exception():
            raise t.exception()
    await sampling
    first, first_at = await start_shot
    last, last_at = await scrape_all(nodes), time.monotonic()
    if a.records:
        with open(a.records, "a") as f:
            for r in records:
                f.write(json.dumps(dict(r, policy=name, start=r["start"] - t0, end=r["end"] - t0)) + "\n")
    return summarize(a, name, nodes, records, outcome, len(late), first, last, last_at - first_at,
                     busy_samples, w0, w1)


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = math.floor(k)
    hi = v[min(lo + 1, len(v) - 1)]
    if math.isinf(hi):  # a failed request (infinite TTFT) at or past the percentile
        return hi if k > lo or math.isinf(v[lo]) else v[lo]
    return v[lo] + (hi - v[lo]) * (k - lo)


def delta(first, last, name, **labels):
    a, b = total(first, name, **labels), total(last, name, **labels)
    return None if b is None else b - (a or 0.0)


def max_over_mean(values):
    mean = sum(values) / len(values) if values else 0
    return (max(values) / mean) if mean else None


def summarize(a, name, nodes, records, outcome, cancelled, first, last, scraped_s, busy_samples, w0, w1):
    measured = [r for r in records if w0 <= r["start"] < w1]
    ok = [r for r in measured if r["status"] == 200]
    statuses = {}
    for r in measured:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    in_window = [r for r in records if r["status"] == 200 and w0 <= r["end"] < w1]
    # a failed request counts as never answered (infinite TTFT), so a policy that fails more
    # cannot look faster by losing its slowest requests
    ttft = [r["ttft"] for r in ok if r["ttft"] is not None] + [math.inf] * (len(measured) - len(ok))
    served = {n["id"]: 0 for n in nodes}
    for r in ok:
        served[r["served_by"]] = served.get(r["served_by"], 0) + 1
    hit = sum(filter(None, (delta(f, l, METRIC_HIT_TOKENS) for f, l in zip(first, last))), 0.0)
    lookup = [delta(f, l, METRIC_LOOKUP_TOKENS) for f, l in zip(first, last)]
    has_cache_metrics = any(x is not None for x in lookup)
    lookup = sum(filter(None, lookup), 0.0)
    decisions, attempts = {}, {}
    for f, l in zip(first, last):
        for label, v in by_label(l, METRIC_DECISIONS, "outcome").items():
            decisions[label] = decisions.get(label, 0) + v - by_label(f, METRIC_DECISIONS, "outcome").get(label, 0)
        for label, v in by_label(l, METRIC_FORWARD_ATTEMPTS, "result").items():
            attempts[label] = attempts.get(label, 0) + v - by_label(f, METRIC_FORWARD_ATTEMPTS, "result").get(label, 0)
    generated = [delta(f, l, METRIC_GENERATED) or 0.0 for f, l in zip(first, last)]
    busy_seconds = [delta(f, l, METRIC_BUSY_SECONDS) for f, l in zip(first, last)]
    if all(b is not None for b in busy_seconds):
        busy, busy_source = [b / scraped_s for b in busy_seconds], METRIC_BUSY_SECONDS
    else:
        busy = [s[1] / s[0] if s[0] else 0.0 for s in busy_samples]
        busy_source = f"share of {METRIC_INFLIGHT} samples > 0"
    cached = [r["cached_tokens"] for r in ok if r["cached_tokens"] is not None]
    window = w1 - w0
    return {
        "policy": name,
        "context": min(n.get("context") or 0 for n in nodes) or None,
        "requests": {"measured": len(measured), "ok": len(ok), "by_status": statuses,
                     "unfinished_at_drain_end": cancelled},
        "users": outcome,
        "ttft_s": {"p50": pct(ttft, 50), "p90": pct(ttft, 90), "p99": pct(ttft, 99)},
        "e2e_s": {"p50": pct([r["e2e"] for r in ok], 50), "p99": pct([r["e2e"] for r in ok], 99)},
        "out_tok_s": sum(r["completion_tokens"] for r in in_window) / window,
        "req_s": len(in_window) / window,
        "prompt_tokens_mean": (sum(r["prompt_tokens"] for r in ok) / len(ok)) if ok else None,
        "hit_rate": (hit / lookup) if has_cache_metrics and lookup else None,
        "hit_rate_usage": (sum(cached) / sum(r["prompt_tokens"] for r in ok if r["cached_tokens"] is not None))
        if cached else None,
        "route_decisions": decisions,
        "forward_attempts": attempts,
        "forwards": sum(v for k, v in decisions.items() if k.startswith("forward")),
        "served_per_node": served,
        "served_max_over_mean": max_over_mean(list(served.values())),
        "generated_per_node": dict(zip((n["id"] for n in nodes), generated)),
        "generated_max_over_mean": max_over_mean(generated),
        "busy_per_node": dict(zip((n["id"] for n in nodes), busy)),
        "busy_mean": sum(busy) / len(busy),
        "busy_max_over_mean": max_over_mean(busy),
        "busy_source": busy_source,
        "inflight_mean": [s[2] / s[0] if s[0] else None for s in busy_samples],
    }


# --- Report --------------------------------------------------------------------------------

def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def report(results, a):
    print()
    print(f"{'policy':<12} {'ok/measured':>12} {'TTFT p50':>9} {'p90':>8} {'p99':>8} {'e2e p50':>8} {'p99':>8} "
          f"{'out tok/s':>10} {'req/s':>7} {'hit rate':>9} {'forwards':>9} {'served max/mean':>16} "
          f"{'busy mean':>10} {'busy max/mean':>14}")
    for r in results.values():
        q = r["requests"]
        print(f"{r['policy']:<12} {q['ok']:>5}/{q['measured']:<6} {fmt(r['ttft_s']['p50']):>9} "
              f"{fmt(r['ttft_s']['p90']):>8} {fmt(r['ttft_s']['p99']):>8} {fmt(r['e2e_s']['p50']):>8} "
              f"{fmt(r['e2e_s']['p99']):>8} {r['out_tok_s']:>10.1f} {r['req_s']:>7.2f} {fmt(r['hit_rate']):>9} "
              f"{r['forwards']:>9.0f} {fmt(r['served_max_over_mean'], 2):>16} {r['busy_mean']:>10.2f} "
              f"{fmt(r['busy_max_over_mean'], 2):>14}")
    for r in results.values():
        print(f"\n{r['policy']}: status codes {r['requests']['by_status']}, unfinished after the drain "
              f"{r['requests']['unfinished_at_drain_end']}; users {r['users']}")
        print(f"  route decisions {fmt_counts(r['route_decisions'])}; forward attempts {fmt_counts(r['forward_attempts'])}")
        print(f"  served per node {r['served_per_node']}; generated tokens per node "
              f"{ {k: int(v) for k, v in r['generated_per_node'].items()} } (max/mean {fmt(r['generated_max_over_mean'], 2)})")
        print(f"  busy per node {[round(b, 2) for b in r['busy_per_node'].values()]} ({r['busy_source']}); "
              f"mean in flight {[None if x is None else round(x, 2) for x in r['inflight_mean']]}")
        print(f"  mean prompt tokens {fmt(r['prompt_tokens_mean'], 0)}; hit rate from usage.cached_tokens "
              f"{fmt(r['hit_rate_usage'])}")
        if r["users"]["context"]:
            print(f"  note: {r['users']['context']} conversations ended early: their next turn would not fit the "
                  f"model's context of {r['context']} tokens")
    ratios = {}
    rr, lo, lc = (results.get(k) for k in ("round-robin", "load-only", "load+cache"))

    def ratio(x, y):
        return (x / y) if x is not None and y else None

    if lc:
        if rr:
            ratios["p90_round_robin_over_cache"] = ratio(rr["ttft_s"]["p90"], lc["ttft_s"]["p90"])
            ratios["out_tok_s_cache_over_round_robin"] = ratio(lc["out_tok_s"], rr["out_tok_s"])
        if lo:
            ratios["p90_load_only_over_cache"] = ratio(lo["ttft_s"]["p90"], lc["ttft_s"]["p90"])
            ratios["out_tok_s_cache_over_load_only"] = ratio(lc["out_tok_s"], lo["out_tok_s"])
        ratios["cache_served_max_over_mean"] = lc["served_max_over_mean"]
        targets = {"p90_round_robin_over_cache": ">= 3", "p90_load_only_over_cache": ">= 1.5",
                   "out_tok_s_cache_over_round_robin": ">= 1 (no worse)",
                   "out_tok_s_cache_over_load_only": ">= 1 (no worse)", "cache_served_max_over_mean": "<= 1.3"}
        print("\nratios (target):")
        for k, v in ratios.items():
            print(f"  {k:<36} {fmt(v, 2):>8}   ({targets[k]})")
    if a.no_cache_term:
        print("\nnote: --no-cache-term: this build has no cache term, so load+cache ran with load-only's routing")
    return ratios


def fmt_counts(d):
    return "{" + ", ".join(f"{k}: {v:.0f}" for k, v in sorted(d.items())) + "}" if d else "{}"


# --- Main ----------------------------------------------------------------------------------

def options(argv):
    p = argparse.ArgumentParser(prog="bench/prefix-cluster.sh",
                                description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    g = p.add_argument_group("cluster")
    g.add_argument("--nodes", type=int, default=8, help="daemons on loopback (8)")
    g.add_argument("--policies", default="round-robin,load-only,load+cache",
                   help="comma-separated, run in this order (all three)")
    g.add_argument("--model", help="model file every node serves (default: the demo model, --demo)")
    g.add_argument("--model-name", default="bench", help="its name with --model (bench)")
    g.add_argument("--tokenizer", help="tokenizer file for a llama2.c --model")
    g.add_argument("--backend", choices=["auto", "cpu", "cuda", "sim"], help="engine.backend (config default)")
    g.add_argument("--sim-profile", help="engine.simProfile with --backend sim (config default)")
    g.add_argument("--max-concurrent", type=int, help="engine.maxConcurrent (config default)")
    g.add_argument("--engine-threads", type=int, help="engine.threads (config default: all cores)")
    g.add_argument("--heap", default="256m", help="each daemon's -Xmx (256m)")
    g.add_argument("--set", action="append", default=[], metavar="POLICY:KEY=VALUE",
                   help="set a config key for one policy or 'all' (routing.weightCache=0.3);\n"
                        "POLICY:KEY without =VALUE removes it")
    g.add_argument("--no-cache-term", action="store_true",
                   help=f"for builds without routing.{CACHE_WEIGHT}: drop it; load+cache then routes as load-only")
    g.add_argument("--start-timeout", type=float, default=180, help="seconds for all nodes to be ready (180)")
    g.add_argument("--stop-timeout", type=float, default=30, help="seconds after SIGTERM before SIGKILL (30)")
    g.add_argument("--work-dir", help="data directories here (default: a new temporary directory, removed after)")
    g.add_argument("--gpud", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "gpud"))
    w = p.add_argument_group("workload")
    w.add_argument("--seed", type=int, default=1)
    w.add_argument("--user-rate", type=float, default=0.4, help="users arriving per second, Poisson (0.4)")
    w.add_argument("--turns", type=span, default=(8, 16), help="turns per conversation, uniform (8-16)")
    w.add_argument("--think", type=float, default=6.0, help="mean think time between turns, exponential, s (6)")
    w.add_argument("--systems", type=int, default=4, help="shared system prompts (4)")
    w.add_argument("--system-tokens", type=span, default=(400, 1000), help="system prompt length, uniform (400-1000)")
    w.add_argument("--message-tokens", type=span, default=(30, 150), help="user message length, uniform (30-150)")
    w.add_argument("--max-tokens-median", type=float, default=120, help="max_tokens lognormal median (120)")
    w.add_argument("--max-tokens-sigma", type=float, default=0.7, help="max_tokens lognormal sigma (0.7)")
    w.add_argument("--max-tokens-range", type=span, default=(8, 512), help="max_tokens clipped to (8-512)")
    w.add_argument("--chars-per-token", type=float, default=1.0,
                   help="characters of generated text per token: 1 for the demo model's\n"
                        "character tokenizer, about 3 for a Llama 3 tokenizer on this text (1)")
    w.add_argument("--warmup", type=float, default=90, help="seconds before the measured window (90)")
    w.add_argument("--duration", type=float, default=120, help="measured window, s (120)")
    w.add_argument("--drain", type=float, default=120, help="seconds the requests in flight may take after it (120)")
    w.add_argument("--request-timeout", type=float, default=300, help="one request at most, s (300)")
    w.add_argument("--sample-interval", type=float, default=0.25, help="seconds between in-flight samples (0.25)")
    o = p.add_argument_group("output")
    o.add_argument("--json", help="also write the results here")
    o.add_argument("--records", help="append every request (policy, user, turn, node, times in s from the\n"
                                    "policy's start, status, tokens) here, a JSON object a line")
    a = p.parse_args(argv)
    a.policies = [x.strip() for x in a.policies.split(",") if x.strip()]
    unknown = [x for x in a.policies if x not in POLICIES]
    if unknown:
        p.error(f"unknown policy {unknown}; known: {', '.join(POLICIES)}")
    for item in a.set:
        target, colon, key = item.partition(":")
        if not colon or not key.partition("=")[0] or (target not in POLICIES and target != "all"):
            p.error(f"--set '{item}': must be POLICY:KEY=VALUE or POLICY:KEY with POLICY one of "
                    f"{', '.join(POLICIES)}, all")
    if a.nodes < 1 or a.systems < 1 or a.user_rate <= 0 or a.duration <= 0 or a.chars_per_token <= 0:
        p.error("--nodes, --systems, --user-rate, --duration and --chars-per-token must be positive")
    if a.tokenizer and not a.model:
        p.error("--tokenizer goes with --model")
    a.served_name = a.model_name if a.model else "gpud-demo"
    return a


def main(argv):
    a = options(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    systems, users = make_workload(a)
    turns = sum(len(u["turns"]) for u in users)
    print(f"workload: seed {a.seed}, {len(users)} users over {a.warmup + a.duration:.0f} s, up to {turns} turns, "
          f"{a.systems} system prompts of {min(map(len, systems))}-{max(map(len, systems))} characters; "
          f"{a.nodes} nodes, policies {', '.join(a.policies)}", flush=True)
    work = a.work_dir or tempfile.mkdtemp(prefix="gpud-prefix-cluster-")
    results = {}
    try:
        for name in a.policies:
            cluster = Cluster(a, name, os.path.join(work, name.replace("+", "-")))
            try:
                began = time.monotonic()
                cluster.start()
                print(f"{name}: {a.nodes} nodes ready in {time.monotonic() - began:.1f} s; running "
                      f"{a.warmup:.0f} s warm-up + {a.duration:.0f} s", flush=True)
                results[name] = asyncio.run(run_policy(a, name, cluster, systems, users))
            finally:
                cluster.stop()
            r = results[name]
            print(f"{name}: {r['requests']['ok']}/{r['requests']['measured']} ok, TTFT p90 {fmt(r['ttft_s']['p90'])} s, "
                  f"{r['out_tok_s']:.1f} out tok/s, busy {r['busy_mean']:.2f}", flush=True)
    finally:
        if not a.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    ratios = report(results, a)
    if a.json:
        out = {"options": {k: v for k, v in vars(a).items() if k != "gpud"},
               "configs": {name: policy_config(a, name) for name in a.policies},
               "policies": results, "ratios": ratios}
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"\nwrote {a.json}")


if __name__ == "__main__":
    main(sys.argv[1:])
