/// One measured row of the benchmark.
struct BenchResult {
    let name: String
    let messages: Int
    let seconds: Double
    let peakBytes: Int64?

    var rate: Double { seconds > 0 ? Double(messages) / seconds : 0 }
}
