import SpoolModel
import Testing

@Suite("Shard ownership (Flink's formula)")
struct ShardSpecTests {
    @Test(arguments: [("", Int32(0)), ("a", 97), ("hello", 99_162_322), ("orders", -1_008_770_331), ("clicks", -1_357_714_453),
                      ("ü-topic", 1_711_486_238), ("😀", 1_772_899)])
    func javaHashCodeMatchesJava(text: String, expected: Int32) {
        #expect(ShardSpec.javaHashCode(text) == expected)
    }

    @Test func ownersFollowTheFormula() {
        // Values computed independently (Python, 32-bit Java arithmetic).
        let owners3 = (0..<5).map { ShardSpec.owner(of: TopicPartition(topic: "hello", partition: Int32($0)), shards: 3) }
        #expect(owners3 == [2, 0, 1, 2, 0])
        let owners4 = (0..<5).map { ShardSpec.owner(of: TopicPartition(topic: "orders", partition: Int32($0)), shards: 4) }
        #expect(owners4 == [3, 0, 1, 2, 3])
        let emoji = (0..<5).map { ShardSpec.owner(of: TopicPartition(topic: "😀", partition: Int32($0)), shards: 4) }
        #expect(emoji == [1, 2, 3, 0, 1])
    }

    @Test func everyPartitionHasExactlyOneOwner() {
        for count in 1...7 {
            let shards = (0..<count).map { ShardSpec(index: $0, count: count)! }
            for topic in ["a", "orders", "clicks-7"] {
                for partition in Int32(0)..<40 {
                    let tp = TopicPartition(topic: topic, partition: partition)
                    #expect(shards.filter { $0.owns(tp) }.count == 1, "\(tp) with \(count) shards")
                }
            }
        }
    }

    @Test func parsing() {
        #expect(ShardSpec.parse("0/3") == ShardSpec(index: 0, count: 3))
        #expect(ShardSpec.parse("2/3")?.description == "2/3")
        for bad in ["3/3", "-1/3", "1/0", "1", "1/", "/3", "a/3", "1/3/4", " 1/3", "١/٣"] {
            #expect(ShardSpec.parse(bad) == nil, "\(bad)")
        }
    }
}
