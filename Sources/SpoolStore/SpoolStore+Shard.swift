import SpoolModel

extension SpoolStore {
    /// Whether the schema has the shard table (migration 6).
    var hasShard: Bool { schemaVersion >= 6 }

    /// The shard this file belongs to, or nil for a whole capture.
    public func shardSpec() throws -> ShardSpec? {
        guard hasShard else { return nil }
        let query = try connection.prepare("SELECT shard_index, shard_count FROM shard WHERE id = 1")
        guard try query.step() else { return nil }
        return ShardSpec(index: Int(query.int64(0)), count: Int(query.int64(1)))
    }

    /// When the file's shard was recorded (Unix ms), nil for a whole capture.
    public func shardRecordedAt() throws -> Int64? {
        guard hasShard else { return nil }
        return try connection.integer("SELECT recorded_at FROM shard WHERE id = 1")
    }

    /// Records the file as shard `spec`'s. Call once, before its first capture as a shard.
    public func recordShard(_ spec: ShardSpec) throws {
        try requireWriter()
        let insert = try connection.prepare("INSERT INTO shard (id, shard_index, shard_count, recorded_at) VALUES (1, ?1, ?2, ?3)")
        insert.bind(1, Int64(spec.index))
        insert.bind(2, Int64(spec.count))
        insert.bind(3, WallClock.nowMs())
        try insert.run()
    }
}
