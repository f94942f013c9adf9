/// Tags, comments, CDATA sections, processing instructions and the declarations that are refused.
///
/// Each reader takes the buffer and the index of a `<`, and returns the index after the token, or the same
/// index when the buffer ends inside the token (see ``XMLTokenizer/incomplete(_:at:in:)``).
extension XMLTokenizer {
    mutating func markup<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ handler: inout Handler) throws -> Int {
        guard start + 1 < bytes.count else { return try incomplete("a tag", at: start, in: bytes) }
        let next: Int
        switch bytes[start + 1] {
        case UInt8(ascii: "/"): next = try endTag(bytes, at: start, &handler)
        case UInt8(ascii: "?"): next = try processingInstruction(bytes, at: start)
        case UInt8(ascii: "!"): next = try exclamationMarkup(bytes, at: start, &handler)
        default: next = try startTag(bytes, at: start, &handler)
        }
        guard next - start <= markupBytesMax else {
            throw error(.tooLarge, at: start, in: bytes, "a tag, comment or CDATA section is longer than \(markupBytesMax) bytes")
        }
        return next
    }

    // MARK: Elements

    private mutating func startTag<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ handler: inout Handler) throws -> Int {
        let nameStart = start + 1
        let nameEnd = Self.nameEnd(bytes, from: nameStart)
        guard nameEnd < bytes.count else { return try incomplete("a start tag", at: start, in: bytes) }
        guard nameEnd > nameStart, Self.isNameStart(bytes[nameStart]) else {
            throw error(.malformed, at: start, in: bytes, "'<' is not followed by an element name")
        }
        let name = UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd])
        if !scratchAttributes.isEmpty { scratchAttributes.removeAll(keepingCapacity: true) }
        var index = nameEnd
        let isEmptyElement: Bool
        while true {
            let afterSpace = Self.skipSpace(bytes, from: index)
            guard afterSpace < bytes.count else { return try incomplete("a start tag", at: start, in: bytes) }
            let byte = bytes[afterSpace]
            if byte == UInt8(ascii: ">") {
                index = afterSpace + 1
                isEmptyElement = false
                break
            }
            if byte == UInt8(ascii: "/") {
                guard afterSpace + 1 < bytes.count else { return try incomplete("a start tag", at: start, in: bytes) }
                guard bytes[afterSpace + 1] == UInt8(ascii: ">") else {
                    throw error(.malformed, at: afterSpace, in: bytes, "'/' in the tag <\(Self.string(name))> is not followed by '>'")
                }
                index = afterSpace + 2
                isEmptyElement = true
                break
            }
            guard afterSpace > index else {
                throw error(.malformed, at: afterSpace, in: bytes, "the tag <\(Self.string(name))> needs whitespace before '\(Self.printable(byte))'")
            }
            guard let next = try attribute(bytes, at: afterSpace, tagStart: start, elementName: name) else {
                return try incomplete("a start tag", at: start, in: bytes)
            }
            index = next
        }
        if phase == .epilog {
            throw error(.malformed, at: start, in: bytes, "the element <\(Self.string(name))> follows the root element, which has already closed")
        }
        let line = lineNumber(at: start, in: bytes)
        pushOpenName(name)
        let tag = Self.startTag(name: name, attributes: scratchAttributes)
        try handler.startElement(tag, line: line)
        if isEmptyElement {
            popOpenName()
            try handler.endElement(line: line)
        }
        return index
    }

    private static func startTag(name: UnsafeBufferPointer<UInt8>, attributes: [XMLAttribute]) -> XMLStartTag {
        guard let colon = name.firstIndex(of: UInt8(ascii: ":")) else {
            return XMLStartTag(localNameBytes: name, prefixBytes: nil, attributes: attributes)
        }
        return XMLStartTag(
            localNameBytes: UnsafeBufferPointer(rebasing: name[(colon + 1)...]),
            prefixBytes: UnsafeBufferPointer(rebasing: name[..<colon]),
            attributes: attributes
        )
    }

    /// Reads `name="value"` (or single quotes) into the scratch attributes; nil when the buffer ends first.
    private mutating func attribute(
        _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, tagStart: Int, elementName: UnsafeBufferPointer<UInt8>
    ) throws -> Int? {
        let nameEnd = Self.nameEnd(bytes, from: start)
        guard nameEnd < bytes.count else { return nil }
        guard nameEnd > start, Self.isNameStart(bytes[start]) else {
            throw error(.malformed, at: start, in: bytes, "unexpected '\(Self.printable(bytes[start]))' in the tag <\(Self.string(elementName))>")
        }
        let name = Self.string(UnsafeBufferPointer(rebasing: bytes[start..<nameEnd]))
        var index = Self.skipSpace(bytes, from: nameEnd)
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "=") else {
            throw error(.malformed, at: index, in: bytes, "the attribute \(name) of <\(Self.string(elementName))> has no '=' and value")
        }
        index = Self.skipSpace(bytes, from: index + 1)
        guard index < bytes.count else { return nil }
        let quote = bytes[index]
        guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
            throw error(.malformed, at: index, in: bytes, "the value of the attribute \(name) must be in quotes")
        }
        guard let close = Self.firstIndex(of: quote, in: bytes, from: index + 1) else { return nil }
        let value = try attributeValue(bytes, index + 1..<close)
        // Bounded, so the duplicate check below stays cheap: bank formats use one or two attributes a tag.
        guard scratchAttributes.count < XMLTokenizer.attributesPerTagMax else {
            throw error(.tooLarge, at: start, in: bytes, "the tag <\(Self.string(elementName))> has more than \(XMLTokenizer.attributesPerTagMax) attributes")
        }
        guard !scratchAttributes.contains(where: { $0.name == name }) else {
            throw error(.malformed, at: start, in: bytes, "the attribute \(name) appears twice in <\(Self.string(elementName))>")
        }
        scratchAttributes.append(XMLAttribute(name: name, value: value))
        return close + 1
    }

    private mutating func endTag<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ handler: inout Handler) throws -> Int {
        let nameStart = start + 2
        let nameEnd = Self.nameEnd(bytes, from: nameStart)
        guard nameEnd < bytes.count else { return try incomplete("an end tag", at: start, in: bytes) }
        guard nameEnd > nameStart else {
            throw error(.malformed, at: start, in: bytes, "'</' is not followed by an element name")
        }
        let name = UnsafeBufferPointer(rebasing: bytes[nameStart..<nameEnd])
        let close = Self.skipSpace(bytes, from: nameEnd)
        guard close < bytes.count else { return try incomplete("an end tag", at: start, in: bytes) }
        guard bytes[close] == UInt8(ascii: ">") else {
            throw error(.malformed, at: close, in: bytes, "unexpected '\(Self.printable(bytes[close]))' in the end tag </\(Self.string(name))>")
        }
        guard let open = innermostOpenName else {
            throw error(.malformed, at: start, in: bytes, "the end tag </\(Self.string(name))> closes no open element")
        }
        guard innermostOpenNameIs(name) else {
            throw error(.malformed, at: start, in: bytes, "the end tag </\(Self.string(name))> does not match the open element <\(open)>")
        }
        let line = lineNumber(at: start, in: bytes)
        popOpenName()
        try handler.endElement(line: line)
        return close + 1
    }

    // MARK: Comments, CDATA and declarations

    private mutating func exclamationMarkup<Handler: XMLTokenHandler>(
        _ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ handler: inout Handler
    ) throws -> Int {
        switch Self.match(bytes, at: start, Self.commentOpening, ignoringCase: false) {
        case .full: return try comment(bytes, at: start)
        case .partial where !atEnd: return try incomplete("a comment", at: start, in: bytes)
        default: break
        }
        switch Self.match(bytes, at: start, Self.cdataOpening, ignoringCase: false) {
        case .full: return try cdata(bytes, at: start, &handler)
        case .partial where !atEnd: return try incomplete("a CDATA section", at: start, in: bytes)
        default: break
        }
        for declaration in [Self.doctypeOpening, Self.entityOpening] {
            switch Self.match(bytes, at: start, declaration, ignoringCase: true) {
            case .full:
                let name = Self.string(UnsafeBufferPointer(rebasing: bytes[(start + 2)..<(start + declaration.count)]))
                throw error(.unsafeDocument, at: start, in: bytes, "the document declares <!\(name); documents with a DOCTYPE or ENTITY declaration are refused")
            case .partial where !atEnd: return try incomplete("a declaration", at: start, in: bytes)
            default: break
            }
        }
        throw error(.malformed, at: start, in: bytes, "'<!' starts neither a comment nor a CDATA section")
    }

    private mutating func comment(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) throws -> Int {
        var index = start + Self.commentOpening.count
        while true {
            guard let dash = Self.firstIndex(of: UInt8(ascii: "-"), in: bytes, from: index), dash + 2 < bytes.count else {
                return try incomplete("a comment", at: start, in: bytes)
            }
            if bytes[dash + 1] == UInt8(ascii: "-") {
                guard bytes[dash + 2] == UInt8(ascii: ">") else {
                    throw error(.malformed, at: dash, in: bytes, "'--' inside a comment")
                }
                return dash + 3
            }
            index = dash + 1
        }
    }

    private mutating func cdata<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ handler: inout Handler) throws -> Int {
        guard phase == .content else {
            throw error(.malformed, at: start, in: bytes, "a CDATA section outside the root element")
        }
        let contentStart = start + Self.cdataOpening.count
        guard let close = Self.firstIndex(of: Self.cdataClosing, in: bytes, from: contentStart) else {
            return try incomplete("a CDATA section", at: start, in: bytes)
        }
        if close > contentStart {
            let line = lineNumber(at: contentStart, in: bytes)
            try handler.characters(UnsafeBufferPointer(rebasing: bytes[contentStart..<close]), line: line)
        }
        return close + Self.cdataClosing.count
    }

    /// A processing instruction, or the XML declaration when it opens the document.
    private mutating func processingInstruction(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) throws -> Int {
        let targetStart = start + 2
        let targetEnd = Self.nameEnd(bytes, from: targetStart)
        guard targetEnd < bytes.count else { return try incomplete("a processing instruction", at: start, in: bytes) }
        guard targetEnd > targetStart, Self.isNameStart(bytes[targetStart]) else {
            throw error(.malformed, at: start, in: bytes, "'<?' is not followed by a target name")
        }
        guard let close = Self.firstIndex(of: Self.processingInstructionClosing, in: bytes, from: targetEnd) else {
            return try incomplete("a processing instruction", at: start, in: bytes)
        }
        guard close == targetEnd || Self.isSpace(bytes[targetEnd]) else {
            throw error(.malformed, at: targetEnd, in: bytes, "the processing instruction's target is not followed by whitespace")
        }
        let target = Self.string(UnsafeBufferPointer(rebasing: bytes[targetStart..<targetEnd]))
        if target.lowercased() == "xml" {
            guard target == "xml", isDocumentStart(start) else {
                throw error(.malformed, at: start, in: bytes, "an XML declaration may only stand at the very start of the document")
            }
            try checkDeclaration(bytes, targetEnd..<close, at: start)
        }
        return close + Self.processingInstructionClosing.count
    }

    /// Reads `version` and `encoding` of `<?xml … ?>`: only XML 1.x in UTF-8 (or its subset ASCII) is read.
    private mutating func checkDeclaration(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, at start: Int) throws {
        let text = Self.string(UnsafeBufferPointer(rebasing: bytes[range]))
        var version: String?
        var rest = Substring(text)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard !rest.isEmpty else { break }
            guard let equals = rest.firstIndex(of: "=") else {
                throw error(.malformed, at: start, in: bytes, "the XML declaration is not a list of name=\"value\" pairs")
            }
            let name = rest[..<equals].trimmingSpaces
            var valuePart = rest[rest.index(after: equals)...].drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            guard let quote = valuePart.first, quote == "\"" || quote == "'" else {
                throw error(.malformed, at: start, in: bytes, "the XML declaration's \(name) is not quoted")
            }
            valuePart = valuePart.dropFirst()
            guard let closing = valuePart.firstIndex(of: quote) else {
                throw error(.malformed, at: start, in: bytes, "the XML declaration's \(name) has no closing quote")
            }
            let value = String(valuePart[..<closing])
            rest = valuePart[valuePart.index(after: closing)...]
            switch name {
            case "version": version = value
            case "encoding":
                guard ["utf-8", "utf8", "us-ascii", "ascii"].contains(value.lowercased()) else {
                    throw error(.unsupportedFormat, at: start, in: bytes, "the document declares the encoding '\(value.prefix(40))'; only UTF-8 is read")
                }
            case "standalone": break
            default:
                throw error(.malformed, at: start, in: bytes, "the XML declaration has the unknown field '\(name.prefix(40))'")
            }
        }
        guard let version, version.hasPrefix("1.") else {
            throw error(.malformed, at: start, in: bytes, "the XML declaration names no version 1.x")
        }
    }
}

extension Substring {
    /// Without spaces, tabs and line breaks at either end.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
