/// Limits and policies every statement parser applies. Each limit has a test at and past it.
public struct BankStatementParseOptions: Sendable, Hashable {
    /// The default file size cap: 50 MiB holds several hundred thousand camt.053 entries.
    public static let fileBytesMaxDefault = 50 * 1024 * 1024
    /// The default cap on transactions inside one batch entry.
    public static let transactionsPerEntryMaxDefault = 10_000
    /// The default cap on one XML element's text, one MT940 field, or one CSV record, in bytes.
    public static let fieldBytesMaxDefault = 64 * 1024
    /// The default cap on statements in one file (a year of daily statements is 366).
    public static let statementsPerFileMaxDefault = 10_000
    /// The default cap on lines in one file. An import holds a file's lines in memory, a few hundred bytes
    /// each, until they are booked.
    public static let linesPerFileMaxDefault = 250_000

    /// Files larger than this are refused before parsing.
    public var fileBytesMax: Int
    /// A batch entry with more transactions than this is refused.
    public var transactionsPerEntryMax: Int
    /// An element text, field or record longer than this is refused, so one line cannot exhaust memory.
    public var fieldBytesMax: Int
    /// A file with more statements than this is refused.
    public var statementsPerFileMax: Int
    /// A file with more lines (transactions) than this is refused.
    public var linesPerFileMax: Int
    /// A file whose lines' texts together pass this is refused: an entry's text is every one of its
    /// transactions' text when they have none of their own, so a small file could otherwise describe far more.
    /// Twice ``fileBytesMax`` unless given.
    public var lineTextBytesMax: Int
    /// Whether a statement that does not add up refuses the file.
    public var integrityPolicy: BankStatementIntegrityPolicy

    /// Creates options; the defaults suit an import.
    public init(
        fileBytesMax: Int = fileBytesMaxDefault,
        transactionsPerEntryMax: Int = transactionsPerEntryMaxDefault,
        fieldBytesMax: Int = fieldBytesMaxDefault,
        statementsPerFileMax: Int = statementsPerFileMaxDefault,
        linesPerFileMax: Int = linesPerFileMaxDefault,
        lineTextBytesMax: Int? = nil,
        integrityPolicy: BankStatementIntegrityPolicy = .enforce
    ) {
        self.fileBytesMax = fileBytesMax
        self.transactionsPerEntryMax = transactionsPerEntryMax
        self.fieldBytesMax = fieldBytesMax
        self.statementsPerFileMax = statementsPerFileMax
        self.linesPerFileMax = linesPerFileMax
        self.lineTextBytesMax = lineTextBytesMax ?? 2 * fileBytesMax
        self.integrityPolicy = integrityPolicy
    }
}
