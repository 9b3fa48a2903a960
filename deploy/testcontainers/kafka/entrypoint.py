"""Format the KRaft storage on first start, then run the broker in the foreground.

Ports come from KAFKA_PORT / KAFKA_CONTROLLER_PORT so that, on the host's network, a test
can give each container free ports. The broker log goes to stdout (a container's log).
"""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

from kafka_config import cluster_id, write_config

home = Path(os.environ["KAFKA_HOME"])
props = write_config(home, int(os.environ["KAFKA_PORT"]), int(os.environ["KAFKA_CONTROLLER_PORT"]))
(home / "log4j2.properties").write_text(
    "status = warn\nshutdownHook = disable\nappender.out.type = Console\nappender.out.name = out\n"
    "appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\n"
    "rootLogger.level = INFO\nrootLogger.appenderRef.out.ref = out\n"
    "logger.state.name = state.change.logger\nlogger.state.level = WARN\n"
)
cp = ":".join(sorted(glob.glob("/opt/kafka/libs/*.jar")))
jvm = ["java", "-Xmx512m", "-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
       f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}", "-cp", cp]
if not (home / "data" / "meta.properties").is_file():
    subprocess.run([*jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(props)],
                   check=True, stdout=subprocess.DEVNULL)
os.execvp("java", [*jvm, "kafka.Kafka", str(props)])
