/// Receives what ``XMLTokenizer`` reads, in document order.
protocol XMLTokenHandler {
    /// An element opens; `line` is where its start tag begins.
    mutating func startElement(_ tag: XMLStartTag, line: Int) throws
    /// Character data inside the root element, with references replaced and CDATA unwrapped. One text node may
    /// arrive in several pieces. The bytes are valid UTF-8 and only valid during the call.
    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws
    /// The innermost open element closes; an empty-element tag (`<a/>`) closes right after it opens.
    mutating func endElement(line: Int) throws
}

/// A start tag as read: the name split at its namespace prefix, and the attributes with their values decoded.
///
/// The name's bytes point into the tokenizer's buffer and are valid only during ``XMLTokenHandler/startElement(_:line:)``.
struct XMLStartTag {
    /// The name without its prefix, e.g. `Document` for `ns:Document`, as UTF-8.
    var localNameBytes: UnsafeBufferPointer<UInt8>
    /// The namespace prefix, e.g. `ns` for `ns:Document`, as UTF-8; nil for an unprefixed name.
    var prefixBytes: UnsafeBufferPointer<UInt8>?
    /// The attributes in document order, names as written (`xmlns:ns`), values with references replaced.
    var attributes: [XMLAttribute]

    /// The name without its prefix.
    var localName: String { String(decoding: localNameBytes, as: UTF8.self) }
    /// The namespace prefix, nil for an unprefixed name.
    var prefix: String? { prefixBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// The value of the attribute written exactly as `name`.
    func attribute(_ name: String) -> String? {
        attributes.first { $0.name == name }?.value
    }
}

/// One attribute of a start tag.
struct XMLAttribute: Equatable {
    var name: String
    var value: String
}

/// A streaming XML 1.0 tokenizer that refuses anything not well-formed and anything entity-shaped.
///
/// Bytes arrive in chunks through ``feed(_:to:)`` and events leave through an ``XMLTokenHandler`` as soon as
/// they are complete; only an unfinished token is kept between chunks, so memory stays flat however large the
/// document. It reads elements, attributes (quoted with `'` or `"`), text, CDATA, comments, processing
/// instructions and the XML declaration, the five predefined entities and numeric character references.
/// Everything else is refused with a ``PaymentsError`` naming the line and byte: a document type or
/// entity declaration (`unsafeDocument`), any other entity reference, a mismatched or unclosed tag, text
/// outside the root element, a document that ends early, bytes that are not UTF-8 (`malformed`), or an
/// encoding other than UTF-8 (`unsupportedFormat`). No DTD is read, so nothing is ever expanded or fetched.
///
/// Namespaces are split off names but not resolved: the caller reads `xmlns` attributes where it cares.
struct XMLTokenizer {
    /// Where the document ended up in the grammar: before, inside or after its root element.
    enum Phase {
        case prolog, content, epilog
    }

    /// The default cap on one tag, comment, processing instruction or CDATA section.
    static let markupBytesMaxDefault = 128 * 1024

    /// The document's name in error messages, e.g. the file name.
    let documentName: String
    /// A tag, comment, processing instruction or CDATA section longer than this is refused.
    let markupBytesMax: Int
    /// The most attributes one start tag may carry.
    static let attributesPerTagMax = 32

    /// Unread bytes: an unfinished token from the last chunk, then the new chunk.
    private var buffer: [UInt8] = []
    /// The first unread byte in `buffer`.
    private var position = 0
    /// The document offset of `buffer[0]`.
    private var bufferOffset = 0
    /// The line of `buffer[lineCountedTo]`, counted lazily: only events and errors need a line.
    private var line = 1
    private var lineCountedTo = 0
    private var utf8 = UTF8Validator()
    private var sawByteOrderMarkCheck = false
    /// Where the document proper starts: 0, or 3 after a UTF-8 byte order mark. An XML declaration must sit here.
    private var documentStart = 0
    /// Whether the last chunk has arrived, so an unfinished token is an error rather than a reason to wait.
    private(set) var atEnd = false
    private(set) var phase = Phase.prolog
    /// The names of the open elements, back to back, and where each starts.
    private var openNames: [UInt8] = []
    private var openNameStarts: [Int] = []
    /// The attributes of the tag being read, reused from tag to tag.
    var scratchAttributes: [XMLAttribute] = []

    /// Creates a tokenizer for one document.
    init(documentName: String, markupBytesMax: Int = markupBytesMaxDefault) {
        self.documentName = documentName
        self.markupBytesMax = markupBytesMax
    }

    /// The number of elements open right now.
    var depth: Int { openNameStarts.count }

    /// Reads the next chunk, handing every complete event to `handler`.
    mutating func feed<Handler: XMLTokenHandler>(_ chunk: some Collection<UInt8>, to handler: inout Handler) throws {
        precondition(!atEnd, "feed after finish")
        compact()
        let oldCount = buffer.count
        buffer.append(contentsOf: chunk)
        try validateUTF8(from: oldCount)
        try drain(&handler)
    }

    /// Declares the end of the document: anything unfinished or unclosed is an error.
    mutating func finish<Handler: XMLTokenHandler>(_ handler: inout Handler) throws {
        atEnd = true
        compact()
        try drain(&handler)
        guard utf8.isAtBoundary else {
            throw error(.malformed, atOffset: bufferOffset + buffer.count, "the document ends inside a UTF-8 character: it is truncated")
        }
        if let openName = innermostOpenName {
            throw error(.malformed, atOffset: bufferOffset + buffer.count, "the document ends inside <\(openName)>, before </\(openName)>: it is truncated")
        }
        guard phase == .epilog else {
            throw error(.malformed, atOffset: bufferOffset + buffer.count, "the document holds no root element")
        }
    }

    // MARK: The loop

    /// Reads tokens until the buffer ends or holds only the start of one.
    private mutating func drain<Handler: XMLTokenHandler>(_ handler: inout Handler) throws {
        // A local copy of the array reference lets the loop read the bytes while `self` changes.
        let bytes = buffer
        try bytes.withUnsafeBufferPointer { bytes in
            var index = position
            if !sawByteOrderMarkCheck {
                let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
                if bytes.count < mark.count, !atEnd, bytes.elementsEqual(mark.prefix(bytes.count)) { return }
                if bytes.starts(with: mark) { index = mark.count }
                documentStart = index
                sawByteOrderMarkCheck = true
            }
            while index < bytes.count {
                let next = bytes[index] == UInt8(ascii: "<")
                    ? try markup(bytes, at: index, &handler)
                    : try text(bytes, from: index, &handler)
                // No progress means the buffer ends inside a token: wait for the next chunk.
                guard next > index else { break }
                index = next
            }
            position = index
        }
    }

    /// Drops the bytes already read, counting their lines first.
    private mutating func compact() {
        guard position > 0 else { return }
        let unread = buffer
        unread.withUnsafeBufferPointer { bytes in
            countLines(in: bytes, upTo: position)
        }
        buffer.removeSubrange(0..<position)
        bufferOffset += position
        lineCountedTo -= position
        position = 0
    }

    private mutating func validateUTF8(from start: Int) throws {
        let unread = buffer
        let invalid = unread.withUnsafeBufferPointer { bytes in
            utf8.firstInvalidIndex(in: UnsafeBufferPointer(rebasing: bytes[start...])).map { start + $0 }
        }
        guard let invalid else { return }
        let byte = unread[invalid]
        let reason = byte < 0x20
            ? "the control character 0x\(String(byte, radix: 16, uppercase: true)) is not allowed in XML"
            : "the byte 0x\(String(byte, radix: 16, uppercase: true)) is not valid UTF-8"
        let line = unread.withUnsafeBufferPointer { bytes in lineNumber(at: invalid, in: bytes) }
        throw PaymentsError(.malformed, "\(documentName) is not well-formed XML at line \(line), byte \(bufferOffset + invalid + 1): \(reason)")
    }

    // MARK: Lines and errors

    private mutating func countLines(in bytes: UnsafeBufferPointer<UInt8>, upTo index: Int) {
        guard index > lineCountedTo else { return }
        var newlines = 0
        for offset in lineCountedTo..<index where bytes[offset] == 0x0A {
            newlines += 1
        }
        line += newlines
        lineCountedTo = index
    }

    /// The 1-based line of `bytes[index]`; indices must not go backwards by more than one token.
    mutating func lineNumber(at index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        countLines(in: bytes, upTo: index)
        return line
    }

    /// An error at `bytes[index]`, naming the document, the line and the byte.
    mutating func error(_ code: PaymentsError.Code, at index: Int, in bytes: UnsafeBufferPointer<UInt8>, _ reason: String) -> PaymentsError {
        let line = lineNumber(at: index, in: bytes)
        return PaymentsError(code, "\(documentName) is not well-formed XML at line \(line), byte \(bufferOffset + index + 1): \(reason)")
    }

    private mutating func error(_ code: PaymentsError.Code, atOffset offset: Int, _ reason: String) -> PaymentsError {
        let unread = buffer
        let line = unread.withUnsafeBufferPointer { bytes in lineNumber(at: bytes.count, in: bytes) }
        return PaymentsError(code, "\(documentName) is not well-formed XML at line \(line), byte \(offset + 1): \(reason)")
    }

    /// Waits for more bytes when the buffer ends inside a token; refuses the document when no more will come.
    mutating func incomplete(_ what: String, at start: Int, in bytes: UnsafeBufferPointer<UInt8>) throws -> Int {
        if atEnd { throw error(.malformed, at: start, in: bytes, "the document ends inside \(what): it is truncated") }
        guard bytes.count - start <= markupBytesMax else {
            throw error(.tooLarge, at: start, in: bytes, "\(what) is longer than \(markupBytesMax) bytes")
        }
        return start
    }

    // MARK: Open elements

    var innermostOpenName: String? {
        guard let start = openNameStarts.last else { return nil }
        return String(decoding: openNames[start...], as: UTF8.self)
    }

    mutating func pushOpenName(_ name: UnsafeBufferPointer<UInt8>) {
        openNameStarts.append(openNames.count)
        openNames.append(contentsOf: name)
        phase = .content
    }

    /// Whether `name` is the innermost open element's name.
    func innermostOpenNameIs(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let start = openNameStarts.last, openNames.count - start == name.count else { return false }
        return openNames.withUnsafeBufferPointer { open in
            for offset in 0..<name.count where open[start + offset] != name[offset] {
                return false
            }
            return true
        }
    }

    mutating func popOpenName() {
        let start = openNameStarts.removeLast()
        // One at a time: `removeLast(_:)` goes through the general range replacement, slow for a few bytes.
        while openNames.count > start { openNames.removeLast() }
        if openNameStarts.isEmpty { phase = .epilog }
    }

    /// Whether `bytes[index]` is where the document proper starts (after any byte order mark).
    func isDocumentStart(_ index: Int) -> Bool {
        bufferOffset + index == documentStart
    }
}
