"""The single-node KRaft broker's files: server.properties and a log4j2 config."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

LOG4J2 = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def cluster_id() -> str:
    """Kafka's Uuid.randomUuid() text form: url-safe base64, unpadded, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class Secure:
    """What a secure broker needs: its PEM keystore, the CA, the admin's password."""

    keystore: Path
    ca: Path
    admin_password: str


def listeners(port: int, controller_port: int, advertised: int, secure: Secure | None) -> list[str]:
    """Plaintext, or SASL_SSL for clients and the broker itself (SCRAM-SHA-512) and SASL_SSL with
    PLAIN for the controller: KRaft keeps SCRAM users in the metadata log, which the controller
    listener must serve before any is known. Only `admin` is a super user."""
    if secure is None:
        return [f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{advertised}",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"]
    word = secure.admin_password
    return [
        f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=SASL_SSL://127.0.0.1:{advertised}",
        "inter.broker.listener.name=SASL_SSL",
        "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol=PLAIN",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram."
        f'ScramLoginModule required username="admin" password="{word}";',
        "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain."
        f'PlainLoginModule required username="admin" password="{word}" user_admin="{word}";',
        "ssl.keystore.type=PEM", f"ssl.keystore.location={secure.keystore}",
        "ssl.truststore.type=PEM", f"ssl.truststore.location={secure.ca}",
        "ssl.endpoint.identification.algorithm=https",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=false",
        "super.users=User:admin",
        "auto.create.topics.enable=false",
    ]


def write_config(home: Path, port: int, controller_port: int,
                 advertised_port: int | None = None, secure: Secure | None = None) -> Path:
    """`advertised_port`: the port clients are told to connect to (default `port`), e.g. a
    proxy in front of the broker. `secure`: TLS, SCRAM and ACLs (the file then holds the
    admin's password and is made 0600)."""
    props = home / "server.properties"
    text = (
        "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            *listeners(port, controller_port, advertised_port or port, secure),
            "controller.listener.names=CONTROLLER",
            f"log.dirs={home / 'data'}",
            "num.partitions=6",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ])
    )
    # stdlib only: the test image copies this file alone; 0600 since it may hold a password
    fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(props, 0o600)
    (home / "log4j2.properties").write_text(LOG4J2.format(log=home / "kafka.log"))
    return props
