import Foundation

/// Reading statement files in bounded chunks, so memory stays flat however large the file is.
enum StatementFile {
    /// How much is read from disk at a time.
    static let chunkBytes = 64 * 1024

    /// Refuses a file larger than the cap before any parsing starts.
    static func checkSize(of fileURL: URL, bytesMax: Int) throws(PaymentsError) {
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: fileURL.path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw PaymentsError(.unreadable, "cannot read \(fileURL.lastPathComponent): \(error.localizedDescription)")
        }
        guard size <= bytesMax else {
            throw PaymentsError(.tooLarge, "\(fileURL.lastPathComponent) is \(size) bytes; at most \(bytesMax) are accepted")
        }
    }

    /// Opens a file for reading in chunks.
    static func open(_ fileURL: URL) throws(PaymentsError) -> FileHandle {
        do {
            return try FileHandle(forReadingFrom: fileURL)
        } catch {
            throw PaymentsError(.unreadable, "cannot open \(fileURL.lastPathComponent): \(error.localizedDescription)")
        }
    }

    /// Reads the next chunk; empty at the end of the file.
    static func read(_ handle: FileHandle, name: String) throws(PaymentsError) -> Data {
        do {
            return try handle.read(upToCount: chunkBytes) ?? Data()
        } catch {
            throw PaymentsError(.unreadable, "cannot read \(name): \(error.localizedDescription)")
        }
    }

    /// The first bytes of a file, for telling formats apart.
    static func prefix(of fileURL: URL, bytes: Int = 4096) throws(PaymentsError) -> [UInt8] {
        let handle = try open(fileURL)
        defer { try? handle.close() }
        var data = [UInt8]()
        while data.count < bytes {
            let chunk = try read(handle, name: fileURL.lastPathComponent)
            if chunk.isEmpty { break }
            data.append(contentsOf: chunk.prefix(bytes - data.count))
        }
        return data
    }

    /// Refuses XML that declares a document type or entities, scanning the raw bytes before any parser sees them.
    ///
    /// A document type is how external entities (XXE) and entity expansion bombs get in, and no bank statement
    /// needs one. Bytes are scanned rather than parsed, so nothing is expanded or fetched. NUL bytes are refused
    /// too: UTF-16 or UTF-32 text would hide a declaration from a byte scan.
    static func rejectDeclarations(in fileURL: URL) throws(PaymentsError) {
        let handle = try open(fileURL)
        defer { try? handle.close() }
        let patterns = [Array("<!DOCTYPE".utf8), Array("<!ENTITY".utf8)]
        let overlap = patterns.map(\.count).max()! - 1
        var carry: [UInt8] = []
        var offset = 0
        while true {
            let chunk = try read(handle, name: fileURL.lastPathComponent)
            if chunk.isEmpty { return }
            let window = carry + chunk
            if window.contains(0) {
                throw PaymentsError(.unsafeDocument, "\(fileURL.lastPathComponent) contains NUL bytes: only UTF-8 XML is accepted")
            }
            if let declaration = firstIndex(ofAnyOf: patterns, in: window) {
                let (found, pattern) = declaration
                let name = String(decoding: pattern.dropFirst(2), as: UTF8.self)
                throw PaymentsError(
                    .unsafeDocument,
                    "\(fileURL.lastPathComponent) declares <!\(name) at byte \(offset - carry.count + found + 1); documents with a DOCTYPE or ENTITY declaration are refused"
                )
            }
            offset += chunk.count
            carry = Array(window.suffix(overlap))
        }
    }

    /// The first position of any of `patterns` in `bytes`, ignoring ASCII letter case after the first byte, which
    /// all patterns share (`<`), so the bytes are walked once.
    private static func firstIndex(ofAnyOf patterns: [[UInt8]], in bytes: [UInt8]) -> (Int, [UInt8])? {
        let first = patterns[0][0]
        return bytes.withUnsafeBufferPointer { bytes in
            var index = 0
            while index < bytes.count {
                if bytes[index] == first {
                    for pattern in patterns where index + pattern.count <= bytes.count {
                        var matched = true
                        for offset in 1..<pattern.count where bytes[index + offset] | 0x20 != pattern[offset] | 0x20 {
                            matched = false
                            break
                        }
                        if matched { return (index, pattern) }
                    }
                }
                index += 1
            }
            return nil
        }
    }
}

/// Hands out a file's lines one at a time, reading 64 KiB chunks, so a large file never sits in memory whole.
///
/// Lines end with LF, CRLF or CR. Each line is decoded as UTF-8, or as ISO 8859-1 when it is not valid UTF-8
/// (older German MT940 files are Latin-1), so a stray byte never aborts an import.
struct LineReader {
    private let handle: FileHandle
    private let name: String
    private let lineBytesMax: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(fileURL: URL, lineBytesMax: Int) throws(PaymentsError) {
        handle = try StatementFile.open(fileURL)
        name = fileURL.lastPathComponent
        self.lineBytesMax = lineBytesMax
    }

    func close() {
        try? handle.close()
    }

    /// The next line without its terminator, or nil at the end of the file.
    mutating func next() throws(PaymentsError) -> String? {
        while true {
            if let end = buffer[position...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                let bytes = buffer[position..<end]
                position = end + 1
                // CRLF counts as one terminator; a lone CR (old Mac files) as one too.
                if buffer[end] == 0x0D {
                    if position == buffer.count, !atEnd { try fill() }
                    if position < buffer.count, buffer[position] == 0x0A { position += 1 }
                }
                return try decode(bytes)
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                let bytes = buffer[position...]
                position = buffer.count
                return try decode(bytes)
            }
            try fill()
        }
    }

    private mutating func fill() throws(PaymentsError) {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        guard buffer.count <= lineBytesMax else {
            throw PaymentsError(.tooLarge, "line \(lineNumber + 1) of \(name) is longer than \(lineBytesMax) bytes")
        }
        let chunk = try StatementFile.read(handle, name: name)
        if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
    }

    private mutating func decode(_ bytes: ArraySlice<UInt8>) throws(PaymentsError) -> String {
        lineNumber += 1
        guard bytes.count <= lineBytesMax else {
            throw PaymentsError(.tooLarge, "line \(lineNumber) of \(name) is longer than \(lineBytesMax) bytes")
        }
        var slice = bytes
        if lineNumber == 1, slice.starts(with: [0xEF, 0xBB, 0xBF]) { slice = slice.dropFirst(3) }
        if let text = String(validating: slice, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(slice.map { Unicode.Scalar($0) }))
    }
}
