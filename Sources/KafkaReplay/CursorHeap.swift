/// A binary min-heap of partition heads keyed by (timestamp, rank).
struct CursorHeap {
    /// A partition head: ordered by timestamp, then by the partition's rank ((topic, partition)
    /// order); `index` says which cursor it is.
    struct Key: Comparable {
        var timestamp: Int64
        var rank: Int
        var index: Int
        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.timestamp != rhs.timestamp ? lhs.timestamp < rhs.timestamp : lhs.rank < rhs.rank
        }
    }

    private var items: [Key] = []

    var min: Key? { items.first }

    mutating func push(_ key: Key) {
        items.append(key)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Key? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < items.count && items[left] < items[smallest] { smallest = left }
                if right < items.count && items[right] < items[smallest] { smallest = right }
                if smallest == parent { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}
