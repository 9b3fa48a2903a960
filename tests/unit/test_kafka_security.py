"""Kafka client security comes from settings, through the one place every client starts from."""

from __future__ import annotations

from orchestrator.adapters import bus
from orchestrator.adapters.config import Settings

PLAIN = Settings(kafka_bootstrap="127.0.0.1:9092")
SCRAM = PLAIN.model_copy(update={"kafka_security_protocol": "SASL_SSL",
                                 "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "dev",
                                 "kafka_sasl_password": "pw",
                                 "kafka_ssl_ca_location": "/etc/kafka/ca.pem"})


def test_unset_security_leaves_the_client_plaintext() -> None:
    assert not {k for k in bus.client_config(PLAIN) if k.startswith(("security.", "sasl.", "ssl."))}


def test_producers_consumers_and_admins_all_take_the_security_settings() -> None:
    wanted = {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "dev",
              "sasl.password": "pw", "ssl.ca.location": "/etc/kafka/ca.pem"}
    for config in (bus.client_config(SCRAM), bus.producer_config(SCRAM), bus.consumer_config(SCRAM, "g")):
        assert wanted.items() <= config.items()
