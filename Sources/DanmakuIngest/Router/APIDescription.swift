// Danmaku — a live-stream bullet-comment service.

/// A JSON Schema (the subset the API document uses), for request and answer bodies.
public indirect enum JSONSchema: Sendable {
    case string(minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, format: String? = nil)
    /// One of these strings.
    case enumeration([String])
    case integer(minimum: Int64? = nil, maximum: Int64? = nil)
    case number(minimum: Double? = nil, maximum: Double? = nil)
    case boolean
    case array(JSONSchema, maxItems: Int? = nil)
    /// An object with these properties (in this order), `required` among them.
    case object([(String, JSONSchema)], required: [String] = [], closed: Bool = false)
    /// An object whose every value has this schema (`additionalProperties`).
    case map(JSONSchema)
    /// A schema of `components.schemas`.
    case ref(String)
    /// The schema, or `null`.
    case nullable(JSONSchema)
    /// Any JSON value.
    case any

    /// The schema as a JSON object.
    var json: [String: Any] {
        switch self {
        case .string(let minLength, let maxLength, let pattern, let format):
            var out: [String: Any] = ["type": "string"]
            if let minLength { out["minLength"] = minLength }
            if let maxLength { out["maxLength"] = maxLength }
            if let pattern { out["pattern"] = pattern }
            if let format { out["format"] = format }
            return out
        case .enumeration(let values):
            return ["type": "string", "enum": values]
        case .integer(let minimum, let maximum):
            var out: [String: Any] = ["type": "integer"]
            if let minimum { out["minimum"] = minimum }
            if let maximum { out["maximum"] = maximum }
            return out
        case .number(let minimum, let maximum):
            var out: [String: Any] = ["type": "number"]
            if let minimum { out["minimum"] = minimum }
            if let maximum { out["maximum"] = maximum }
            return out
        case .boolean:
            return ["type": "boolean"]
        case .array(let items, let maxItems):
            var out: [String: Any] = ["type": "array", "items": items.json]
            if let maxItems { out["maxItems"] = maxItems }
            return out
        case .object(let properties, let required, let closed):
            var out: [String: Any] = ["type": "object", "properties": Dictionary(properties.map { ($0.0, $0.1.json) }) { first, _ in first }]
            if !required.isEmpty { out["required"] = required }
            if closed { out["additionalProperties"] = false }
            return out
        case .map(let values):
            return ["type": "object", "additionalProperties": values.json]
        case .ref(let name):
            return ["$ref": "#/components/schemas/\(name)"]
        case .nullable(let schema):
            return ["anyOf": [schema.json, ["type": "null"]]]
        case .any:
            return [:]
        }
    }
}

/// A query or header parameter.
public struct APIParameter: Sendable {
    public var name: String
    public var schema: JSONSchema
    public var description: String
    public var required: Bool

    public init(_ name: String, _ schema: JSONSchema, _ description: String, required: Bool = false) {
        self.name = name
        self.schema = schema
        self.description = description
        self.required = required
    }
}

/// A request body: JSON of a schema.
public struct APIBody: Sendable {
    public var schema: JSONSchema
    public var required: Bool
    /// The media type it is documented as.
    public var mediaType = "application/json"
    /// Whether it is a whole file (a pool's import), bounded by `IngestConfiguration.maxFileBodyBytes`
    /// rather than `maxBodyBytes`.
    public var isFile = false

    public static func json(_ schema: JSONSchema, required: Bool = true) -> APIBody {
        APIBody(schema: schema, required: required)
    }

    /// A file of `mediaType`, sent as the raw body.
    public static func file(mediaType: String) -> APIBody {
        APIBody(schema: .string(minLength: 1), required: true, mediaType: mediaType, isFile: true)
    }
}

/// One successful answer of an endpoint.
public struct APIAnswerSpec: Sendable {
    public enum Content: Sendable {
        case json(JSONSchema)
        /// A body of this media type that is not JSON (pages, scripts, metrics).
        case other(String)
        /// A file in one of these media types, each with its schema (a string for text files).
        case files([(mediaType: String, schema: JSONSchema)])
        /// Server-Sent Events: each event's fields (the messages in `data` are in docs/PROTOCOL.md).
        case eventStream
        case none
    }

    public var status: Int
    public var description: String
    public var content: Content

    public static func json(_ status: Int = 200, _ description: String, _ schema: JSONSchema) -> APIAnswerSpec {
        APIAnswerSpec(status: status, description: description, content: .json(schema))
    }

    public static func other(_ status: Int = 200, _ description: String, mediaType: String) -> APIAnswerSpec {
        APIAnswerSpec(status: status, description: description, content: .other(mediaType))
    }

    /// A file in one of `mediaTypes`, as the request chose.
    public static func files(_ status: Int = 200, _ description: String, _ mediaTypes: [(mediaType: String, schema: JSONSchema)]) -> APIAnswerSpec {
        APIAnswerSpec(status: status, description: description, content: .files(mediaTypes))
    }

    public static func eventStream(_ description: String) -> APIAnswerSpec {
        APIAnswerSpec(status: 200, description: description, content: .eventStream)
    }

    public static func empty(_ status: Int, _ description: String) -> APIAnswerSpec {
        APIAnswerSpec(status: status, description: description, content: .none)
    }
}

/// Errors an endpoint may answer with one status: the codes, as the protocol document lists them.
public struct APIErrorSpec: Sendable {
    public var status: Int
    public var codes: [String]

    public init(_ status: Int, _ codes: String...) {
        self.status = status
        self.codes = codes
    }
}

/// A link from an endpoint's success to an operation that may follow it (OpenAPI `links`): what a
/// client does next with what it was answered, and what a stateful fuzzer chains (post, then like,
/// then recall).
public struct APILink: Sendable {
    public var name: String
    public var method: String
    public var path: String
    /// Parameter → runtime expression, such as `$response.body#/id`.
    public var parameters: [(String, String)]
    /// The next request's JSON body: field → runtime expression.
    public var body: [(String, String)]

    public init(_ name: String, _ method: String, _ path: String, parameters: [(String, String)], body: [(String, String)] = []) {
        self.name = name
        self.method = method
        self.path = path
        self.parameters = parameters
        self.body = body
    }
}
