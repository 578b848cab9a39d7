#ifndef SPOOL_CRDKAFKA_SHIM_H
#define SPOOL_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Swift cannot call C variadic functions; these helpers wrap the few we need. */

/* Produces one message with an explicit partition and timestamp. A NULL key or
 * value is sent as null; a non-NULL pointer with length 0 is sent as empty.
 * The bytes are copied (RD_KAFKA_MSG_F_COPY). */
static inline rd_kafka_resp_err_t spool_produce(rd_kafka_t *rk, const char *topic,
                                                int32_t partition,
                                                const void *key, size_t key_len,
                                                const void *value, size_t value_len,
                                                int64_t timestamp_ms) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END);
}

/* Like spool_produce, with headers (may be NULL). librdkafka takes ownership of the headers
 * only when this succeeds; on an error the caller still owns and must destroy them. */
static inline rd_kafka_resp_err_t spool_produce_with_headers(rd_kafka_t *rk, const char *topic,
                                                             int32_t partition,
                                                             const void *key, size_t key_len,
                                                             const void *value, size_t value_len,
                                                             int64_t timestamp_ms,
                                                             rd_kafka_headers_t *headers) {
    if (!headers)
        return spool_produce(rk, topic, partition, key, key_len, value, value_len, timestamp_ms);
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END);
}

/* A valid pointer for an empty (not null) key or value. */
static inline const void *spool_empty_bytes(void) { return ""; }

/* A valid pointer for an empty header name. */
static inline const char *spool_empty_name(void) { return ""; }

/* Pushes one (error, round-trip time) pair onto one mock broker's error stack. */
static inline rd_kafka_resp_err_t spool_mock_broker_push_error_rtt(rd_kafka_mock_cluster_t *mcluster,
                                                                   int32_t broker_id,
                                                                   int16_t api_key,
                                                                   rd_kafka_resp_err_t err,
                                                                   int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, rtt_ms);
}

#endif
