internal import CRdKafka
#if canImport(Glibc)
import Glibc
#endif

/// Points `headers` at the headers of `message`, in order, duplicates included (emptied first;
/// its capacity is kept, so a reused array allocates nothing per message). The pointers lent are
/// valid until the message is destroyed.
func lendHeaders(of message: UnsafeMutablePointer<rd_kafka_message_t>, into headers: inout [RawHeader]) {
    if !headers.isEmpty { headers.removeAll(keepingCapacity: true) }
    var list: OpaquePointer?
    guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
    for index in 0..<rd_kafka_header_cnt(list) {
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        guard rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR,
              let name else { continue }
        headers.append(RawHeader(name: UnsafeRawBufferPointer(start: name, count: strlen(name)),
                                 value: value.map { UnsafeRawBufferPointer(start: $0, count: size) }))
    }
}
