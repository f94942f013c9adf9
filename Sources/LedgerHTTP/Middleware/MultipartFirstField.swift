import Foundation
import Hummingbird
import NIOCore

/// The boundary of a `multipart/form-data` body, from its `Content-Type`.
enum MultipartBoundary {
    /// The boundary, or nil when the content type is not a multipart form; a multipart form without a usable
    /// boundary is a bad request.
    static func of(_ contentType: String?) throws -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        guard let boundary = contentType.split(separator: ";").lazy.map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count).trimmingCharacters(in: ["\""]) else {
            throw Problem.badRequest("a multipart upload needs a boundary")
        }
        // RFC 2046: at most 70 characters. A longer one would make the search for it cost its length for every
        // byte of the body.
        guard (1...70).contains(boundary.utf8.count) else {
            throw Problem.badRequest("a multipart boundary is 1 to 70 characters (RFC 2046); this one is \(boundary.utf8.count)")
        }
        return boundary
    }
}

/// The first field of a multipart form, read before the rest of the body arrives.
///
/// The console's upload form sends its security token as its first field (browsers send a form's fields in
/// their order on the page), so the token is checked before a byte of the file is kept, and never travels in
/// the address, where browser history and proxy logs would keep it.
struct MultipartFirstField {
    /// The field's name and its text.
    let name: String
    let value: String
    /// The whole body again, from its first byte: what was read ahead, then the rest as it arrives.
    let body: RequestBody

    /// How far the first field is looked for: a name and a token take a few hundred bytes.
    static var bytesMax: Int { 4_096 }

    /// Reads `body` until its first part has ended; nil when the body does not begin with a field (a part
    /// without a file) that ends within ``bytesMax`` bytes. Such a body is refused, so what was read of it is
    /// dropped.
    static func read(_ body: RequestBody, boundary: String) async throws -> MultipartFirstField? {
        var iterator = body.makeAsyncIterator()
        var readAhead: [ByteBuffer] = []
        var seen: [UInt8] = []
        while seen.count <= bytesMax, let buffer = try await iterator.next() {
            readAhead.append(buffer)
            seen += buffer.readableBytesView.prefix(bytesMax + 1 - seen.count)
            if let (name, value) = firstField(seen, boundary: boundary) {
                let rest = RequestBody(asyncSequence: ResumedBody(readAhead: readAhead, rest: ResumedBody.Rest(iterator)))
                return MultipartFirstField(name: name, value: value, body: rest)
            }
        }
        return nil
    }

    /// The name and text of the first part of `bytes` if it has ended and is a field (no `filename`).
    static func firstField(_ bytes: [UInt8], boundary: String) -> (name: String, value: String)? {
        let opening = Array("--\(boundary)\r\n".utf8)
        guard bytes.starts(with: opening) else { return nil }
        let afterOpening = bytes[opening.count...]
        guard let headerEnd = afterOpening.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let closing = Array("\r\n--\(boundary)".utf8)
        let content = bytes[headerEnd.upperBound...]
        guard let end = content.firstRange(of: closing) else { return nil }
        let headers = String(decoding: afterOpening[..<headerEnd.lowerBound], as: UTF8.self)
        var name: String?
        for line in headers.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            for parameter in parts[1].split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                switch pair[0].lowercased() {
                case "name": name = pair[1].trimmingCharacters(in: ["\""])
                case "filename", "filename*": return nil
                default: continue
                }
            }
        }
        guard let name else { return nil }
        return (name, String(decoding: content[..<end.lowerBound], as: UTF8.self))
    }
}

/// A body whose first buffers were read ahead: those again, then the rest of the original body.
struct ResumedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let readAhead: [ByteBuffer]
    let rest: Rest

    /// The original body's iterator, past what was read ahead. A request body is read once, by one reader.
    final class Rest: @unchecked Sendable {
        private var iterator: RequestBody.AsyncIterator

        init(_ iterator: RequestBody.AsyncIterator) {
            self.iterator = iterator
        }

        func next() async throws -> ByteBuffer? { try await iterator.next() }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var readAhead: ArraySlice<ByteBuffer>
        let rest: Rest

        mutating func next() async throws -> ByteBuffer? {
            if let first = readAhead.popFirst() { return first }
            return try await rest.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(readAhead: readAhead[...], rest: rest)
    }
}
