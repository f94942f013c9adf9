import Foundation
import LedgerCore
import Payments
import TestSupport

/// The sample statements copied from other projects' test suites, and scratch files for generated ones.
enum BankFixtures {
    /// `Fixtures/bank` next to this file, so tests never depend on a path outside the repository.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/bank")

    static func url(_ relativePath: String) -> URL { directory.appendingPathComponent(relativePath) }

    /// Parses a sample, recording rather than enforcing integrity so the content of samples that do not add up
    /// can still be checked.
    static func statements(_ relativePath: String, policy: BankStatementIntegrityPolicy = .report) throws -> [BankStatement] {
        try BankStatementParser(options: BankStatementParseOptions(integrityPolicy: policy)).statements(fileURL: url(relativePath))
    }

    /// Writes `contents` to a fresh temporary file.
    static func temporaryFile(_ contents: String, extension fileExtension: String) throws -> URL {
        let url = TestScratch.folder.appendingPathComponent("statement-\(UUID().uuidString).\(fileExtension)")
        try Data(contents.utf8).write(to: url)
        return url
    }

    /// The error a parse throws, or nil when it succeeds.
    static func error(parsing url: URL, options: BankStatementParseOptions = BankStatementParseOptions()) -> PaymentsError? {
        do {
            _ = try BankStatementParser(options: options).statements(fileURL: url)
            return nil
        } catch {
            return error
        }
    }
}

func eur(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: "EUR") }
func money(_ minorUnits: Int64, _ currency: String) -> Money { Money(minorUnits: minorUnits, currency: currency) }
func date(_ text: String) -> LocalDate { LocalDate(iso: text)! }
