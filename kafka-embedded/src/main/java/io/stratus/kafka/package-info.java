/**
 * The embedded single-node Kafka broker ({@link io.stratus.kafka.EmbeddedKafkaBroker}): the real
 * Apache Kafka server in KRaft mode, started in-process so that nothing needs Docker.
 */
package io.stratus.kafka;
