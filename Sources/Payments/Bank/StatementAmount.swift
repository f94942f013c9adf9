import LedgerCore

/// Exact decimal amounts as statements write them, turned into integer minor units.
enum StatementAmount {
    /// Reads unsigned `digits[separator digits]` as minor units of `currency`.
    ///
    /// Decimals beyond the currency's minor unit are accepted only when they are zeros (`18.150` is 18.15 EUR):
    /// some banks pad to five places, and rounding a real fraction of a cent away would hide an error.
    /// `300,` is 300.00, as MT940 writes it. Nil for anything else, including overflow.
    static func minorUnits(_ text: some StringProtocol, separator: Character, currency: String) -> Int64? {
        if let separatorByte = separator.asciiValue, let value = minorUnitsOfASCII(text.utf8, separator: separatorByte, places: Money.decimals(of: currency)) {
            return value
        }
        var whole = Substring(text)
        var fraction = Substring("")
        if let index = text.firstIndex(of: separator) {
            whole = Substring(text[..<index])
            fraction = Substring(text[text.index(after: index)...])
        }
        guard !whole.isEmpty, whole.allSatisfy(\.isASCIIDigitCharacter), fraction.allSatisfy(\.isASCIIDigitCharacter) else {
            return nil
        }
        let places = Money.decimals(of: currency)
        guard fraction.dropFirst(places).allSatisfy({ $0 == "0" }) else { return nil }
        let kept = String(fraction.prefix(places)).padding(toCount: places)
        let wholeDigits = whole.drop(while: { $0 == "0" })
        guard wholeDigits.count <= 18 else { return nil }
        var value: Int64 = 0
        if !wholeDigits.isEmpty {
            guard let parsed = Int64(wholeDigits) else { return nil }
            value = parsed
        }
        for _ in 0..<places {
            let (scaled, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = scaled
        }
        guard let fractionValue = kept.isEmpty ? 0 : Int64(kept) else { return nil }
        let (total, overflow) = value.addingReportingOverflow(fractionValue)
        return overflow ? nil : total
    }
}

extension StatementAmount {
    /// The common case of ``minorUnits(_:separator:currency:)`` read byte by byte: a few whole digits, an
    /// optional separator, and no more decimals than the currency has. Nil sends anything else, including every
    /// error, to the general reading, so both agree on what they accept.
    fileprivate static func minorUnitsOfASCII(_ bytes: some Collection<UInt8>, separator: UInt8, places: Int) -> Int64? {
        var value: Int64 = 0
        var wholeDigits = 0
        var fractionDigits = 0
        var seenSeparator = false
        for byte in bytes {
            if byte == separator, !seenSeparator {
                seenSeparator = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if seenSeparator { fractionDigits += 1 } else { wholeDigits += 1 }
            // Below 10^18 the arithmetic cannot overflow; longer amounts take the general, checked path.
            guard wholeDigits + places <= 18, fractionDigits <= places else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard wholeDigits > 0 else { return nil }
        for _ in fractionDigits..<places {
            value *= 10
        }
        return value
    }
}

extension Character {
    /// One of the ASCII digits 0-9, alone: a digit followed by a combining mark ("1\u{301}") is not one.
    var isASCIIDigitCharacter: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
}

extension String {
    /// Right-pads with zeros to `count` characters.
    fileprivate func padding(toCount count: Int) -> String {
        self.count >= count ? self : self + String(repeating: "0", count: count - self.count)
    }

    /// Runs of whitespace (spaces, tabs, line breaks, no-break spaces) as one space, trimmed at both ends.
    var collapsingWhitespace: String {
        // Almost every field is short ASCII that is already collapsed: answer those without Unicode properties.
        switch utf8.withContiguousStorageIfAvailable(Self.collapsingASCIIWhitespace) {
        case .unchanged?: return self
        case .collapsed(let bytes)?: return String(decoding: bytes, as: UTF8.self)
        case .notASCII?, nil: break
        }
        var result = ""
        var pendingSpace = false
        for scalar in unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(" ") }
                pendingSpace = false
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private enum ASCIICollapse {
        case unchanged, collapsed([UInt8]), notASCII
    }

    /// ``collapsingWhitespace`` for ASCII bytes, whose only whitespace is tab, line feed, vertical tab, form feed,
    /// carriage return and space.
    private static func collapsingASCIIWhitespace(_ bytes: UnsafeBufferPointer<UInt8>) -> ASCIICollapse {
        var needsWork = false
        var previousIsSpace = true
        for byte in bytes {
            guard byte < 0x80 else { return .notASCII }
            let isSpace = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
            // Leading whitespace, a second whitespace in a row, or whitespace other than a space all change the text.
            if isSpace, previousIsSpace || byte != 0x20 { needsWork = true }
            previousIsSpace = isSpace
        }
        if previousIsSpace, !bytes.isEmpty { needsWork = true }
        guard needsWork else { return .unchanged }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var pendingSpace = false
        for byte in bytes {
            if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                pendingSpace = !result.isEmpty
            } else {
                if pendingSpace { result.append(0x20) }
                pendingSpace = false
                result.append(byte)
            }
        }
        return .collapsed(result)
    }

    /// Nil for an empty string or one of the placeholders banks write when there is no value.
    var nonPlaceholder: String? {
        let trimmed = collapsingWhitespace
        switch trimmed.uppercased() {
        case "", "NONREF", "NOTPROVIDED", "NOT PROVIDED": return nil
        default: return trimmed
        }
    }
}
