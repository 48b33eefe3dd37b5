"""Load figures for docs/serve.md: `m2v-cli serve` against model2vec 0.10 behind
FastAPI/uvicorn (scripts/serve_python.py), both on the same model, in one run.

For single-sentence and 32-sentence requests, each server gets a rising series of fixed
offered rates from the open-loop generator (`cargo run --release -p m2v-serve --example
load`); a series stops once a server falls behind (achieved < 95% of offered, or p99
over 100 ms). Servers alternate at each rate. Then m2v alone is pushed past capacity
with 32-sentence requests and a small queue, to see 429s and flat memory.

    ~/.cache/m2v/pyenv/bin/python scripts/serve_load.py --m2v-cli target/release/m2v-cli \
        --load target/release/examples/load --model PATH/TO/potion-base-8M [--seconds 8]

Peak memory is VmHWM from /proc (summed over uvicorn's worker processes).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

STS = os.path.join(os.path.dirname(__file__), "../../shared/data/stsbenchmark/sts-test.csv")


def sentences(n):
    out = []
    path = STS
    for cand in [path, "/work/shared/data/stsbenchmark/sts-test.csv"]:
        if os.path.exists(cand):
            path = cand
            break
    with open(path, encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                out.append(cols[5])
            if len(out) >= n:
                break
    return out


def wait_ready(url, proc, timeout=120):
    t = time.time()
    while time.time() - t < timeout:
        if proc.poll() is not None:
            sys.exit(f"server exited early ({proc.returncode})")
        try:
            body = json.dumps({"input": "warm up", "model": "potion-base-8M"}).encode()
            req = urllib.request.Request(url + "/v1/embeddings", body, {"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} not ready after {timeout} s")


def tree_pids(pid):
    pids = [pid]
    try:
        for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
            pids += tree_pids(int(child))
    except OSError:
        pass
    return pids


def peak_rss_mib(pid):
    total = 0
    for p in tree_pids(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def rss_mib(pid):
    total = 0
    for p in tree_pids(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def load(gen, url, body_file, rate, seconds, conns):
    out = subprocess.run([gen, url + "/v1/embeddings", body_file, str(rate), str(seconds), str(conns)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m2v-cli", required=True)
    ap.add_argument("--load", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--single-rates", default="500,1000,2000,5000,10000,20000,30000,40000,50000")
    ap.add_argument("--batch-rates", default="100,200,500,1000,2000,3000,4000,5000")
    ap.add_argument("--json", default="serve-load.json")
    a = ap.parse_args()

    texts = sentences(32)
    bodies = {}
    for name, inp in [("single", texts[0]), ("batch32", texts)]:
        path = f"/tmp/serve-load-{name}.json"
        with open(path, "w") as f:
            json.dump({"input": inp, "model": "potion-base-8M"}, f)
        bodies[name] = path

    env = dict(os.environ, M2V_MODEL=a.model, HF_HUB_OFFLINE="1")
    servers = {
        "m2v": subprocess.Popen([a.m2v_cli, "serve", "--model", f"potion-base-8M={a.model}", "--port", "8071"],
                                stdout=subprocess.DEVNULL, env=env),
        "python": subprocess.Popen([a.python, "-m", "uvicorn", "serve_python:app", "--app-dir",
                                    os.path.dirname(os.path.abspath(__file__)), "--port", "8072",
                                    "--workers", str(a.workers), "--no-access-log", "--log-level", "warning"],
                                   env=env),
    }
    urls = {"m2v": "http://127.0.0.1:8071", "python": "http://127.0.0.1:8072"}
    results = {"cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
               "workers": a.workers, "runs": []}
    try:
        for s in servers:
            wait_ready(urls[s], servers[s])
        for kind, rates, conns in [("single", a.single_rates, 32), ("batch32", a.batch_rates, 16)]:
            alive = {"m2v": True, "python": True}
            for rate in [int(r) for r in rates.split(",")]:
                for s in ["m2v", "python"]:
                    if not alive[s]:
                        continue
                    r = load(a.load, urls[s], bodies[kind], rate, a.seconds, conns)
                    r.update(server=s, kind=kind, rss_mib=rss_mib(servers[s].pid))
                    results["runs"].append(r)
                    print(json.dumps(r), flush=True)
                    if r["achieved_rps"] < 0.95 * rate or r["p99_ms"] > 100:
                        alive[s] = False
                if not any(alive.values()):
                    break
        for s in servers:
            results[f"peak_rss_mib_{s}"] = peak_rss_mib(servers[s].pid)
    finally:
        for p in servers.values():
            p.send_signal(signal.SIGTERM)
        for p in servers.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    results["m2v_exit_on_sigterm"] = servers["m2v"].returncode

    # Overload: m2v alone, a small queue, far more 32-sentence requests than it can take.
    srv = subprocess.Popen([a.m2v_cli, "serve", "--model", f"potion-base-8M={a.model}", "--port", "8073",
                            "--max-queue", "256"], stdout=subprocess.DEVNULL, env=env)
    try:
        wait_ready("http://127.0.0.1:8073", srv)
        before = rss_mib(srv.pid)
        over = []
        for rate in [20000, 40000]:
            r = load(a.load, "http://127.0.0.1:8073", bodies["batch32"], rate, a.seconds, 64)
            r.update(rss_mib=rss_mib(srv.pid))
            over.append(r)
            print("overload", json.dumps(r), flush=True)
        results["overload"] = {"rss_before_mib": before, "runs": over, "peak_rss_mib": peak_rss_mib(srv.pid)}
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait(timeout=20)
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
