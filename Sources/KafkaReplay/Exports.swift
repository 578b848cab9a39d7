// The shared vocabulary (TopicPartition, Message, MessageBatch, SourceTopic, OffsetPolicy,
// ReplayRange) moved to SpoolModel; re-exported so users of KafkaReplay keep compiling unchanged.
@_exported import SpoolModel
