import Foundation
import Testing

/// The Architecture section of the README says which of our modules each module may import. A module can
/// import any module built before it, so this reads the sources and holds them to that table.
@Suite("Module imports")
struct ModuleImportTests {
    static let ours: Set<String> = ["LedgerCore", "EventStore", "Payments", "Directory", "LedgerService", "LedgerHTTP"]
    static let allowed: [String: Set<String>] = [
        "LedgerCore": [],
        "EventStore": [],
        "Payments": ["LedgerCore"],
        "Directory": [],
        "LedgerService": ["LedgerCore", "EventStore", "Payments", "Directory"],
        "LedgerHTTP": ["LedgerService", "LedgerCore"],
        "listing-ledger": ["LedgerHTTP", "LedgerService", "LedgerCore", "EventStore", "Payments", "Directory"],
    ]

    /// The modules of ours a source line imports, if it is an import: `import X`, with any attributes and
    /// access level in front (`@testable`, `private`, …), a declaration kind (`import struct X.Y`), a
    /// submodule (`import X.Y`), and any indentation (inside `#if`).
    static func importedModule(_ line: Substring) -> String? {
        var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        let prefixes: Set<String> = ["public", "internal", "package", "private", "fileprivate"]
        while let first = words.first, first.hasPrefix("@") || prefixes.contains(first) { words.removeFirst() }
        guard words.first == "import", words.count >= 2 else { return nil }
        words.removeFirst()
        let kinds: Set<String> = ["typealias", "struct", "class", "enum", "protocol", "let", "var", "func"]
        if let first = words.first, kinds.contains(first), words.count >= 2 { words.removeFirst() }
        guard let path = words.first, let module = path.split(separator: ".").first.map(String.init) else { return nil }
        return module
    }

    /// The modules of ours a target of the package manifest lists among its dependencies.
    static func declaredDependencies(of target: String) throws -> Set<String> {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let declaration = try Regex("\\.(executableTarget|target)\\(\\s*name: \"\(target)\",")
        guard let start = manifest.firstMatch(of: declaration) else { return [] }
        let rest = manifest[start.range.upperBound...]
        let block = rest[..<(rest.range(of: "swiftSettings:")?.lowerBound ?? rest.endIndex)]
        return Set(ours.filter { block.contains("\"\($0)\"") })
    }

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func importsAreFoundWhateverIsWrittenAroundThem() {
        let lines: [(Substring, String?)] = [
            ("import LedgerCore", "LedgerCore"), ("public import EventStore", "EventStore"),
            ("@testable import LedgerService", "LedgerService"), ("private import Payments", "Payments"),
            ("fileprivate import Directory", "Directory"), ("@preconcurrency internal import LedgerHTTP", "LedgerHTTP"),
            ("import struct LedgerCore.Money", "LedgerCore"), ("    import EventStore", "EventStore"),
            ("import EventStore.Submodule", "EventStore"), ("let x = 1 // import EventStore", nil), ("// import EventStore", nil),
            ("imports EventStore", nil),
        ]
        for (line, module) in lines { #expect(Self.importedModule(line) == module, "\(line)") }
    }

    @Test(arguments: allowed.keys.sorted())
    func aModuleImportsOnlyWhatTheArchitectureAllows(module: String) throws {
        let sources = Self.root.appendingPathComponent("Sources").appendingPathComponent(module)
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.allObjects as? [URL])
            .filter { $0.pathExtension == "swift" }
        #expect(!files.isEmpty, "no sources found at \(sources.path)")
        var imported: [String: String] = [:]
        for file in files {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                if let name = Self.importedModule(line), Self.ours.contains(name) { imported[name] = file.lastPathComponent }
            }
        }
        let forbidden = Set(imported.keys).subtracting(Self.allowed[module] ?? [])
        #expect(forbidden.isEmpty, "\(module) imports \(forbidden.sorted().map { "\($0) (in \(imported[$0] ?? "?"))" })")
        // What a module imports, the manifest declares: Swift would let it import any module built before it.
        let undeclared = Set(imported.keys).subtracting(try Self.declaredDependencies(of: module))
        #expect(undeclared.isEmpty, "\(module) imports \(undeclared.sorted()) without declaring it in Package.swift")
        let declaredButForbidden = try Self.declaredDependencies(of: module).subtracting(Self.allowed[module] ?? [])
        #expect(declaredButForbidden.isEmpty, "Package.swift gives \(module) \(declaredButForbidden.sorted())")
    }
}
