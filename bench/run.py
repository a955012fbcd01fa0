#!/usr/bin/env python3
# Copyright (c) 2026, ovsmesh maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks of issue 3 (`make bench`; not part of `make test`). See bench/README.md.

    run.py speed     [--runs 5]    one lab host: 50 tunnels, ovsmesh.overlay vs openvswitch.openvswitch
    run.py failover  [--runs 5]    three lab hosts, full GRE mesh: outage when the root host freezes
    run.py           (both, one lab at a time)

Results go to bench/results/ (JSON and a Markdown table); the table is printed too.
Each part brings up its own lab (`bench`) and removes it at the end unless --keep is given.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
LABCTL = [sys.executable, os.path.join(ROOT, "lab", "labctl.py")]
LAB = "bench"
BIN = os.path.dirname(os.path.abspath(sys.executable))  # the project's venv (make bench runs $(BIN)/python)
PEER_VENV = os.path.join(HERE, ".venv-peer")
PEER_ANSIBLE = "10.7.0"  # the last `ansible` release that ships openvswitch.openvswitch
TUNNELS = 50
CALL_LOG = "/run/ovsmesh-bench/ovs-vsctl.log"  # written by the wrapper of setup.yml
METRICS = [  # speed: key of a sample, what the table calls it
    ("seconds", "wall s (ansible-playbook)"),
    ("tasks", "task s (tasks only)"),
    ("control_cpu", "CPU s, control node"),
    ("host_cpu", "CPU s, lab host"),
    ("ovs_vsctl", "ovs-vsctl processes"),
]

# Failover: endpoint 10.99.0.N in netns `ep` on br0 of host N; host 1 is the spanning-tree root
# and gets frozen, host 2 pings host 3 every PING_INTERVAL seconds.
PING_INTERVAL = 0.1
VARIANTS = [  # name, role variables, ping window (s), settle time after unfreezing (s)
    ("defaults (rstp + bfd 300 ms)", {}, 15, 10),
    ("rstp + bfd 100 ms", {"ovsmesh_bfd_interval": 100}, 15, 10),
    # Named without "bfd", so that `--only bfd` selects the two variants above.
    ("rstp alone", {"ovsmesh_stp": "rstp", "ovsmesh_bfd": False}, 20, 10),
    ("stp (classic)", {"ovsmesh_stp": "stp", "ovsmesh_bfd": False}, 90, 75),
]
FREEZE_AFTER = 3.0  # seconds of steady pings before the root is frozen


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def run(argv, check=True, env=None, capture=True):
    res = subprocess.run(argv, text=True, capture_output=capture, env=env, cwd=ROOT, check=False)
    if check and res.returncode != 0:
        raise SystemExit("bench: failed (%d): %s\n%s%s" % (res.returncode, " ".join(argv),
                                                           res.stdout or "", res.stderr or ""))
    return res


def ansible_env():
    # ansible.cfg of the checkout: collections_path finds ovsmesh.overlay, pipelining, ControlPersist.
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0")


def playbook(bindir, inventory, path, extra=None):
    """Run ansible-playbook of the venv ``bindir`` with the JSON callback.

    Returns (wall seconds, seconds spent in the tasks, CPU seconds of the control node's
    ansible-playbook process tree, stats of all hosts summed).
    """
    argv = [os.path.join(bindir, "ansible-playbook"), "-i", inventory, path]
    if extra:
        argv += ["-e", json.dumps(extra)]
    env = dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cpu, start = children_cpu(), time.monotonic()
    res = run(argv, check=False, env=env)
    seconds, cpu = time.monotonic() - start, children_cpu() - cpu
    try:
        report = json.loads(res.stdout)
    except ValueError:
        raise SystemExit("bench: %s printed no JSON report (rc %d):\n%s%s"
                         % (path, res.returncode, res.stdout[-3000:], res.stderr[-3000:]))
    stats = {}
    for host_stats in report["stats"].values():
        for key, value in host_stats.items():
            stats[key] = stats.get(key, 0) + value
    task_seconds, failures = 0.0, []
    for play in report["plays"]:
        for task in play["tasks"]:
            duration = task["task"]["duration"]
            task_seconds += (stamp(duration["end"]) - stamp(duration["start"]))
            failures += ["%s on %s: %s" % (task["task"]["name"], name, result.get("msg"))
                         for name, result in task["hosts"].items() if result.get("failed") or result.get("unreachable")]
    if res.returncode != 0 or stats.get("failures") or stats.get("unreachable"):
        raise SystemExit("bench: %s failed (rc %d):\n%s\n%s" % (path, res.returncode, "\n".join(failures),
                                                                res.stderr[-2000:]))
    return seconds, task_seconds, cpu, stats


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def host_cpu(n):
    """CPU seconds used so far by everything in lab host n (its container's cgroup), or None."""
    cid = run(["docker", "inspect", "-f", "{{.Id}}", host(n)]).stdout.strip()
    for path, scale in (("/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage" % cid, 1e-9),  # cgroup v1
                        ("/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat" % cid, 1e-6)):  # v2
        if os.path.exists(path):
            with open(path) as fh:
                text = fh.read()
            value = re.search(r"usage_usec (\d+)", text).group(1) if "usage_usec" in text else text
            return int(value) * scale
    return None


def stamp(text):
    """Seconds of a callback time stamp like 2026-01-02T03:04:05.678901Z."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def lab_up(hosts, inventory):
    run(LABCTL + ["up", "--name", LAB, "--hosts", str(hosts), "--inventory", inventory], capture=False)


def lab_down(inventory):
    run(LABCTL + ["down", "--name", LAB, "--inventory", inventory], check=False, capture=False)


def host(n):
    return "%s-h%d" % (LAB, n)


def on(n, script, check=True):
    """Run a shell script on lab host n through `docker exec` (setup and measurement, not timed)."""
    return run(["docker", "exec", host(n), "sh", "-c", script], check=check)


def write(name, text):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def table(headers, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows]) + "\n"


# --- speed -----------------------------------------------------------------------------------

def ensure_peer_venv():
    """bench/.venv-peer with ansible 10.7.0 (ansible-core 2.17 and openvswitch.openvswitch 2.1.1)."""
    bindir = os.path.join(PEER_VENV, "bin")
    probe = [os.path.join(bindir, "python"), "-c",
             "import importlib.metadata as m; print(m.version('ansible'))"]
    if os.path.exists(probe[0]) and run(probe, check=False).stdout.strip() == PEER_ANSIBLE:
        return bindir
    log("creating %s with ansible==%s" % (PEER_VENV, PEER_ANSIBLE))
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    run(["python3", "-m", "venv", PEER_VENV])
    run([os.path.join(bindir, "pip"), "install", "-q", "ansible==%s" % PEER_ANSIBLE], capture=False)
    return bindir


def ovs_calls():
    """Number of ovs-vsctl processes logged since the last reset (and reset the log)."""
    out = on(1, "c=$(cat %s 2>/dev/null | wc -l); : > %s; echo $c" % (CALL_LOG, CALL_LOG)).stdout
    return int(out.strip())


def speed(runs, keep):
    peer_bin = ensure_peer_venv()
    inventory = os.path.join(RESULTS, "hosts.yml")
    tunnels = ["  - {name: gre-b%d, remote_ip: 198.51.100.%d}" % (i, i) for i in range(1, TUNNELS + 1)]
    write("tunnels.yml", "---\n# %d tunnels to TEST-NET-2 addresses (written by bench/run.py)\n"
          "bench_tunnels:\n%s\n" % (TUNNELS, "\n".join(tunnels)))
    lab_up(1, inventory)
    try:
        log("installing Open vSwitch and the ovs-vsctl counter on %s" % host(1))
        playbook(BIN, inventory, os.path.join(HERE, "setup.yml"))
        idle = host_cpu(1)
        time.sleep(5)
        idle = None if idle is None else round((host_cpu(1) - idle) / 5, 3)
        contenders = [
            ("ovsmesh.overlay", BIN, os.path.join(HERE, "speed-ovsmesh.yml")),
            ("openvswitch.openvswitch", peer_bin, os.path.join(HERE, "speed-peer.yml")),
        ]
        samples = dict(((name, phase), []) for name, _, _ in contenders for phase in ("apply", "noop"))
        for index in range(1, runs + 1):
            for name, bindir, path in contenders:  # interleaved, so drift hits both alike
                on(1, "ovs-vsctl --if-exists del-br br0")
                # Open the SSH master connection outside the timing (ControlPersist keeps it).
                run([os.path.join(bindir, "ansible"), "-i", inventory, "all", "-m", "ansible.builtin.raw",
                     "-a", "true"], env=ansible_env())
                ovs_calls()
                for phase in ("apply", "noop"):
                    before = host_cpu(1)
                    seconds, task_seconds, cpu, stats = playbook(bindir, inventory, path)
                    after = host_cpu(1)
                    calls = ovs_calls()
                    if bool(stats["changed"]) != (phase == "apply") or calls == 0:
                        raise SystemExit("bench: %s %s run %d: changed=%d with %d ovs-vsctl calls"
                                         % (name, phase, index, stats["changed"], calls))
                    samples[(name, phase)].append({
                        "seconds": round(seconds, 3), "tasks": round(task_seconds, 3), "control_cpu": round(cpu, 3),
                        "host_cpu": None if before is None else round(after - before, 3),
                        "ovs_vsctl": calls, "changed": stats["changed"]})
                    log("run %d %-24s %-5s %6.2f s (tasks %5.2f s) cpu %5.2f + %s s %4d ovs-vsctl  changed=%d"
                        % (index, name, phase, seconds, task_seconds, cpu, samples[(name, phase)][-1]["host_cpu"],
                           calls, stats["changed"]))
        check = on(1, "ovs-vsctl get Bridge br0 rstp_enable datapath_type; ovs-vsctl get Interface br0 "
                      "mtu_request; ovs-vsctl list-ports br0 | wc -l").stdout.split()
        versions = {"ovsmesh": run([os.path.join(BIN, "ansible"), "--version"]).stdout.splitlines()[0],
                    "peer": run([os.path.join(peer_bin, "ansible"), "--version"]).stdout.splitlines()[0]}
    finally:
        if not keep:
            lab_down(inventory)

    rows, summary = [], {}
    for phase, label in (("apply", "first apply"), ("noop", "re-run, no change")):
        ours, peer = samples[("ovsmesh.overlay", phase)], samples[("openvswitch.openvswitch", phase)]
        for key, what in METRICS:
            if None in [x[key] for x in ours + peer]:
                continue
            # Runs are paired (run i of both, back to back): the speed-up is the median of the pairs' ratios.
            ratios = [b[key] / a[key] for a, b in zip(ours, peer) if a[key]]
            item = {"ovsmesh": statistics.median(x[key] for x in ours),
                    "peer": statistics.median(x[key] for x in peer),
                    "ratio": round(statistics.median(ratios), 1)}
            summary["%s/%s" % (phase, key)] = item
            number = "%d" if key == "ovs_vsctl" else "%.2f"
            rows.append([label, what, number % item["ovsmesh"], number % item["peer"], "%.1fx" % item["ratio"]])
    text = ("Speed: bridge (netdev, RSTP, MTU 1462) + %d GRE tunnels on one lab host; medians of %d runs\n"
            "ovsmesh.overlay: %s; openvswitch.openvswitch: %s (ansible %s)\n"
            "state after the last run (rstp_enable, datapath_type, mtu_request, ports): %s\n"
            "idle CPU of the lab host: %s s per s\n\n"
            % (TUNNELS, runs, versions["ovsmesh"], versions["peer"], PEER_ANSIBLE, " ".join(check), idle)
            + table(["", "measure", "ovsmesh.overlay", "openvswitch.openvswitch", "speed-up"], rows)
            + "\nspeed-up: median over the runs of (peer / ovsmesh), each run's two measurements back to back.\n")
    write("speed.json", json.dumps({"runs": runs, "tunnels": TUNNELS, "versions": versions, "idle_cpu": idle,
                                    "final_state": check, "summary": summary,
                                    "samples": dict(("%s/%s" % k, v) for k, v in samples.items())},
                                   indent=2) + "\n")
    write("speed.md", text)
    print(text)



# --- failover --------------------------------------------------------------------------------

def ensure_endpoint(n):
    """netns `ep` with 10.99.0.n/24 on a veth whose other end is a port of br0 (idempotent)."""
    on(n, "ip netns add ep 2>/dev/null; ip link show ep-h >/dev/null 2>&1 || "
          "ip link add ep-h type veth peer name ep-n netns ep; ip link set ep-h up; "
          "ovs-vsctl --may-exist add-port br0 ep-h; ip -n ep addr replace 10.99.0.%d/24 dev ep-n; "
          "ip -n ep link set lo up; ip -n ep link set ep-n up" % n)


def ping_once(src, dst):
    return on(src, "ip netns exec ep ping -c 1 -W 1 10.99.0.%d >/dev/null" % dst, check=False).returncode == 0


def wait_steady(seconds, timeout):
    """Wait until host 2 reaches host 3 for ``seconds`` without a loss (the tree has settled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = on(2, "ip netns exec ep ping -q -i %s -c %d -W 1 10.99.0.3" % (PING_INTERVAL, seconds / PING_INTERVAL),
                 check=False)
        if res.returncode == 0 and " 0% packet loss" in res.stdout:
            return
        time.sleep(1)
    raise SystemExit("bench: host 2 does not reach host 3 steadily after %d s" % timeout)


def parse_ping(text, freeze_at):
    """From `ping -D` output: (outage seconds, replies lost). The outage is the longest gap
    between two replies after the freeze, less one interval; None if no reply came back."""
    stamps = [float(m) for m in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", text, re.M)]
    sent = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    lost = int(sent.group(1)) - int(sent.group(2)) if sent else None
    before = [t for t in stamps if t <= freeze_at]
    after = [t for t in stamps if t > freeze_at]
    if not before or not after:
        return None, lost
    gaps = [b - a for a, b in zip([before[-1]] + after, after)]
    return max(0.0, max(gaps) - PING_INTERVAL), lost


def spanning_tree_root(stp):
    """Which host says it is the root of br0's tree (ovs-appctl rstp/show or stp/show)."""
    command = "ovs-appctl %s/show br0" % ("rstp" if stp == "rstp" else "stp")
    return [n for n in (1, 2, 3) if "This bridge is the root" in on(n, command, check=False).stdout]


def measure(window):
    # A count, not a deadline: with -w, ping stops at its first error (a failed ARP after ~40 s).
    count = int(window / PING_INTERVAL)
    ping = subprocess.Popen(["docker", "exec", host(2), "ip", "netns", "exec", "ep", "ping", "-D", "-i",
                             str(PING_INTERVAL), "-W", "1", "-c", str(count), "10.99.0.3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(FREEZE_AFTER)
    freeze_at = time.time()
    run(["docker", "pause", host(1)])
    try:
        out = ping.communicate(timeout=2 * window + 30)[0]  # ping runs late under load
    finally:
        run(["docker", "unpause", host(1)], check=False)
    return parse_ping(out, freeze_at) + (out,)


def failover(runs, stp_runs, keep, only=None):
    mesh_dir = os.path.join(RESULTS, "mesh")
    inventory = os.path.join(mesh_dir, "hosts.yml")
    shutil.rmtree(mesh_dir, ignore_errors=True)
    # The lab's own group_vars (userspace datapath, br-phy underlay), next to the bench inventory.
    shutil.copytree(os.path.join(ROOT, "inventories", "lab", "group_vars"), os.path.join(mesh_dir, "group_vars"))
    variants = [v for v in VARIANTS if not only or only in v[0]]
    if not variants:
        raise SystemExit("bench: --only %r matches none of: %s" % (only, ", ".join(v[0] for v in VARIANTS)))
    lab_up(3, inventory)
    results = []
    try:
        for name, variables, window, settle in variants:
            extra = dict(variables, ovsmesh_stp_root=host(1))
            log("%s: site.yml with %s" % (name, json.dumps(extra)))
            playbook(BIN, inventory, os.path.join(ROOT, "site.yml"), extra)
            for n in (1, 2, 3):
                ensure_endpoint(n)
            state = on(2, "ovs-vsctl get Bridge br0 stp_enable rstp_enable; "
                          "for p in $(ovs-vsctl list-ports br0); do ovs-vsctl --if-exists get Interface $p "
                          "bfd:enable; done").stdout.split()
            log("%s: host 2 stp_enable, rstp_enable, bfd:enable per port: %s" % (name, " ".join(state)))
            wait_steady(3, 180)
            stp = variables.get("ovsmesh_stp", "rstp")  # the role's default
            roots = spanning_tree_root(stp)
            if roots != [1]:
                raise SystemExit("bench: %s: the root of the tree is %s, not host 1" % (name, roots))
            samples, load = [], [os.getloadavg()[0]]
            for index in range(1, (stp_runs if stp == "stp" else runs) + 1):
                outage, lost, out = measure(window)
                write("ping-%s-%d.txt" % (re.sub(r"\W+", "-", name).strip("-"), index), out)
                samples.append({"outage_s": None if outage is None else round(outage, 2), "lost": lost})
                log("%s run %d: outage %s s, %s replies lost" % (name, index,
                    "> %d" % window if outage is None else "%.2f" % outage, lost))
                time.sleep(settle)  # host 1 is back: let the tree (and the root) return
                wait_steady(3, 180)
                load.append(os.getloadavg()[0])
            outages = [s["outage_s"] for s in samples]
            med = statistics.median(outages) if None not in outages else None
            results.append({"variant": name, "variables": extra, "samples": samples, "median_s": med,
                            "bridge_state_host2": state,
                            # 1-minute load average of the machine, before the first run and after each run
                            "load_1min": [round(x, 1) for x in load]})
    finally:
        if not keep:
            lab_down(inventory)

    rows = [[r["variant"], "%.2f" % r["median_s"] if r["median_s"] is not None else "no recovery",
             " ".join("%.2f" % s["outage_s"] if s["outage_s"] is not None else "-" for s in r["samples"]),
             len(r["samples"]), "%.1f-%.1f" % (min(r["load_1min"]), max(r["load_1min"]))] for r in results]
    text = ("Failover: 3 lab hosts, full GRE mesh (ovs_mesh role, netdev), root host 1 frozen with\n"
            "docker pause, host 2 pings host 3 every %.1f s; outage = longest gap between replies - %.1f s\n\n"
            % (PING_INTERVAL, PING_INTERVAL)
            + table(["variant", "median outage s", "runs (s)", "n", "load (1 min)"], rows))
    write("failover.json", json.dumps(results, indent=2) + "\n")
    write("failover.md", text)
    print(text)

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("part", nargs="?", choices=["speed", "failover", "all"], default="all")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (speed, fast failover)")
    parser.add_argument("--stp-runs", type=int, default=3, help="runs of the classic STP failover")
    parser.add_argument("--keep", action="store_true", help="leave the lab up at the end")
    parser.add_argument("--only", help="failover: only the variants whose name contains this")
    args = parser.parse_args(argv)
    if args.part in ("speed", "all"):
        speed(args.runs, args.keep and args.part == "speed")
    if args.part in ("failover", "all"):
        failover(args.runs, args.stp_runs, args.keep, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
