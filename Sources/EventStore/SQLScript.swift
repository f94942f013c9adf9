/// Splits a SQL script into statements, so each can be sent on its own (both drivers prepare one
/// statement at a time).
///
/// Understands single-quoted strings, double-quoted identifiers, `--` and `/* */` comments, and PostgreSQL
/// dollar-quoted bodies (`$$ … $$`, `$tag$ … $tag$`), whose semicolons do not end a statement.
enum SQLScript {
    static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var characters = Array(script)[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            switch character {
            case ";":
                appendTrimmed(current, to: &statements)
                current = ""
            case "'", "\"":
                current.append(character)
                current.append(contentsOf: take(until: character, from: &characters))
            case "-" where characters.first == "-":
                _ = take(until: "\n", from: &characters)
                current.append("\n")
            case "/" where characters.first == "*":
                characters = characters.dropFirst()
                while !characters.isEmpty, !(characters.first == "*" && characters.dropFirst().first == "/") {
                    characters = characters.dropFirst()
                }
                characters = characters.dropFirst(2)
                current.append(" ")
            case "$":
                let tag = dollarTag(after: characters)
                current.append(character)
                guard let tag else { continue }
                let delimiter = Array("$" + tag + "$")
                current.append(contentsOf: tag + "$")
                characters = characters.dropFirst(tag.count + 1)
                while !characters.isEmpty, !characters.starts(with: delimiter) {
                    current.append(characters.removeFirst())
                }
                current.append(contentsOf: String(characters.prefix(delimiter.count)))
                characters = characters.dropFirst(delimiter.count)
            default:
                current.append(character)
            }
        }
        appendTrimmed(current, to: &statements)
        return statements
    }

    /// The tag of a dollar quote starting right after a `$`, or nil if this `$` is not one (e.g. `$1`).
    private static func dollarTag(after characters: ArraySlice<Character>) -> String? {
        var tag = ""
        for character in characters {
            if character == "$" { return tag }
            guard character.isLetter || character == "_" || (!tag.isEmpty && character.isNumber) else { return nil }
            tag.append(character)
        }
        return nil
    }

    /// Takes characters up to and including `terminator`.
    private static func take(until terminator: Character, from characters: inout ArraySlice<Character>) -> String {
        var taken = ""
        while let character = characters.first {
            characters = characters.dropFirst()
            taken.append(character)
            if character == terminator { break }
        }
        return taken
    }

    private static func appendTrimmed(_ statement: String, to statements: inout [String]) {
        let trimmed = statement.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { statements.append(trimmed) }
    }
}

import Foundation
