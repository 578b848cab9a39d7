internal import CRdKafka
import Dispatch
import Synchronization

/// Wakes librdkafka's broker threads while a backlog is being read.
///
/// librdkafka 2.0.2 stops fetching a partition whose local queue is full and looks at it again
/// only when its broker thread wakes up, which can be a second later: with queues small enough
/// to bound memory, a consumer would then sit idle for most of every second. Any request to a
/// broker wakes its thread, so while messages are being taken, the nudger asks each leader
/// broker for one partition's watermarks every few milliseconds (a tiny ListOffsets request).
/// It stays silent while the consumer is idle or live without traffic.
final class FetchNudger {
    /// The consumer client, kept alive by the nudger. `@unchecked Sendable` because `rd_kafka_t`
    /// is thread-safe for `rd_kafka_query_watermark_offsets`, the only call made from the timer,
    /// and `stop()` ends every use before the owner lets the client go.
    private struct Client: @unchecked Sendable { let client: RDKafkaClient }

    private let client: Client
    private let partitions: [TopicPartition]
    private let queue = DispatchQueue(label: "spool.fetch-nudger")
    private let timer: DispatchSourceTimer
    private let active = ActivityFlag()

    /// Set by the consumer, cleared by each tick.
    private final class ActivityFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Nudges the leaders of `partitions` (one partition per leader broker) every `intervalMs`.
    init(client: RDKafkaClient, partitions: [TopicPartition], intervalMs: Int) {
        self.client = Client(client: client)
        self.partitions = partitions
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .milliseconds(intervalMs), repeating: .milliseconds(intervalMs))
        timer.setEventHandler { [client = self.client, partitions, active] in
            guard active.value.exchange(false, ordering: .relaxed) else { return }
            for tp in partitions {
                var low: Int64 = 0
                var high: Int64 = 0
                _ = client.client.withHandle { rd_kafka_query_watermark_offsets($0, tp.topic, tp.partition, &low, &high, 1_000) }
            }
        }
        timer.resume()
    }

    /// Records that the consumer took a message since the last tick.
    func markActive() {
        active.value.store(true, ordering: .relaxed)
    }

    /// Stops the timer and waits for a running nudge to finish.
    func stop() {
        timer.cancel()
        queue.sync {}
    }
}
