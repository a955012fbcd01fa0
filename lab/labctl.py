#!/usr/bin/env python3
"""The lab: N Docker containers that boot systemd, each with its own Docker daemon and sshd,
on a user-defined Docker network that plays the underlay.

One definition of a lab host serves `make lab` and every Molecule scenario:

    labctl.py up   --name lab --hosts 3 --inventory inventories/lab/hosts.yml
    labctl.py down --name lab --inventory inventories/lab/hosts.yml
    labctl.py image            # only build the images

Standard library only: it runs before the project's virtual environment exists.
"""

import argparse
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STATE_DIR = os.path.join(ROOT, ".lab")
BASE_IMAGE = "ovsmesh-lab-base:bookworm"
HOST_IMAGE = "ovsmesh-lab-host"
BUSYBOX_IMAGE = "ovsmesh-busybox:latest"
LABEL = "io.ovsmesh.lab"

# The exact flags measured in shared/LAB-NOTES.md: no --privileged (the bounding set lacks
# CAP_SYS_RESOURCE), /dev/net/tun for OVS's userspace datapath, cgroups shared for systemd.
RUN_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--device", "/dev/net/tun",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns=host",
]


def log(msg):
    print("lab: %s" % msg, file=sys.stderr, flush=True)


def run(argv, check=True, capture=True, **kw):
    res = subprocess.run(argv, text=True, capture_output=capture, check=False, **kw)
    if check and res.returncode != 0:
        raise SystemExit("lab: command failed (%d): %s\n%s%s" % (
            res.returncode, " ".join(argv), res.stdout or "", res.stderr or ""))
    return res


def wait_for(what, probe, timeout, interval=0.5):
    """Poll `probe` until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit("lab: timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


# --- the machine's Docker engine ---------------------------------------------------------------

def docker_ok():
    return run(["docker", "info"], check=False).returncode == 0


def ensure_docker():
    """Install and start a Docker engine on this machine when there is none."""
    if docker_ok():
        return
    if not shutil.which("dockerd"):
        log("installing Docker engine (docker.io) from the distribution")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "docker.io"], env=env)
    if docker_ok():
        return
    if os.path.isdir("/run/systemd/system"):
        run(["systemctl", "start", "docker"], check=False)
    else:
        log("starting dockerd in the background (no init system here)")
        with open("/var/log/dockerd.log", "ab") as out:
            subprocess.Popen(["dockerd"], stdout=out, stderr=out, start_new_session=True)
    wait_for("the Docker engine", docker_ok, 60)


# --- images --------------------------------------------------------------------------------------

def apt_mirror():
    """The Debian mirror this machine's apt uses (never written into the project)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as fh:
            text = fh.read()
        for stanza in re.split(r"\n\s*\n", text):
            if re.search(r"^Suites:.*\b(bookworm|stable)\b(?!-)", stanza, re.M) and \
                    "security" not in stanza:
                m = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                if m:
                    return m.group(1)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            with open(path) as fh:
                for line in fh:
                    m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+\s+main", line)
                    if m and "security" not in m.group(1):
                        return m.group(1)
    raise SystemExit("lab: no Debian mirror found in this machine's apt configuration")


def image_exists(ref):
    return run(["docker", "image", "inspect", ref], check=False).returncode == 0


def ensure_debootstrap():
    if not shutil.which("debootstrap"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-qq", "debootstrap"], env=env)


def import_rootfs(rootfs, ref):
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
    run(["docker", "import", "-", ref], stdin=tar.stdout)
    tar.wait()


def ensure_base_image():
    """Debian 12 minbase from the machine's mirror, when no image registry answers."""
    if image_exists(BASE_IMAGE):
        return
    ensure_debootstrap()
    mirror = apt_mirror()
    log("debootstrap bookworm (minbase) from the machine's apt mirror")
    with tempfile.TemporaryDirectory(prefix="ovsmesh-rootfs-") as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        run(["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror])
        import_rootfs(rootfs, BASE_IMAGE)


def host_image_tag():
    with open(os.path.join(HERE, "Dockerfile"), "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:12]
    return "%s:%s" % (HOST_IMAGE, digest)


def ensure_host_image():
    ensure_base_image()
    tag = host_image_tag()
    if not image_exists(tag):
        log("building the lab host image %s" % tag)
        run(["docker", "build", "-q", "--build-arg", "BASE=%s" % BASE_IMAGE, "-t", tag, HERE],
            capture=False, stdout=sys.stderr)
    return tag


def busybox_tarball():
    """A tiny busybox image (from Debian's busybox-static) that lab hosts load into their own
    Docker daemon for test containers: no registry is needed anywhere."""
    path = os.path.join(STATE_DIR, "busybox.tar")
    if os.path.exists(path):
        return path
    os.makedirs(STATE_DIR, exist_ok=True)
    if not image_exists(BUSYBOX_IMAGE):
        tag = ensure_host_image()
        with tempfile.TemporaryDirectory(prefix="ovsmesh-busybox-") as tmp:
            # Build the rootfs inside a throwaway container of the lab image (it has apt).
            script = ("set -e; apt-get update -qq; apt-get install -y -qq busybox-static >/dev/null;"
                      " mkdir -p /out/bin /out/tmp /out/etc; cp /bin/busybox /out/bin/;"
                      " for a in $(/bin/busybox --list); do ln -sf busybox /out/bin/$a; done;"
                      " echo root:x:0:0:root:/root:/bin/sh > /out/etc/passwd")
            run(["docker", "run", "--rm", "-v", "%s:/out" % tmp, tag, "sh", "-c", script])
            import_rootfs(tmp, BUSYBOX_IMAGE)
    run(["docker", "save", "-o", path, BUSYBOX_IMAGE])
    return path


# --- hosts ---------------------------------------------------------------------------------------

def default_subnet(name):
    """A stable /24 per lab name, so several labs (Molecule scenarios) can coexist."""
    n = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 200 + 20
    return "10.250.%d.0/24" % n


def lab_containers(name):
    res = run(["docker", "ps", "-a", "--filter", "label=%s=%s" % (LABEL, name),
               "--format", "{{.Names}}"])
    return sorted(res.stdout.split())


def state_dir(name):
    return os.path.join(STATE_DIR, name)


def ensure_key(name):
    d = state_dir(name)
    os.makedirs(d, mode=0o700, exist_ok=True)
    key = os.path.join(d, "id_ed25519")
    if not os.path.exists(key):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ovsmesh-lab-%s" % name,
             "-f", key])
    return key


def exec_in(container, argv, check=True):
    return run(["docker", "exec", container] + argv, check=check)


def boot_state(container):
    res = exec_in(container, ["systemctl", "is-system-running"], check=False)
    state = res.stdout.strip()
    return state if state in ("running", "degraded") else None


def ssh_ok(key, ip):
    return run(ssh_argv(key, ip) + ["true"], check=False).returncode == 0


def ssh_argv(key, ip):
    return ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=3", "root@%s" % ip]


def host_names(name, count):
    return ["%s-h%d" % (name, i) for i in range(1, count + 1)]


def up(name, count, subnet, inventory, group):
    ensure_docker()
    tag = ensure_host_image()
    subnet = subnet or default_subnet(name)
    net = ipaddress.ip_network(subnet)
    netname = "%s-underlay" % name
    if run(["docker", "network", "inspect", netname], check=False).returncode != 0:
        run(["docker", "network", "create", "--label", "%s=%s" % (LABEL, name),
             "--subnet", subnet, netname])
    key = ensure_key(name)
    with open(key + ".pub") as fh:
        pubkey = fh.read().strip()
    hosts = {}
    addrs = list(net.hosts())
    for index, host in enumerate(host_names(name, count), start=10):
        ip = str(addrs[index - 1])
        hosts[host] = ip
        if run(["docker", "inspect", host], check=False).returncode == 0:
            state = run(["docker", "inspect", "-f", "{{.State.Status}}", host]).stdout.strip()
            if state == "paused":
                run(["docker", "unpause", host])
            elif state != "running":
                run(["docker", "start", host])
            continue
        log("starting %s (%s)" % (host, ip))
        run(["docker", "run", "-d", "--name", host, "--hostname", host,
             "--label", "%s=%s" % (LABEL, name), "--network", netname, "--ip", ip]
            + RUN_FLAGS + [tag, "/lib/systemd/systemd"])
    for host, ip in hosts.items():
        wait_for("%s to boot systemd" % host, lambda h=host: boot_state(h), 120)
        exec_in(host, ["sh", "-c", "umask 077; mkdir -p /root/.ssh; "
                       "grep -qxF '%s' /root/.ssh/authorized_keys 2>/dev/null || "
                       "echo '%s' >> /root/.ssh/authorized_keys" % (pubkey, pubkey)])
        wait_for("ssh on %s (%s)" % (host, ip), lambda i=ip: ssh_ok(key, i), 60)
        wait_for("dockerd on %s" % host,
                 lambda h=host: exec_in(h, ["docker", "info"], check=False).returncode == 0, 120)
    load_busybox(hosts)
    if inventory:
        write_inventory(inventory, hosts, key, group)
    log("%d lab host(s) up on %s: %s" % (len(hosts), subnet, ", ".join(
        "%s=%s" % kv for kv in hosts.items())))
    return hosts


def load_busybox(hosts):
    """Give every lab host's Docker the busybox image (no registry is reachable from a lab host)."""
    tarball = busybox_tarball()
    for host in hosts:
        if exec_in(host, ["docker", "image", "inspect", BUSYBOX_IMAGE], check=False).returncode == 0:
            continue
        run(["docker", "cp", tarball, "%s:/tmp/ovsmesh-busybox.tar" % host])
        exec_in(host, ["sh", "-c", "docker load -q -i /tmp/ovsmesh-busybox.tar && rm -f /tmp/ovsmesh-busybox.tar"])


def write_inventory(path, hosts, key, group):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    lines = ["# Written by lab/labctl.py up: the lab hosts, reached over SSH on their underlay",
             "# address as in production. Removed by `make lab-down`.",
             "all:", "  children:", "    %s:" % group, "      hosts:"]
    for host, ip in hosts.items():
        lines += ["        %s:" % host, "          ansible_host: %s" % ip]
    lines += ["  vars:", "    ansible_user: root",
              "    ansible_ssh_private_key_file: %s" % os.path.abspath(key),
              "    ansible_ssh_common_args: >-",
              "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
              "    ansible_python_interpreter: /usr/bin/python3", ""]
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines))
    os.replace(tmp, path)


def down(name, inventory):
    if not docker_ok():
        log("no Docker engine answers: nothing to remove")
    else:
        names = lab_containers(name)
        if names:
            run(["docker", "rm", "-f", "-v"] + names)
        res = run(["docker", "network", "ls", "-q", "--filter", "label=%s=%s" % (LABEL, name)])
        for net in res.stdout.split():
            run(["docker", "network", "rm", net])
    shutil.rmtree(state_dir(name), ignore_errors=True)
    # The last lab gone: the busybox tarball cache goes too (the images stay in Docker).
    if os.path.isdir(STATE_DIR) and not any(os.path.isdir(os.path.join(STATE_DIR, d)) for d in os.listdir(STATE_DIR)):
        shutil.rmtree(STATE_DIR, ignore_errors=True)
    if inventory and os.path.exists(inventory):
        os.remove(inventory)
    log("lab %s removed" % name)


def status(name):
    res = run(["docker", "ps", "-a", "--filter", "label=%s=%s" % (LABEL, name),
               "--format", "{{.Names}}\t{{.Status}}\t{{.Networks}}"])
    print(res.stdout, end="")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("action", choices=["up", "down", "status", "image", "busybox", "ssh"])
    p.add_argument("--name", default=os.environ.get("LAB_NAME", "lab"))
    p.add_argument("--hosts", type=int, default=int(os.environ.get("LAB_HOSTS", "3")))
    p.add_argument("--subnet", default=os.environ.get("LAB_SUBNET"))
    p.add_argument("--inventory")
    p.add_argument("--group", default="mesh")
    p.add_argument("--json", action="store_true", help="print the hosts as JSON (up)")
    p.add_argument("host", nargs="?")
    a = p.parse_args(argv)
    if a.action == "up":
        if not 1 <= a.hosts <= 200:
            p.error("--hosts must be between 1 and 200")
        hosts = up(a.name, a.hosts, a.subnet, a.inventory, a.group)
        if a.json:
            print(json.dumps({"hosts": hosts, "key": os.path.abspath(ensure_key(a.name))}))
    elif a.action == "down":
        down(a.name, a.inventory)
    elif a.action == "status":
        status(a.name)
    elif a.action == "image":
        ensure_docker()
        print(ensure_host_image())
    elif a.action == "busybox":
        ensure_docker()
        print(busybox_tarball())
    return 0


if __name__ == "__main__":
    sys.exit(main())
