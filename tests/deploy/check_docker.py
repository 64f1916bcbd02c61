#!/usr/bin/env python3
"""Validates docker/ as far as a machine without a Docker engine allows (docs/deploy.md says what that is).

Usage: check_docker.py DUTYDESK DUTYDESK_SIM [--build-dir DIR | --no-build]

- Both compose files pass `docker-compose config` (Debian's docker-compose 1.29, no daemon needed); compose.yaml
  refuses to start without its required variables and names them.
- Every file a compose file mounts exists; every ${NAME} of a mounted dutydesk config is provided to its service;
  each config passes `dutydesk check-config` with the service's environment.
- Ports and paths agree: published ports and EXPOSE vs http.listen/metrics.listen, the HEALTHCHECK URL, the
  Prometheus target, the Grafana datasource and dashboard paths, the simulator's listen ports vs the URLs dutydesk is
  given, the webhook secret vs the simulator's seed.
- The simulator service's command, its healthcheck and the sim-webhook step run here against dutydesk-sim (the
  addresses moved to 127.0.0.1 and free ports); the webhook then points at the dutydesk service, secret kept.
- dutydesk's entrypoint in compose.yaml runs here (paths moved to a temp dir): it sources the bot's env file.
- The Dockerfile: its build stage's packages cover the build packages of scripts/setup.sh; its cmake commands run
  here (unless --no-build) and the binaries they build load only libraries that the runtime stage's packages (and
  their Depends, from apt) provide; the runtime list holds nothing unneeded; COPY sources exist; the user is not root.

Prints "ok - ..." / "not ok - ...: why" per check and ends with "N passed, M failed" (exit 1 when M > 0).
"""
import json
import os
import re
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKER = os.path.join(ROOT, "docker")
passed = 0
failed = 0


def check(name, ok, why=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}: {why}")
    sys.stdout.flush()
    return ok


def run(cmd, env=None, cwd=None, timeout=60):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def compose_config(file, env_file=None):
    cmd = ["docker-compose"]
    if env_file:
        cmd += ["--env-file", env_file]
    cmd += ["-f", file, "config"]
    # An empty environment apart from PATH: the files must not depend on the caller's variables.
    return run(cmd, env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}, cwd=DOCKER)


def listen_port(cfg, key):
    listen = (cfg.get(key) or {}).get("listen", "")
    return int(listen.rsplit(":", 1)[1]) if ":" in listen else None


def listen_host(cfg, key):
    return (cfg.get(key) or {}).get("listen", "").rsplit(":", 1)[0]


def env_names(text):
    return set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def container_ports(service):
    out = set()
    for p in service.get("ports", []):
        spec = p if isinstance(p, str) else f"{p.get('published')}:{p.get('target')}"
        out.add(int(spec.split("/")[0].rsplit(":", 1)[1]))
    return out


def host_bindings(service):
    return [p.split(":")[0] for p in service.get("ports", []) if isinstance(p, str) and p.count(":") == 2]


def mounts(service):
    for v in service.get("volumes", []):
        if isinstance(v, str):
            parts = v.split(":")
            yield parts[0], parts[1]
        else:
            yield v.get("source"), v.get("target")


def url_host_port(url):
    m = re.match(r"^[a-z]+://(?:[^@/]*@)?([^:/]+):(\d+)", url)
    return (m.group(1), int(m.group(2))) if m else (None, None)


def check_config(dutydesk, path, env, name):
    full = {"PATH": os.environ["PATH"], **env}
    r = run([dutydesk, "check-config", "--config", path], env=full)
    return check(name, r.returncode == 0, (r.stdout + r.stderr).strip()[:400])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_line_matching(proc, prefix, deadline):
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        for line in buf.decode(errors="replace").splitlines():
            if line.startswith(prefix):
                return line
    return None


def dockerfile_stages(text):
    """{stage: [instructions]}, each instruction one logical line (continuations joined, comments dropped)."""
    stages, current, logical = {}, None, ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        logical += (" " if logical else "") + line.rstrip("\\").strip()
        if line.endswith("\\"):
            continue
        m = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", logical, re.I)
        if m:
            current = m.group(1)
            stages[current] = []
        elif current:
            stages[current].append(logical)
        logical = ""
    return stages


def apt_packages(instructions):
    pkgs = []
    for ins in instructions:
        if ins.startswith("RUN") and "apt-get install" in ins:
            tail = ins.split("apt-get install", 1)[1].split("&&", 1)[0]
            pkgs += [w for w in tail.split() if not w.startswith("-")]
    return pkgs


def owning_package(path):
    real = os.path.realpath(path)
    candidates = [real, path]
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for c in candidates:
        r = run(["dpkg", "-S", c])
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


def apt_closure(pkgs):
    """The packages and everything they Depend or Pre-Depend on, recursively (apt-cache, offline)."""
    r = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
             "--no-breaks", "--no-replaces", "--no-enhances", *pkgs])
    out = set(pkgs)
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith(("Depends:", "PreDepends:")):
            line = line.split(":", 1)[1].strip()
        if line and not line.startswith("<") and " " not in line:
            out.add(line.split(":")[0])
    return out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    dutydesk, sim = os.path.abspath(args[0]), os.path.abspath(args[1])
    build_dir = os.path.join(ROOT, "build-image")
    do_build = True
    if "--no-build" in args:
        do_build = False
    if "--build-dir" in args:
        build_dir = os.path.abspath(args[args.index("--build-dir") + 1])

    tmp = tempfile.mkdtemp(prefix="check_docker.")
    procs = []
    try:
        body(dutydesk, sim, build_dir, do_build, tmp, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def body(dutydesk, sim, build_dir, do_build, tmp, procs):
    env_example = os.path.join(DOCKER, ".env.example")
    example_env = {}
    for line in open(env_example):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            example_env[k] = v

    # --- compose files -------------------------------------------------------------------------------------------
    r = compose_config("compose.sim.yaml")
    check("docker-compose config: compose.sim.yaml is valid with no variables set", r.returncode == 0, r.stderr[-400:])
    sim_stack = yaml.safe_load(r.stdout) if r.returncode == 0 else {"services": {}}
    r = compose_config("compose.yaml", env_example)
    check("docker-compose config: compose.yaml is valid with docker/.env.example", r.returncode == 0, r.stderr[-400:])
    real_stack = yaml.safe_load(r.stdout) if r.returncode == 0 else {"services": {}}
    r = compose_config("compose.yaml")
    check("compose.yaml without docker/.env stops with the name of a missing variable",
          r.returncode != 0 and "set RC_ADMIN_PASSWORD in docker/.env" in r.stderr, r.stderr[-300:])

    stacks = {"compose.sim.yaml": sim_stack, "compose.yaml": real_stack}
    # What a service's environment holds when it runs: its `environment`, plus for dutydesk in compose.yaml the
    # variables its entrypoint sources from rocketchat-init's env file.
    init_env = (real_stack["services"].get("rocketchat-init") or {}).get("environment", {})
    bot_env_file = init_env.get("RC_ENV_FILE", "")

    configs = {}
    for fname, stack in stacks.items():
        services = stack["services"]
        for sname, svc in services.items():
            for src, target in mounts(svc):
                if src and src.startswith("/"):
                    check(f"{fname}: {sname} mounts {os.path.relpath(src, ROOT)}, which exists", os.path.exists(src),
                          "no such file")
            for h in host_bindings(svc):
                check(f"{fname}: {sname} publishes its ports on loopback only", h == "127.0.0.1", f"bound to {h}")
        dd = services.get("dutydesk", {})
        cmd = dd.get("command", [])
        cfg_path_in = cmd[cmd.index("--config") + 1] if "--config" in cmd else None
        host_cfg = next((src for src, t in mounts(dd) if t == cfg_path_in), None)
        if not check(f"{fname}: dutydesk's --config file is mounted from docker/", host_cfg is not None,
                     f"{cfg_path_in} is not a mount target"):
            continue
        text = open(host_cfg).read()
        cfg = yaml.safe_load(text)
        configs[fname] = (host_cfg, cfg)
        env = dict(dd.get("environment", {}))
        provided = set(env)
        entry = " ".join(dd.get("entrypoint", []) or [])
        sourced = bot_env_file and bot_env_file in entry
        if sourced:
            provided |= {"RC_USER_ID", "RC_TOKEN"}
            env.update({"RC_USER_ID": "bot-id", "RC_TOKEN": "bot-token"})
        missing = sorted(env_names(text) - provided)
        check(f"{fname}: every ${{NAME}} in {os.path.relpath(host_cfg, ROOT)} reaches the dutydesk service",
              not missing, f"not provided: {missing}")
        check_config(dutydesk, host_cfg, {k: str(v) for k, v in env.items()},
                     f"{fname}: dutydesk check-config passes on its config with the service's environment")
        http_port, metrics_port = listen_port(cfg, "http"), listen_port(cfg, "metrics")
        check(f"{fname}: dutydesk listens on all interfaces inside its container",
              listen_host(cfg, "http") in ("0.0.0.0", "[::]") and listen_host(cfg, "metrics") in ("0.0.0.0", "[::]"),
              f"http {listen_host(cfg, 'http')}, metrics {listen_host(cfg, 'metrics')}")
        check(f"{fname}: dutydesk's published ports are http.listen and metrics.listen",
              container_ports(dd) == {http_port, metrics_port}, f"{container_ports(dd)} vs {http_port}, {metrics_port}")
        # Storage and NATS hosts are services of the stack, on the ports their images use.
        host, port = url_host_port(cfg.get("storage", {}).get("url", ""))
        check(f"{fname}: storage.url names the postgres service on 5432", (host, port) == ("postgres", 5432),
              f"{host}:{port}")
        host, port = url_host_port((cfg.get("events") or {}).get("nats_url", ""))
        check(f"{fname}: events.nats_url names the nats service on 4222", (host, port) == ("nats", 4222),
              f"{host}:{port}")
        pg_env = services.get("postgres", {}).get("environment", {})
        check(f"{fname}: the store's database and user are the ones postgres creates",
              "postgresql://dutydesk:" in cfg["storage"]["url"] and cfg["storage"]["url"].endswith("/dutydesk")
              and pg_env.get("POSTGRES_USER") == "dutydesk" and pg_env.get("POSTGRES_DB") == "dutydesk"
              and pg_env.get("POSTGRES_PASSWORD") == env.get("PGPASSWORD"), str(pg_env))
        # Prometheus scrapes dutydesk's metrics port; Grafana reads Prometheus.
        prom = services.get("prometheus", {})
        prom_cfg_host = next((src for src, t in mounts(prom) if t == "/etc/prometheus/prometheus.yml"), None)
        targets = []
        if prom_cfg_host:
            pc = yaml.safe_load(open(prom_cfg_host))
            for sc in pc.get("scrape_configs", []):
                for st in sc.get("static_configs", []):
                    targets += st.get("targets", [])
            for rf in pc.get("rule_files", []):
                check(f"{fname}: prometheus's rule file {rf} is mounted next to its config",
                      any(t == os.path.join("/etc/prometheus", rf) for _, t in mounts(prom)), "not mounted")
        check(f"{fname}: prometheus scrapes dutydesk:{metrics_port}", f"dutydesk:{metrics_port}" in targets,
              f"targets {targets}")
        prom_listen = next((a.split("=", 1)[1] for a in prom.get("command", []) if a.startswith("--web.listen-address=")),
                           "0.0.0.0:9090")
        graf = services.get("grafana", {})
        prov = next((src for src, t in mounts(graf) if t == "/etc/grafana/provisioning"), None)
        if check(f"{fname}: grafana's provisioning directory is mounted", prov is not None, "not mounted"):
            ds = yaml.safe_load(open(os.path.join(prov, "datasources", "prometheus.yaml")))["datasources"][0]
            check(f"{fname}: grafana's datasource is the prometheus service's listen port",
                  url_host_port(ds["url"]) == ("prometheus", int(prom_listen.rsplit(":", 1)[1])), ds["url"])
            dash = yaml.safe_load(open(os.path.join(prov, "dashboards", "dutydesk.yaml")))["providers"][0]
            dash_mount = next((t for src, t in mounts(graf) if src.endswith("dashboard.json")), "")
            check(f"{fname}: the dashboard file is mounted under the provider's path",
                  os.path.dirname(dash_mount) == dash["options"]["path"], f"{dash_mount} vs {dash['options']['path']}")
            home = graf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
            check(f"{fname}: grafana's home dashboard is the mounted file", home == dash_mount, f"{home}")

    if prom_cfg_host:
        r = run(["promtool", "check", "config", prom_cfg_host])
        check("promtool check config docker/prometheus/prometheus.yml (with its rules)", r.returncode == 0,
              (r.stdout + r.stderr)[-300:])
    json.load(open(os.path.join(DOCKER, "grafana", "dashboard.json")))

    # The image's default config (the one `docker run dutydesk` uses).
    default_cfg_path = os.path.join(DOCKER, "dutydesk.yaml")
    default_text = open(default_cfg_path).read()
    default_cfg = yaml.safe_load(default_text)
    check_config(dutydesk, default_cfg_path, {n: "https://x.example.com" if n.endswith("_URL") else "x"
                                              for n in env_names(default_text)},
                 "docker/dutydesk.yaml (the image's default config) passes check-config with its variables set")

    # --- the simulator stack: its steps run here --------------------------------------------------------------------
    services = sim_stack["services"]
    simsvc, hook = services.get("sim", {}), services.get("sim-webhook", {})
    sim_cfg = configs.get("compose.sim.yaml", (None, {}))[1]
    listen = {}
    for a in simsvc.get("command", []):
        m = re.match(r"--([a-z-]+)-listen=(.+):(\d+)$", a)
        if m:
            listen[m.group(1)] = (m.group(2), int(m.group(3)))
    for system, key in (("rc", "rocketchat"), ("jira-dc", "jira"), ("oncall", "oncall")):
        host, port = url_host_port(sim_cfg.get(key, {}).get("url", ""))
        check(f"compose.sim.yaml: dutydesk's {key}.url is the sim service's --{system}-listen port",
              host == "sim" and listen.get(system, (None, None))[1] == port, f"{host}:{port} vs {listen.get(system)}")
    check("compose.sim.yaml: the sim listens on all interfaces inside its container",
          all(h == "0.0.0.0" for h, _ in listen.values()) and len(listen) == 5, str(listen))
    seed_arg = next((a.split("=", 1)[1] for a in simsvc.get("command", []) if a.startswith("--seed=")), "")
    seed_host = os.path.join(ROOT, "sim", "seed", os.path.basename(seed_arg))
    seed = json.load(open(seed_host)) if os.path.exists(seed_host) else {}
    check("compose.sim.yaml: the sim's seed is one the image copies (sim/seed/)",
          seed_arg.startswith("/usr/share/dutydesk/sim/seed/") and os.path.exists(seed_host), seed_arg)
    hooks = seed.get("jira", {}).get("webhooks", [])
    check("compose.sim.yaml: dutydesk's webhook_secret is the seed's Jira webhook secret",
          bool(hooks) and hooks[0].get("secret") == sim_cfg.get("jira", {}).get("webhook_secret"), "differs")
    hook_cmd = hook.get("command", [])
    hook_url = hook_cmd[-1] if hook_cmd else ""
    data = json.loads(hook_cmd[hook_cmd.index("--data") + 1]) if "--data" in hook_cmd else {}
    check("compose.sim.yaml: sim-webhook calls the sim's Jira Data Center port",
          url_host_port(hook_url) == ("sim", listen.get("jira-dc", (None, None))[1]), hook_url)
    check("compose.sim.yaml: sim-webhook points the webhook at dutydesk's http.listen port and /jira/webhook",
          data.get("url") == f"http://dutydesk:{listen_port(sim_cfg, 'http')}/jira/webhook", data.get("url"))
    check("compose.sim.yaml: sim-webhook keeps the seed's events",
          bool(hooks) and sorted(data.get("events", [])) == sorted(hooks[0].get("events", [])), "differs")

    # Run them: the sim with the compose command (addresses moved to loopback, free ports), then the healthcheck and
    # the sim-webhook command with the host name "sim" moved the same way.
    ports = {s: free_port() for s in listen}
    argv = [sim]
    for a in simsvc.get("command", []):
        m = re.match(r"--([a-z-]+)-listen=", a)
        if m:
            a = f"--{m.group(1)}-listen=127.0.0.1:{ports[m.group(1)]}"
        elif a.startswith("--seed="):
            a = "--seed=" + seed_host
        argv.append(a)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    procs.append(p)
    ready = read_line_matching(p, "dutydesk-sim ready", time.monotonic() + 30)
    if check("compose.sim.yaml: the sim service's command starts dutydesk-sim", ready is not None, "no ready line"):
        def moved(text):
            for system, (_, port) in listen.items():
                text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{ports[system]}")
                text = text.replace(f"sim:{port}", f"127.0.0.1:{ports[system]}")
            return text
        health = [moved(a) for a in simsvc.get("healthcheck", {}).get("test", [])[1:]]
        r = run(health, timeout=30)
        check("compose.sim.yaml: the sim's healthcheck passes against it", r.returncode == 0, r.stderr[-200:])
        r = run([hook.get("entrypoint", ["curl"])[0]] + [moved(a) for a in hook_cmd], timeout=60)
        check("compose.sim.yaml: the sim-webhook command succeeds", r.returncode == 0, r.stderr[-300:])
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['control']}/control/jira-dc/webhooks", timeout=10) as resp:
            now = json.load(resp)
        check("compose.sim.yaml: after sim-webhook the seed's webhook goes to the dutydesk service, secret kept",
              len(now) == 1 and now[0]["url"] == data.get("url") and now[0].get("hasSecret") is True, str(now)[:300])
    p.terminate()
    p.wait(timeout=10)

    # --- compose.yaml: dutydesk's entrypoint, run here ---------------------------------------------------------------
    dd = real_stack["services"].get("dutydesk", {})
    init = real_stack["services"].get("rocketchat-init", {})
    bot_dir = next((t for src, t in mounts(init) if bot_env_file.startswith(t + "/")), None)
    check("compose.yaml: rocketchat-init writes its env file into a volume dutydesk mounts",
          bot_dir is not None and any(t == bot_dir and src == s2 for s2, t2 in mounts(init) if t2 == bot_dir
                                      for src, t in mounts(dd)), f"{bot_env_file} / {bot_dir}")
    if bot_dir and configs.get("compose.yaml"):
        envfile = os.path.join(tmp, "rocketchat.env")
        with open(envfile, "w") as f:
            f.write("RC_USER_ID=from-the-env-file\nRC_TOKEN=token-from-the-env-file\n")
        # `docker-compose config` prints `$$` (compose's escape of `$`) as it is in the file; the container gets `$`.
        entrypoint = [a.replace("$$", "$") for a in dd.get("entrypoint", [])]
        entry = [a.replace(bot_env_file, envfile).replace("/usr/local/bin/dutydesk", dutydesk) for a in entrypoint]
        host_cfg = configs["compose.yaml"][0]
        full_env = {"PATH": os.environ["PATH"], **{k: str(v) for k, v in dd.get("environment", {}).items()}}
        r = run(entry + ["check-config", "--config", host_cfg], env=full_env)
        check("compose.yaml: dutydesk's entrypoint sources the bot's env file and runs dutydesk",
              r.returncode == 0 and "token auth" in r.stdout, (r.stdout + r.stderr)[-300:])
        r = run([a.replace(bot_env_file, envfile + ".missing").replace("/usr/local/bin/dutydesk", dutydesk)
                 for a in entrypoint] + ["version"], env=full_env)
        check("compose.yaml: without the bot's env file the entrypoint fails instead of starting", r.returncode != 0,
              "it started")

    # --- the Dockerfile ------------------------------------------------------------------------------------------------
    dockerfile = open(os.path.join(DOCKER, "Dockerfile")).read()
    stages = dockerfile_stages(dockerfile)
    check("Dockerfile: stages build, rocketchat-init and runtime, runtime last (the default target)",
          list(stages)[-1:] == ["runtime"] and {"build", "rocketchat-init"} <= set(stages), str(list(stages)))
    for line in dockerfile.splitlines():
        if line.startswith("FROM "):
            check(f"Dockerfile: {line.strip()} is Debian bookworm-slim",
                  "${DEBIAN_IMAGE}" in line and "ARG DEBIAN_IMAGE=debian:bookworm-slim" in dockerfile, line)
    setup = open(os.path.join(ROOT, "scripts", "setup.sh")).read()
    setup_pkgs = set(re.search(r"packages=\((.*?)\)", setup, re.S).group(1).split())
    build_pkgs = set(apt_packages(stages.get("build", [])))
    needed = {p for p in setup_pkgs if p.endswith("-dev") and p not in ("libgtest-dev", "libgmock-dev",
                                                                        "libclang-rt-14-dev")}
    needed |= {"build-essential", "cmake", "ninja-build", "pkg-config"}
    check("Dockerfile: the build stage installs every build package of scripts/setup.sh (tests aside)",
          needed <= build_pkgs, f"missing {sorted(needed - build_pkgs)}")
    runtime = stages.get("runtime", [])
    runtime_pkgs = apt_packages(runtime)
    check("Dockerfile: the runtime stage installs no -dev package", not [p for p in runtime_pkgs if p.endswith("-dev")],
          str(runtime_pkgs))
    for ins in [i for st in stages.values() for i in st if i.startswith("COPY") and "--from" not in i]:
        src = ins.split()[1]
        check(f"Dockerfile: {ins[:60]}: the source exists", os.path.exists(os.path.join(ROOT, src)), src)
    users = [i.split()[1] for i in runtime if i.startswith("USER")]
    check("Dockerfile: the runtime stage runs as a numeric non-root user",
          users and re.match(r"^[1-9]\d*(:\d+)?$", users[-1]) and "--uid " + users[-1].split(":")[0] in dockerfile,
          str(users))
    expose = {int(x) for i in runtime if i.startswith("EXPOSE") for x in i.split()[1:]}
    check("Dockerfile: EXPOSE is the default config's http.listen and metrics.listen ports",
          expose == {listen_port(default_cfg, "http"), listen_port(default_cfg, "metrics")}, str(expose))
    hc = next((i for i in runtime if i.startswith("HEALTHCHECK")), "")
    m = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)\"", hc)
    check("Dockerfile: the HEALTHCHECK asks /healthz on the default config's http.listen port",
          m is not None and int(m.group(1)) == listen_port(default_cfg, "http") and m.group(2) == "/healthz", hc)
    check("Dockerfile: the HEALTHCHECK's curl is installed in the runtime stage", "curl" in runtime_pkgs, "")
    entry = next((i for i in runtime if i.startswith("ENTRYPOINT")), "")
    check("Dockerfile: the entrypoint is the dutydesk binary the runtime stage copies",
          '"/usr/local/bin/dutydesk"' in entry and "COPY --from=build /build/app/dutydesk /usr/local/bin/dutydesk"
          in " ".join(runtime), entry)
    init_stage = stages.get("rocketchat-init", [])
    init_pkgs = set(apt_packages(init_stage))
    check("Dockerfile: the rocketchat-init stage has what docker/rocketchat-init.sh needs (curl, jq)",
          {"curl", "jq"} <= init_pkgs, str(init_pkgs))
    ignore = open(os.path.join(ROOT, ".dockerignore")).read().split()
    check(".dockerignore keeps .git, build trees and node_modules out of the build context",
          {".git", "build", "build-*", "**/node_modules"} <= set(ignore), str(ignore))

    if not do_build:
        print("# --no-build: the build stage's cmake commands were not run")
        return
    build_run = next((i for i in stages.get("build", []) if "cmake -S /src -B /build" in i), "")
    cmds = [c.strip() for c in build_run[len("RUN"):].split("&&") if c.strip().startswith("cmake")]
    ok = len(cmds) == 2
    t0 = time.monotonic()
    for c in cmds:
        argv = [a.replace("/src", ROOT, 1) if a == "/src" else (build_dir if a == "/build" else a)
                for a in shlex.split(c)]
        r = run(argv, env={**os.environ, "CCACHE_BASEDIR": ROOT, "CCACHE_NOHASHDIR": "1"}, timeout=3600)
        if r.returncode != 0:
            ok = False
            print(r.stdout[-2000:], r.stderr[-2000:])
            break
    check(f"Dockerfile: the build stage's cmake commands build dutydesk and dutydesk-sim "
          f"({time.monotonic() - t0:.0f} s, into {os.path.relpath(build_dir, ROOT)})", ok, "see above")
    if not ok:
        return
    bins = [os.path.join(build_dir, "app", "dutydesk"), os.path.join(build_dir, "sim", "dutydesk-sim")]
    r = run([bins[0], "version"])
    check("Dockerfile: the built dutydesk runs (`dutydesk version`)", r.returncode == 0, r.stderr[-200:])
    libs = {}
    for b in bins:
        for line in run(["ldd", b]).stdout.splitlines():
            m = re.match(r"\s*(\S+) => (\S+)", line)
            if m and m.group(2).startswith("/"):
                libs[m.group(1)] = m.group(2)
    closure = apt_closure(runtime_pkgs)
    uncovered = []
    owners = {}
    for name, path in sorted(libs.items()):
        pkg = owning_package(path)
        owners[name] = pkg
        if pkg is None or pkg.split(":")[0] not in closure:
            uncovered.append(f"{name} ({pkg})")
    check(f"Dockerfile: the runtime packages (with their Depends) provide all {len(libs)} libraries the binaries load",
          not uncovered, f"not provided: {uncovered}")
    direct = set()
    for b in bins:
        for line in run(["readelf", "-d", b]).stdout.splitlines():
            m = re.search(r"\(NEEDED\).*\[(.+)\]", line)
            if m and m.group(1) in owners and owners[m.group(1)]:
                direct.add(owners[m.group(1)].split(":")[0])
    unneeded = [p for p in runtime_pkgs if p not in direct and p not in ("ca-certificates", "curl")]
    check("Dockerfile: every runtime package provides a library the binaries link directly (or is ca-certificates, "
          "curl)", not unneeded, f"not needed: {unneeded}")


if __name__ == "__main__":
    sys.exit(main())
