import Foundation

/// Writes JSON from plain Swift values, deterministically: `id` and `object` first, then keys in order, as the
/// provider prints its objects. `nil` (an empty `Optional`) becomes `null`.
enum StandInJSON {
    static func data(_ value: any Sendable) -> Data {
        var text = ""
        write(value, into: &text)
        return Data(text.utf8)
    }

    private static func write(_ value: Any, into text: inout String) {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            if let wrapped = mirror.children.first?.value {
                write(wrapped, into: &text)
            } else {
                text += "null"
            }
            return
        }
        switch value {
        case let string as String: writeString(string, into: &text)
        case let bool as Bool: text += bool ? "true" : "false"
        case let number as Int: text += String(number)
        case let number as Int64: text += String(number)
        case let number as Int32: text += String(number)
        case let object as [String: Any]: writeObject(object, into: &text)
        case let array as [Any]:
            text += "["
            for (index, element) in array.enumerated() {
                if index > 0 { text += "," }
                write(element, into: &text)
            }
            text += "]"
        default:
            preconditionFailure("the stand-in cannot write \(type(of: value)) as JSON")
        }
    }

    private static func writeObject(_ object: [String: Any], into text: inout String) {
        let leading = ["id", "object"].filter { object[$0] != nil }
        let keys = leading + object.keys.filter { !leading.contains($0) }.sorted()
        text += "{"
        for (index, key) in keys.enumerated() {
            if index > 0 { text += "," }
            writeString(key, into: &text)
            text += ":"
            write(object[key]!, into: &text)
        }
        text += "}"
    }

    private static func writeString(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
