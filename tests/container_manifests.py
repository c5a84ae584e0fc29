#!/usr/bin/env python3
"""Checks the container examples (examples/containers), which cannot be run here: no Docker
daemon, no cluster. Run by ctest as container_manifests.CHECK:

    container_manifests.py SOURCE_DIR CHECK

CHECK is one of:
  yaml_lint          every YAML file, with yamllint (syntax, duplicate keys, style)
  kubernetes_schema  every Kubernetes object against the API's types (python3-kubernetes' models):
                     no unknown field, no value of the wrong type, no required field missing
  pods               brood in each pod: the command, the grace period against shutdown_timeout or
                     --grace, the probes, the ConfigMap's brood.toml
  compose            docker-compose.yml: init: false, brood as entrypoint, stop_grace_period, health
  dockerfile         the Dockerfile's stages: the build script, exec-form entrypoints, HEALTHCHECK

Prints one line per problem ("FILE: problem") and exits 1 when there is any.
"""

import json
import os
import re
import sys
import tomllib

try:
    import yaml
except ImportError:
    sys.exit("container_manifests: python3-yaml is missing (scripts/install-deps installs it)")

# What the runtime's SIGKILL must leave brood after its own bound, at least: the kubelet's and
# Docker's clocks start at their SIGTERM, a preStop hook counts against them, and brood needs a
# moment to reap and exit with its status.
MARGIN_SECONDS = 5
# brood run's --grace when not given (docs/cli.md).
DEFAULT_RUN_GRACE = 5.0

EXAMPLES = os.path.join("examples", "containers")


class Problems:
    def __init__(self, root):
        self.root = root
        self.lines = []

    def add(self, path, message):
        self.lines.append(f"{os.path.relpath(path, self.root)}: {message}")


def yaml_files(root):
    found = []
    for directory, _, names in os.walk(os.path.join(root, EXAMPLES)):
        found += [os.path.join(directory, n) for n in names if n.endswith((".yaml", ".yml"))]
    return sorted(found)


def load_documents(path, problems):
    with open(path, encoding="utf-8") as f:
        try:
            return [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problems.add(path, f"not YAML: {' '.join(str(e).split())}")
            return []


def kubernetes_documents(root, problems):
    """(path, document) for every object in examples/containers/kubernetes."""
    directory = os.path.join(root, EXAMPLES, "kubernetes")
    return [(p, d) for p in yaml_files(root) if os.path.dirname(p) == directory
            for d in load_documents(p, problems)]


# Durations -------------------------------------------------------------------------------------

def brood_duration(value):
    """A brood duration (docs/config.md): one number and one unit, or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"not a brood duration: {value!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def compose_duration(value):
    """A Compose duration: "1m30s", "15s", "500ms"."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(value))
    if not parts or "".join(a + b for a, b in parts) != str(value):
        raise ValueError(f"not a duration: {value!r}")
    scale = {"us": 1e-6, "ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


# brood command lines ---------------------------------------------------------------------------

VALUE_OPTIONS = {"run": {"--grace", "--pdeathsig", "--remap-exit"},
                 "up": {"-c", "--config", "--socket"},
                 "status": {"-c", "--config", "--socket"}}


def brood_command(argv):
    """{'verb': ..., option: value..., 'flags': set, 'program': [...]} for a brood command line,
    or None when argv does not run brood."""
    if not argv or not isinstance(argv, list) or os.path.basename(str(argv[0])) != "brood":
        return None
    verb = argv[1] if len(argv) > 1 else None
    command = {"verb": verb, "flags": set(), "program": []}
    takes_value = VALUE_OPTIONS.get(verb, set())
    i = 2
    while i < len(argv):
        word = str(argv[i])
        if word == "--":
            command["program"] = argv[i + 1:]
            break
        if not word.startswith("-"):
            command["program"] = argv[i:]
            break
        name, equals, value = word.partition("=")
        if name in takes_value:
            if not equals:
                i += 1
                value = argv[i] if i < len(argv) else None
            command[name.replace("--config", "-c")] = value
        else:
            command["flags"].add(word)
        i += 1
    return command


def control_socket(command):
    """Where brood up listens, or where a control verb looks for it (docs/cli.md): --socket, else
    .brood/brood.sock beside the -c configuration. None when neither is given: then it depends on
    the working directory, which a probe does not choose."""
    if command.get("--socket"):
        return os.path.normpath(command["--socket"])
    if command.get("-c"):
        directory = os.path.dirname(os.path.normpath(command["-c"]))
        return os.path.join(directory, ".brood", "brood.sock")
    return None


def is_status_check(command):
    return command is not None and command["verb"] == "status" and "--check" in command["flags"]


def check_same_socket(check, up, what, path, problems):
    """A control verb must find the socket brood up listens on."""
    asked, listening = control_socket(check), control_socket(up)
    if listening is None:
        return  # brood up itself was reported: it names neither its configuration nor its socket
    if asked is None:
        problems.add(path, f"{what} gives neither -c nor --socket: it would look beside a "
                     f"brood.toml in its working directory, not at {listening}")
    elif asked != listening:
        problems.add(path, f"{what} asks {asked}, but brood up listens on {listening}")


def shutdown_bound(command, config, path, problems):
    """The longest a brood command takes from SIGTERM to its exit, in seconds, or None."""
    if command["verb"] == "run":
        # The program, and what it left behind, get SIGKILL --grace after the SIGTERM.
        try:
            return brood_duration(command.get("--grace", DEFAULT_RUN_GRACE))
        except ValueError as e:
            problems.add(path, str(e))
            return None
    if command["verb"] == "up":
        if config is None:
            return None
        if "shutdown_timeout" not in config:
            problems.add(path, "brood.toml has no shutdown_timeout: brood up's shutdown is then "
                         "not bounded by the runtime's grace period")
            return None
        try:
            return brood_duration(config["shutdown_timeout"])
        except ValueError as e:
            problems.add(path, f"shutdown_timeout: {e}")
            return None
    problems.add(path, f"brood {command['verb']} as a container's process: expected run or up")
    return None


def check_grace(path, what, grace_seconds, bound, problems):
    if grace_seconds - bound < MARGIN_SECONDS:
        problems.add(path, f"{what} is {grace_seconds:g} s but brood may take {bound:g} s to "
                     f"shut down: leave at least {MARGIN_SECONDS} s more, or the runtime's SIGKILL "
                     "comes first")


def read_toml(text, path, problems):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problems.add(path, f"brood.toml: {e}")
        return None


def example_config(root, problems):
    """examples/containers/brood.toml: the configuration the up image carries."""
    path = os.path.join(root, EXAMPLES, "brood.toml")
    with open(path, "rb") as f:
        return read_toml(f.read().decode(), path, problems)


# yaml_lint -------------------------------------------------------------------------------------

YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 100}
  document-start: disable
"""


def check_yaml_lint(root, problems):
    try:
        from yamllint import linter
        from yamllint.config import YamlLintConfig
    except ImportError:
        sys.exit("container_manifests: yamllint is missing (scripts/install-deps installs it)")
    config = YamlLintConfig(content=YAMLLINT_CONFIG)
    paths = yaml_files(root)
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for p in linter.run(f, config, path):
                problems.add(path, f"{p.line}:{p.column}: {p.desc} ({p.rule})")
    return paths


# kubernetes_schema -----------------------------------------------------------------------------

# The group and version of each kind the examples use (the models do not say which group serves
# them): the API server refuses a Deployment as v1 or a Pod as apps/v1.
API_VERSIONS = {"Pod": "v1", "ConfigMap": "v1", "Service": "v1", "Deployment": "apps/v1",
                "StatefulSet": "apps/v1", "DaemonSet": "apps/v1"}


def check_kubernetes_schema(root, problems):
    try:
        from kubernetes.client import models
        from kubernetes.client.configuration import Configuration
    except ImportError:
        sys.exit("container_manifests: python3-kubernetes is missing "
                 "(scripts/install-deps installs it)")
    validation = Configuration()
    validation.client_side_validation = True

    def required(klass, attribute):
        # The generated setters refuse None for exactly the fields the API requires.
        probe = klass.__new__(klass)
        probe.local_vars_configuration = validation
        try:
            setattr(probe, attribute, None)
        except ValueError:
            return True
        return False

    def validate(value, type_name, field, path):
        if type_name.startswith("list["):
            if not isinstance(value, list):
                problems.add(path, f"{field}: expected a list, got {value!r}")
                return
            for i, item in enumerate(value):
                validate(item, type_name[5:-1], f"{field}[{i}]", path)
        elif type_name.startswith("dict("):
            if not isinstance(value, dict):
                problems.add(path, f"{field}: expected a mapping, got {value!r}")
                return
            for key, item in value.items():
                validate(item, type_name[5:-1].split(", ", 1)[1], f"{field}.{key}", path)
        elif type_name in ("str", "int", "bool", "float", "object"):
            expected = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float),
                        "object": (object,)}[type_name]
            if not isinstance(value, expected) or (type_name == "int" and isinstance(value, bool)):
                problems.add(path, f"{field}: expected {type_name}, got {value!r}")
        else:
            klass = getattr(models, type_name)
            if not isinstance(value, dict):
                problems.add(path, f"{field}: expected a {type_name} mapping, got {value!r}")
                return
            by_key = {key: attribute for attribute, key in klass.attribute_map.items()}
            for key, item in value.items():
                if key not in by_key:
                    problems.add(path, f"{field}: unknown field {key!r} for {type_name}")
                else:
                    validate(item, klass.openapi_types[by_key[key]], f"{field}.{key}", path)
            for attribute, key in klass.attribute_map.items():
                if key not in value and required(klass, attribute):
                    problems.add(path, f"{field}: {type_name} requires {key!r}")

    documents = kubernetes_documents(root, problems)
    for path, document in documents:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in document:
                problems.add(path, f"an object without {key}")
        if not {"apiVersion", "kind"} <= document.keys():
            continue
        served = API_VERSIONS.get(document["kind"], "(a kind this test does not know)")
        if served != document["apiVersion"]:
            problems.add(path, f"{document['kind']} is served as apiVersion {served}, "
                         f"not {document['apiVersion']}")
            continue
        version = str(document["apiVersion"]).split("/")[-1]
        type_name = version[:1].upper() + version[1:] + str(document["kind"])
        validate(document, type_name, document["kind"], path)
        if not (document.get("metadata") or {}).get("name"):
            problems.add(path, f"{document['kind']} without metadata.name")
    return documents


# pods ------------------------------------------------------------------------------------------

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def pod_spec(document):
    kind = document.get("kind")
    if kind == "Pod":
        return document.get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return ((document.get("spec") or {}).get("template") or {}).get("spec")
    return None


def container_config(container, command, spec, config_maps, links, path, where, problems):
    """The brood.toml a brood up container reads: a ConfigMap's key, mounted where its -c path
    leads (through the link the up image makes: /srv/app/brood.toml -> /etc/brood/brood.toml)."""
    name = container.get("name")
    if not command.get("-c"):
        problems.add(path, f"{where}: container {name}: brood up without -c reads a brood.toml "
                     "in the image's working directory, which these files do not show")
        return None
    config_path = links.get(command["-c"], command["-c"])
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        config_map = ((volumes.get(mount.get("name")) or {}).get("configMap") or {}).get("name")
        if config_map is None:
            continue
        if config_map not in config_maps:
            problems.add(path, f"{where}: container {name}: ConfigMap {config_map} is not in "
                         "these examples")
            continue
        data = config_maps[config_map]
        if mount.get("subPath"):
            files = {mount.get("mountPath"): mount["subPath"]}
        else:
            files = {os.path.join(str(mount.get("mountPath")), key): key for key in data}
        if config_path in files and files[config_path] in data:
            return read_toml(data[files[config_path]], path, problems)
    problems.add(path, f"{where}: container {name}: brood up reads {config_path}, and no "
                 "ConfigMap is mounted there")
    return None


def check_probes(container, up_command, path, where, problems):
    name = f"{where}: container {container.get('name')}"
    probes = {kind: container.get(kind)
              for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    checks = {kind: brood_command(((p or {}).get("exec") or {}).get("command"))
              for kind, p in probes.items()}
    if up_command is None:
        for kind, command in checks.items():
            if command is not None and command["verb"] == "status":
                problems.add(path, f"{name}: {kind} asks brood status, but no brood up runs there")
        return
    for kind in ("readinessProbe", "livenessProbe"):
        if not is_status_check(checks[kind]):
            problems.add(path, f"{name}: {kind} is not an exec of brood status --check")
    for kind, command in checks.items():
        if is_status_check(command):
            check_same_socket(command, up_command, f"{name}: {kind}", path, problems)


def check_pods(root, problems):
    documents = kubernetes_documents(root, problems)
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for _, d in documents
                   if d.get("kind") == "ConfigMap" and d.get("metadata", {}).get("name")}
    image_config = example_config(root, problems)
    links = image_links(root)
    for path, document in documents:
        if document.get("kind") != "ConfigMap":
            continue
        text = (document.get("data") or {}).get("brood.toml")
        if text is not None and read_toml(text, path, problems) != image_config:
            problems.add(path, f"ConfigMap {document['metadata']['name']}: its brood.toml does not "
                         "say what examples/containers/brood.toml says")
    modes = set()
    checked = []
    for path, document in documents:
        if document.get("kind") == "ConfigMap":
            continue
        where = f"{document.get('kind')} {(document.get('metadata') or {}).get('name')}"
        spec = pod_spec(document)
        if not isinstance(spec, dict):
            problems.add(path, f"{where}: no pod spec found")
            continue
        checked.append(where)
        grace = spec.get("terminationGracePeriodSeconds")
        if not isinstance(grace, int):
            problems.add(path, f"{where}: terminationGracePeriodSeconds must be set to a number "
                         "of seconds (brood's shutdown must end before the kubelet's SIGKILL)")
        containers = spec.get("containers") or []
        if not containers:
            problems.add(path, f"{where}: no containers")
        names = [c.get("name") for c in containers]
        for name in names:
            if not isinstance(name, str) or not DNS_LABEL.fullmatch(name) or names.count(name) > 1:
                problems.add(path, f"{where}: container name {name!r} is not a unique DNS label")
        volume_names = {v.get("name") for v in spec.get("volumes") or []}
        bounds = []
        for container in containers:
            cname = container.get("name")
            for mount in container.get("volumeMounts") or []:
                if mount.get("name") not in volume_names:
                    problems.add(path, f"{where}: container {cname} mounts an undefined volume "
                                 f"{mount.get('name')!r}")
            if not container.get("image"):
                problems.add(path, f"{where}: container {cname} has no image")
            argv = (container.get("command") or []) + (container.get("args") or [])
            command = brood_command(argv)
            if command is None:
                problems.add(path, f"{where}: container {cname}'s command does not start with "
                             "brood (give command: the image's entrypoint is not visible here)")
                continue
            modes.add(command["verb"])
            config = None
            if command["verb"] == "up":
                config = container_config(container, command, spec, config_maps, links, path, where,
                                          problems)
            elif command["verb"] == "run" and not command["program"]:
                problems.add(path, f"{where}: container {cname}: brood run without a program")
            bound = shutdown_bound(command, config, path, problems)
            if bound is not None:
                bounds.append(bound)
            check_probes(container, command if command["verb"] == "up" else None, path, where,
                         problems)
        if bounds and isinstance(grace, int):
            check_grace(path, f"{where}: terminationGracePeriodSeconds", grace, max(bounds),
                        problems)
        if document["kind"] == "Deployment":
            selector = (document["spec"].get("selector") or {}).get("matchLabels") or {}
            template = (document["spec"].get("template") or {}).get("metadata") or {}
            labels = template.get("labels") or {}
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                problems.add(path, f"{where}: spec.selector.matchLabels must match the template's "
                             "labels")
    if not {"run", "up"} <= modes:
        problems.add(os.path.join(root, EXAMPLES, "kubernetes"),
                     f"expected examples of brood run and brood up, found {sorted(modes)}")
    return checked


# compose ---------------------------------------------------------------------------------------

def check_compose(root, problems):
    path = os.path.join(root, EXAMPLES, "docker-compose.yml")
    documents = load_documents(path, problems)
    services = (documents[0] if documents else {}).get("services") or {}
    if not services:
        problems.add(path, "no services")
    config = example_config(root, problems)
    modes = set()
    for name, service in services.items():
        # YAML's false, not a string: "false" would be an error for Compose.
        if service.get("init") is not False:
            problems.add(path, f"service {name}: init must be false (with brood as entrypoint, "
                         "Docker's init would be a second one)")
        entrypoint = service.get("entrypoint")
        if not isinstance(entrypoint, list):
            problems.add(path, f"service {name}: entrypoint must be a list (a string goes through "
                         "a shell, which would be PID 1)")
            continue
        command = brood_command(entrypoint + (service.get("command") or []))
        if command is None:
            problems.add(path, f"service {name}: the entrypoint is not brood")
            continue
        modes.add(command["verb"])
        bound = shutdown_bound(command, config, path, problems)
        if "stop_grace_period" not in service:
            problems.add(path, f"service {name}: no stop_grace_period (Compose would wait 10 s)")
        else:
            try:
                grace = compose_duration(service["stop_grace_period"])
                if bound is not None:
                    check_grace(path, f"service {name}: stop_grace_period", grace, bound, problems)
            except ValueError as e:
                problems.add(path, f"service {name}: stop_grace_period: {e}")
        health = (service.get("healthcheck") or {}).get("test")
        if command["verb"] == "up":
            exec_test = isinstance(health, list) and health[:1] == ["CMD"]
            check = brood_command(health[1:]) if exec_test else None
            if not is_status_check(check):
                problems.add(path, f"service {name}: healthcheck.test must be "
                             "[\"CMD\", \"brood\", \"status\", \"--check\", ...]")
            else:
                check_same_socket(check, command, f"service {name}: the healthcheck", path,
                                  problems)
    if not {"run", "up"} <= modes:
        problems.add(path, f"expected services with brood run and brood up, found {sorted(modes)}")
    return list(services)


# dockerfile ------------------------------------------------------------------------------------

def dockerfile_stages(path):
    """[(base, name, [(INSTRUCTION, arguments, line)])] with continuation lines joined."""
    stages = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        number = i + 1
        text = lines[i].strip()
        i += 1
        if not text or text.startswith("#"):
            continue
        while text.endswith("\\") and i < len(lines):
            following = lines[i].strip()
            i += 1
            if not following.startswith("#"):
                text = text[:-1].rstrip() + " " + following
        instruction, _, arguments = text.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append((words[0], name, []))
        elif stages:
            stages[-1][2].append((instruction, arguments.strip(), number))
    return stages


def image_links(root):
    """{LINK: TARGET} for each `ln -s TARGET LINK` the Dockerfile's up stage runs."""
    path = os.path.join(root, EXAMPLES, "Dockerfile")
    links = {}
    for _, name, instructions in dockerfile_stages(path):
        if name == "up":
            for instruction, arguments, _ in instructions:
                if instruction == "RUN":
                    links.update({link: target for target, link in
                                  re.findall(r"\bln -s (\S+) (\S+)", arguments)})
    return links


def exec_form(arguments):
    """The argv of an exec-form instruction ([...] JSON), or None for the shell form."""
    try:
        argv = json.loads(arguments)
    except ValueError:
        return None
    return argv if isinstance(argv, list) and all(isinstance(a, str) for a in argv) else None


# Names Docker reserves, which no stage may take (its build check ReservedStageName): scratch is
# the empty image.
RESERVED_STAGE_NAMES = {"scratch", "context"}


def check_dockerfile(root, problems):
    path = os.path.join(root, EXAMPLES, "Dockerfile")
    stages = {name: (base, instructions) for base, name, instructions in dockerfile_stages(path)}
    expected = {"build": "debian:12", "run": "debian:12-slim", "up": "debian:12-slim",
                "static": "scratch"}
    for name in RESERVED_STAGE_NAMES & stages.keys():
        problems.add(path, f"a stage named {name}: Docker reserves the name")
    for name, base in expected.items():
        if name not in stages:
            problems.add(path, f"no stage named {name}")
        elif stages[name][0] != base:
            problems.add(path, f"stage {name} is FROM {stages[name][0]}, expected {base}")
    if "build" in stages:
        script = "/src/examples/containers/build-static-brood.sh"
        if not any(i == "RUN" and script in a for i, a, _ in stages["build"][1]):
            problems.add(path, f"the build stage does not run {script} (CI builds brood with it: "
                         "one way to build it)")
    for name in ("run", "up", "static"):
        if name not in stages:
            continue
        instructions = stages[name][1]
        entrypoints = [(a, n) for i, a, n in instructions if i == "ENTRYPOINT"]
        if len(entrypoints) != 1:
            problems.add(path, f"stage {name}: expected one ENTRYPOINT, found {len(entrypoints)}")
            continue
        arguments, line = entrypoints[0]
        argv = exec_form(arguments)
        command = brood_command(argv)
        if argv is None:
            problems.add(path, f"{line}: ENTRYPOINT in shell form: /bin/sh would be PID 1, not "
                         "brood")
            continue
        if command is None or command["verb"] != ("up" if name == "up" else "run"):
            problems.add(path, f"{line}: stage {name}'s ENTRYPOINT is not brood "
                         f"{'up' if name == 'up' else 'run'}")
            continue
        shell_runs = [n for i, a, n in instructions if i == "RUN" and exec_form(a) is None]
        if stages[name][0] == "scratch" and shell_runs:
            problems.add(path, f"{shell_runs[0]}: stage {name}: a shell-form RUN needs /bin/sh, "
                         "which an image FROM scratch lacks")
        health = [(a, n) for i, a, n in instructions if i == "HEALTHCHECK"]
        if name == "up":
            check = None
            if len(health) == 1 and " CMD " in f" {health[0][0]}":
                check = brood_command(exec_form(health[0][0].split("CMD", 1)[1].strip()))
            config = image_links(root).get(command.get("-c"), command.get("-c"))
            if not any(i == "COPY" and a.split()[-1] == config for i, a, _ in instructions):
                problems.add(path, f"{line}: stage up: brood up -c {command.get('-c')} leads to "
                             f"{config}, which no COPY in the stage puts there")
            if not is_status_check(check):
                problems.add(path, "stage up: expected HEALTHCHECK ... CMD [\"brood\", \"status\", "
                             "\"--check\", ...] in exec form")
            else:
                check_same_socket(check, command, "stage up: the HEALTHCHECK", path, problems)
    return list(stages)


CHECKS = {"yaml_lint": check_yaml_lint, "kubernetes_schema": check_kubernetes_schema,
          "pods": check_pods, "compose": check_compose, "dockerfile": check_dockerfile}


def main(argv):
    if len(argv) != 3 or argv[2] not in CHECKS:
        sys.exit(f"usage: container_manifests.py SOURCE_DIR {{{','.join(CHECKS)}}}")
    root = os.path.abspath(argv[1])
    problems = Problems(root)
    checked = CHECKS[argv[2]](root, problems)
    if not checked:
        problems.add(os.path.join(root, EXAMPLES), f"{argv[2]}: nothing found to check")
    for line in problems.lines:
        print(line)
    if problems.lines:
        print(f"container_manifests {argv[2]}: {len(problems.lines)} problem(s)")
        return 1
    print(f"container_manifests {argv[2]}: {len(checked)} checked, no problem")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
