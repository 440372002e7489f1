"""A real Apache Kafka broker (KRaft) for local runs and tests: one node, or a cluster of
several (``cluster``: every node both broker and controller, as a production quorum of three).

The broker's jars come from Maven Central through the machine's Maven (``kafka_2.13`` plus a
log4j2 SLF4J binding); nothing else is downloaded. The broker runs on the machine's Java 17.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = os.environ.get("THIDUA_KAFKA_VERSION", "4.1.1")
LOG4J_VERSION = "2.24.3"
CACHE_DIR = Path(os.environ.get("THIDUA_CACHE_DIR", Path.home() / ".cache" / "thidua"))

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>vn.thidua.local</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
"""

Progress = Callable[[str], None]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BrokerConfig:
    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    host: str = "127.0.0.1"
    heap: str = "768m"
    partitions: int = 4
    node_id: int = 1
    # controller.quorum.voters of a cluster ("" → this node alone) and the cluster's size.
    voters: str = ""
    brokers: int = 1
    cluster_id: str = ""

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"


def cluster(
    data_dir: Path, port: int = 9092, brokers: int = 1, host: str = "127.0.0.1"
) -> list[BrokerConfig]:
    """The nodes of a local cluster: node *n* (1-based) listens on ``port + 2(n-1)`` and its
    controller on the next port, with its data in ``data_dir/broker-n`` (one node: exactly
    ``BrokerConfig(data_dir, port, port + 1)``, as before)."""
    if brokers <= 1:
        return [BrokerConfig(data_dir=data_dir, port=port, controller_port=port + 1, host=host)]
    ports = [(port + 2 * n, port + 2 * n + 1) for n in range(brokers)]
    voters = ",".join(f"{n + 1}@{host}:{ctl}" for n, (_, ctl) in enumerate(ports))
    return [
        BrokerConfig(
            data_dir=data_dir / f"broker-{n + 1}",
            port=listen,
            controller_port=ctl,
            host=host,
            heap="512m",
            node_id=n + 1,
            voters=voters,
            brokers=brokers,
            cluster_id=_cluster_id(data_dir),
        )
        for n, (listen, ctl) in enumerate(ports)
    ]


def bootstrap_of(nodes: list[BrokerConfig]) -> str:
    return ",".join(node.bootstrap for node in nodes)


def _cluster_id(data_dir: Path) -> str:
    """One id for every node of the cluster, kept beside their folders."""
    path = data_dir / "cluster.id"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(_new_cluster_id())
    return path.read_text().strip()


def _new_cluster_id() -> str:
    # Kafka wants a URL-safe base64 UUID, as `kafka-storage random-uuid` prints.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    return CACHE_DIR / f"kafka-{version}" / "libs"


def fetch(version: str = KAFKA_VERSION, progress: Progress = _say) -> Path:
    """Resolve the broker's jars with Maven into the cache (once); returns the libs folder."""
    libs = libs_dir(version)
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise RuntimeError("Kafka needs Java 17 and Maven on PATH (apt-get install maven)")
    work = libs.parent
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_POM.format(kafka=version, log4j=LOG4J_VERSION))
    progress(f"Fetching Apache Kafka {version} jars from Maven Central into {libs} …")
    cmd = ["mvn", "-B", "-ntp", "dependency:copy-dependencies", f"-DoutputDirectory={libs}"]
    proc = subprocess.Popen(
        cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-30:]
        if "Copying" in line:
            progress("  " + line.strip().removeprefix("[INFO] "))
    if proc.wait() != 0:
        raise RuntimeError("Maven could not fetch the Kafka jars:\n" + "\n".join(tail))
    jars = sorted(p.name for p in libs.glob("*.jar"))
    if not any(j.startswith(f"kafka_2.13-{version}") for j in jars):
        raise RuntimeError(f"kafka_2.13-{version}.jar missing after fetch in {libs}")
    marker.write_text("\n".join(jars))
    progress(f"Kafka {version}: {len(jars)} jars ready")
    return libs


def _java(libs: Path, *args: str, log4j: Path | None = None) -> list[str]:
    opts = [f"-Dlog4j2.configurationFile={log4j}"] if log4j else []
    jvm = [a for a in args if a.startswith("-X")]
    main = [a for a in args if not a.startswith("-X")]
    return ["java", *jvm, *opts, "-cp", str(libs / "*"), *main]


def _durability_lines(cfg: BrokerConfig) -> list[str]:
    """Replication as thidua.kafka_admin chooses it, for the broker's own and default topics;
    a cluster fences a dead node after 3 s (Kafka's 9 s default is slow for a laptop test)."""
    replication = min(3, cfg.brokers)
    min_isr = 2 if cfg.brokers >= 3 else 1
    lines = [
        f"default.replication.factor={replication}",
        f"min.insync.replicas={min_isr}",
        f"offsets.topic.replication.factor={replication}",
        f"transaction.state.log.replication.factor={replication}",
        f"transaction.state.log.min.isr={min_isr}",
    ]
    if cfg.brokers > 1:
        lines += ["broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500"]
    return lines


def _write_config(cfg: BrokerConfig) -> Path:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    props = cfg.data_dir / "server.properties"
    voters = cfg.voters or f"{cfg.node_id}@{cfg.host}:{cfg.controller_port}"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={cfg.node_id}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://{cfg.host}:{cfg.port},CONTROLLER://{cfg.host}:{cfg.controller_port}",
                f"advertised.listeners=PLAINTEXT://{cfg.host}:{cfg.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={cfg.data_dir / 'logs'}",
                f"num.partitions={cfg.partitions}",
                *_durability_lines(cfg),
                "offsets.topic.num.partitions=8",
                "transaction.state.log.num.partitions=8",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.cleaner.backoff.ms=2000",
                "",
            ]
        )
    )
    (cfg.data_dir / "log4j2.yaml").write_text(_LOG4J2)
    return props


def format_storage(cfg: BrokerConfig, libs: Path) -> None:
    props = _write_config(cfg)
    if (cfg.data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = cfg.cluster_id or _new_cluster_id()
    subprocess.run(
        _java(libs, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)),
        check=True,
        capture_output=True,
        text=True,
    )


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def running_pid(cfg: BrokerConfig) -> int | None:
    try:
        pid = int(cfg.pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start(cfg: BrokerConfig, timeout: float = 90.0, progress: Progress = _say) -> int:
    """Start the broker (fetching and formatting first); returns its pid once it answers."""
    return start_cluster([cfg], timeout, progress)[0]


def start_cluster(
    nodes: list[BrokerConfig], timeout: float = 120.0, progress: Progress = _say
) -> list[int]:
    """Start every node (all at once: a quorum answers only once most of its controllers run);
    returns their pids once each answers."""
    libs = fetch(progress=progress)
    launched: list[tuple[BrokerConfig, subprocess.Popen[bytes] | None, int]] = []
    for cfg in nodes:
        if pid := running_pid(cfg):
            progress(f"Kafka already running (pid {pid}) on {cfg.bootstrap}")
            launched.append((cfg, None, pid))
            continue
        if port_open(cfg.host, cfg.port):
            raise RuntimeError(f"port {cfg.port} is taken by another process")
        format_storage(cfg, libs)
        proc = _launch(cfg, libs)
        progress(
            f"Starting Kafka {KAFKA_VERSION} node {cfg.node_id} (pid {proc.pid}) "
            f"on {cfg.bootstrap} …"
        )
        launched.append((cfg, proc, proc.pid))
    deadline = time.monotonic() + timeout
    for cfg, child, _ in launched:
        if child is not None and not _await(cfg, child, deadline):
            for other in nodes:
                stop(other)
            raise RuntimeError(f"Kafka did not answer within {timeout:.0f}s; see {cfg.log_file}")
    progress(f"Kafka ready on {bootstrap_of(nodes)}")
    return [pid for _, _, pid in launched]


def _launch(cfg: BrokerConfig, libs: Path) -> subprocess.Popen[bytes]:
    log = cfg.log_file.open("ab")
    proc = subprocess.Popen(
        _java(
            libs,
            f"-Xmx{cfg.heap}",
            "-Xms128m",
            "kafka.Kafka",
            str(cfg.data_dir / "server.properties"),
            log4j=cfg.data_dir / "log4j2.yaml",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_more_open_files,
    )
    cfg.pid_file.write_text(str(proc.pid))
    return proc


OPEN_FILES = 262_144


def _more_open_files() -> None:
    """In the broker's process, before Java starts: a broker keeps every partition's segment
    open, so a long-lived test broker with tens of thousands of partitions exhausts a 20,000
    limit and shuts down ("Too many open files"). Raise the limit (the hard one too when
    allowed, e.g. as root)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in ((OPEN_FILES, max(hard, OPEN_FILES)), (max(soft, min(hard, OPEN_FILES)), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, wanted)
            return
        except (ValueError, OSError):
            continue


def _await(cfg: BrokerConfig, proc: subprocess.Popen[bytes], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Kafka exited with {proc.returncode}; see {cfg.log_file}")
        if port_open(cfg.host, cfg.port) and _answers(cfg.bootstrap):
            return True
        time.sleep(0.5)
    return False


def _answers(bootstrap: str) -> bool:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    except (KafkaError, OSError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def _exited(pid: int) -> bool:
    """True once ``pid`` is gone; reaps it when it is our own child (else it stays a zombie
    that ``kill(pid, 0)`` still finds)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return True
    except ChildProcessError:
        pass  # started by another process (e.g. `thidua kafka start`)
    try:
        os.kill(pid, 0)
    except OSError:
        return True
    return False


def stop(cfg: BrokerConfig, timeout: float = 30.0) -> bool:
    """Stop the broker cleanly (SIGTERM, then SIGKILL after ``timeout``)."""
    pid = running_pid(cfg)
    if pid is None:
        cfg.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    cfg.pid_file.unlink(missing_ok=True)
    return True


def stop_cluster(nodes: list[BrokerConfig], timeout: float = 30.0) -> int:
    """Stop every node of ``nodes``; returns how many were running."""
    return sum(stop(cfg, timeout) for cfg in nodes)
