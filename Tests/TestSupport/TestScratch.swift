public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where tests put the files and databases they make: one folder per test process in the system's temporary
/// folder, removed when the process exits. A folder left by a process that was killed (so never exited) is
/// removed by the next test process that starts.
public enum TestScratch {
    static let prefix = "ledger-test-run-"

    /// This process's folder, made on first use.
    public static let folder: URL = {
        let base = FileManager.default.temporaryDirectory
        removeLeftovers(in: base)
        let folder = base.appendingPathComponent("\(prefix)\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TestScratch.folder) }
        return folder
    }()

    /// Removes the folders of test processes that no longer run.
    static func removeLeftovers(in base: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { try? FileManager.default.removeItem(at: base.appendingPathComponent(name)) }
        }
    }
}
