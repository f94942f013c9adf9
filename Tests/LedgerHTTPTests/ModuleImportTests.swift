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
        "LedgerHTTP": ["LedgerService", "LedgerCore", "Directory"],
        "listing-ledger": ["LedgerHTTP", "LedgerService", "LedgerCore", "EventStore", "Payments", "Directory"],
    ]

    @Test(arguments: allowed.keys.sorted())
    func aModuleImportsOnlyWhatTheArchitectureAllows(module: String) throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources").appendingPathComponent(module)
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.allObjects as? [URL])
            .filter { $0.pathExtension == "swift" }
        #expect(!files.isEmpty, "no sources found at \(sources.path)")
        var imported: [String: String] = [:]
        for file in files {
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                      words[..<index].allSatisfy({ ["public", "internal", "package", "@_exported", "@testable"].contains($0) })
                else { continue }
                let name = words[index + 1]
                if Self.ours.contains(name) { imported[name] = file.lastPathComponent }
            }
        }
        let forbidden = Set(imported.keys).subtracting(Self.allowed[module] ?? [])
        #expect(forbidden.isEmpty, "\(module) imports \(forbidden.sorted().map { "\($0) (in \(imported[$0] ?? "?"))" })")
    }
}
