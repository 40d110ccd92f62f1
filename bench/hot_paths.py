#!/usr/bin/env python3
"""Helpers for bench/hot-paths.sh (standard library only).

  capture LOG OFFSET DB OUT     the SQL one request ran, from the PostgreSQL log written after
                                byte OFFSET (log_min_duration_statement = 0 on DB): writes OUT.sql,
                                a pgbench script of the same statements with the same
                                parameters as pgbench variables, and OUT.defs (-D arguments)
  summary TSV                   the table of medians and ratios from the rounds' results
  soak URL RATE SECONDS PID     a fixed-rate mixed load (requests from $BENCH_REQUESTS, JSON),
                                errors and the server's RSS every 30 s
"""
import json
import os
import re
import statistics
import sys
import threading
import time

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] ")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def capture(log, offset, db, out):
    with open(log, "rb") as f:
        f.seek(int(offset))
        text = f.read().decode("utf-8", "replace")
    # Join continuation lines (a statement spanning lines) onto their entry.
    entries = []
    for line in text.splitlines():
        if LINE.match(line):
            entries.append(line)
        elif entries:
            entries[-1] += "\n" + line
    mine = [e for e in entries if f"@{db} " in e]
    statements = []  # (sql, {n: value or None})
    current = None  # the execute entry a DETAIL line belongs to (parse and bind have their own)
    for e in mine:
        body = e.split(f"@{db} ", 1)[1]
        m = re.match(r"DETAIL:\s+parameters: (.*)", body, re.S)
        if m:
            if current is not None:
                for n, v in PARAM.findall(m.group(1)):
                    current[1][int(n)] = None if v == "NULL" else v[1:-1].replace("''", "'")
            continue
        current = None
        m = re.match(r"LOG:\s+duration: [\d.]+ ms\s+(execute [^:]+|statement): (.*)", body, re.S)
        if m:
            current = [m.group(2).strip(), {}]
            statements.append(current)
    if not statements:
        sys.exit(f"no statements of database {db} in {log} after byte {offset}")
    lines, defs = [], []
    for i, (sql, params) in enumerate(statements, 1):
        def sub(m, i=i, params=params):
            n = int(m.group(1))
            if params.get(n) is None:
                return "NULL"
            return f":s{i}p{n}"
        lines.append(re.sub(r"\$(\d+)\b", sub, sql).replace("\n", " ") + ";")
        defs += [f"s{i}p{n}={v}" for n, v in sorted(params.items()) if v is not None]
    with open(out + ".sql", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(out + ".defs", "w") as f:
        f.write("\0".join(f"-D\0{d}" for d in defs))
    print(len(statements))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def summary(tsv):
    # phase request round kind rps p50_us p99_us bad; kind: ours, generic, custom (pgbench)
    rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
    phases = list(dict.fromkeys(r[0] for r in rows))
    results = {}
    for phase in phases:
        print(f"\n{phase}")
        print("| request | ours req/s | p50 ms | p99 ms | pgbench tx/s generic | custom | ratio to the better "
              "| rounds' ratios | non-2xx / socket errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
        for req in dict.fromkeys(r[1] for r in rows if r[0] == phase):
            sel = {k: [r for r in rows if r[0] == phase and r[1] == req and r[3] == k]
                   for k in ("ours", "generic", "custom")}
            o, g, c = (med([float(r[4]) for r in sel[k]]) for k in ("ours", "generic", "custom"))
            rounds = [float(a[4]) / max(float(b[4]), float(d[4]))
                      for a, b, d in zip(sel["ours"], sel["generic"], sel["custom"])]
            bad = sum(int(r[7]) for r in sel["ours"])
            results[(phase, req)] = o / max(g, c)
            print(f"| {req} | {o:,.0f} | {med([float(r[5]) for r in sel['ours']]) / 1000:.2f} | "
                  f"{med([float(r[6]) for r in sel['ours']]) / 1000:.2f} | {g:,.0f} | {c:,.0f} | "
                  f"**{o / max(g, c):.0%}** | {', '.join(f'{x:.0%}' for x in rounds)} | {bad} |")
    if len(phases) == 2:
        a, b = phases
        print(f"\nratio to the limit, before -> after: " + "; ".join(
            f"{req} {results[(a, req)]:.0%} -> {results[(b, req)]:.0%}"
            for (ph, req) in results if ph == a and (b, req) in results))


def rss(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def soak(url, rate, seconds, pid):
    import http.client
    from urllib.parse import urlsplit

    reqs = json.loads(os.environ["BENCH_REQUESTS"])
    auth = os.environ.get("BENCH_AUTH", "")
    rate, seconds = float(rate), float(seconds)
    host = urlsplit(url)
    workers = max(4, min(64, int(rate // 10)))
    lock = threading.Lock()
    stats = {"sent": 0, "errors": 0, "late": 0, "lat": [], "kinds": {}}
    start = time.monotonic() + 0.5
    end = start + seconds

    def worker(w):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        k = 0
        while True:
            # Worker w sends requests w, w + workers, … of one schedule at `rate` a second.
            n = w + k * workers
            k += 1
            at = start + n / rate
            if at >= end:
                break
            now = time.monotonic()
            if at > now:
                time.sleep(at - now)
            elif now - at > 0.1:
                with lock:
                    stats["late"] += 1
            name, method, path, body = reqs[n % len(reqs)]
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = auth
            if body:
                headers["Content-Type"] = "application/json"
            t0 = time.monotonic()
            ok, why = False, ""
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                ok = 200 <= resp.status < 300 and not (name == "graphql" and b'"errors"' in data)
                why = f"HTTP {resp.status}"
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except Exception as e:  # a refused, reset or timed-out request is an error
                why = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            dt = time.monotonic() - t0
            with lock:
                stats["sent"] += 1
                stats["lat"].append(dt)
                if not ok:
                    stats["errors"] += 1
                    stats["kinds"][f"{name}: {why}"] = stats["kinds"].get(f"{name}: {why}", 0) + 1

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    for t in threads:
        t.start()
    r0 = rss(pid)
    print(f"soak: {rate:.0f} requests/s for {seconds:.0f} s over {workers} keep-alive connections, "
          f"{len(reqs)} requests in turn; server VmRSS at start {r0.get('VmRSS', 0):,} kB", flush=True)
    print("| t s | requests | errors | late >100 ms | p50 ms | p99 ms | VmRSS kB | VmHWM kB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    samples = []
    t = 0
    while any(th.is_alive() for th in threads):
        time.sleep(min(30, max(0.1, start + t + 30 - time.monotonic())))
        if time.monotonic() < start + t + 30 and any(th.is_alive() for th in threads):
            continue
        t += 30
        with lock:
            lat, stats["lat"] = sorted(stats["lat"]), []
            sent, errors, late = stats["sent"], stats["errors"], stats["late"]
        r = rss(pid)
        samples.append(r.get("VmRSS", 0))
        p50 = lat[len(lat) // 2] * 1000 if lat else 0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0
        print(f"| {t} | {sent:,} | {errors} | {late} | {p50:.2f} | {p99:.2f} | "
              f"{r.get('VmRSS', 0):,} | {r.get('VmHWM', 0):,} |", flush=True)
    for th in threads:
        th.join()
    print(f"soak: {stats['sent']:,} requests, {stats['errors']} errors"
          + (f" ({stats['kinds']})" if stats["kinds"] else "")
          + f", {stats['late']} sent more than 100 ms late")
    if len(samples) >= 3:
        first, last = samples[1], samples[-1]  # after the first 30 s (caches and pools warm)
        print(f"soak: VmRSS {samples[0]:,} kB at 30 s, {first:,} kB at 60 s, {last:,} kB at the end "
              f"({(last - first) / 1024:+.1f} MiB from 60 s on), max {max(samples):,} kB")
    sys.exit(1 if stats["errors"] else 0)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"capture": capture, "summary": summary, "soak": soak}[cmd](*args)
