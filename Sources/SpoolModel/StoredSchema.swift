/// A schema as the capture keeps it in its `schemas` table: what the registry answered for one id.
///
/// Kept so that a capture stays readable without its registry, and so that each id is fetched
/// once per database, ever.
public struct StoredSchema: Sendable, Equatable {
    /// The registry's URL without credentials (the identity of the id space).
    public var registry: String
    /// The registry's global schema id.
    public var id: Int32
    /// `AVRO`, `JSON` or `PROTOBUF`.
    public var type: String
    /// The schema text as the registry gave it.
    public var text: String
    /// The schema's references as JSON (`[{"name","subject","version","id"}]`), nil when none.
    public var referencesJSON: String?
    /// When it was fetched (ms since the epoch).
    public var fetchedAt: Int64
    /// For `PROTOBUF`: the registry's serialized `FileDescriptorProto`, base64 as the registry
    /// sends it (`?format=serialized`); nil for the other types or when the registry gave none.
    public var serialized: String?
    /// The GUID a record header named it by (Confluent Platform 8), when it was fetched by GUID
    /// (`GET /schemas/guids/{guid}`): then it is kept by that GUID and `id` is 0.
    public var guid: String?

    /// Creates a stored schema.
    public init(registry: String, id: Int32, type: String, text: String, referencesJSON: String?, fetchedAt: Int64,
                serialized: String? = nil, guid: String? = nil) {
        self.registry = registry
        self.id = id
        self.type = type
        self.text = text
        self.referencesJSON = referencesJSON
        self.fetchedAt = fetchedAt
        self.serialized = serialized
        self.guid = guid
    }
}
