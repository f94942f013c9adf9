import ArgumentParser
import Foundation
import LedgerCore
import LedgerService
import Payments

extension BenchCommand {
    /// `listing-ledger bench import`: camt.053 parsing and reference matching against a plain read of the file.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and match a generated camt.053 statement of N entries; compare with reading its bytes.",
            discussion: """
                Matching is the pure part of an import: every credit's RF references are found in the structured \
                reference and the free text and looked up in a dictionary of profiles. No database is touched.
                """
        )
        @Option(help: "Entries in the generated statement.") var entries: Int = 100_000
        @Option(help: "Profiles the credits pay for.") var profiles: Int = 1_000
        @Option(help: "Runs of each measurement; the fastest counts.") var runs: Int = 3
        @Option(help: "Write the statement here and keep it (default: a temporary file, removed afterwards).") var file: String?

        func validate() throws {
            guard (1...1_000_000).contains(entries), (1...100_000).contains(profiles), (1...100).contains(runs) else {
                throw ValidationError("--entries must be 1 to 1,000,000, --profiles 1 to 100,000 and --runs 1 to 100")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let url = file.map { URL(fileURLWithPath: $0) }
                    ?? FileManager.default.temporaryDirectory.appendingPathComponent("bench-import-\(UUID().uuidString).xml")
                let statement = try BenchImportStatement(entryCount: entries, profileCount: profiles)
                try statement.write(to: url)
                defer { if file == nil { try? FileManager.default.removeItem(at: url) } }
                let fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
                print(String(format: "generated %d entries, %.1f MiB: %@", entries, Double(fileBytes) / 1_048_576, url.path))

                let owners = Dictionary(uniqueKeysWithValues: zip(statement.references.map(\.electronic), statement.profileIDs))
                // The default cap is 50 MiB; a large generated file is allowed past it, it is ours.
                let options = BankStatementParseOptions(
                    fileBytesMax: max(BankStatementParseOptions.fileBytesMaxDefault, fileBytes), linesPerFileMax: max(BankStatementParseOptions.linesPerFileMaxDefault, 2 * entries)
                )
                var referenceSeconds = Double.infinity
                var parseSeconds = Double.infinity
                var referenceCPUSeconds = Double.infinity
                var parseCPUSeconds = Double.infinity
                var outcome = MatchOutcome()
                for _ in 0..<runs {
                    let (seconds, cpuSeconds, count) = try Self.measure { try Self.countEntryTags(in: url) }
                    guard count == entries else { throw Failure.failed("the reference read counted \(count) <Ntry> tags, not \(entries)") }
                    referenceSeconds = min(referenceSeconds, seconds)
                    referenceCPUSeconds = min(referenceCPUSeconds, cpuSeconds)
                    let (parsed, parsedCPU, result) = try Self.measure { try Self.parseAndMatch(url, options: options, owners: owners) }
                    parseSeconds = min(parseSeconds, parsed)
                    parseCPUSeconds = min(parseCPUSeconds, parsedCPU)
                    outcome = result
                }
                guard outcome.entries == entries, outcome.unmatched == 0 else {
                    throw Failure.failed("parsed \(outcome.entries) entries with \(outcome.unmatched) credits unmatched; expected \(entries) and 0")
                }
                let referenceRate = Double(entries) / referenceSeconds
                let parseRate = Double(entries) / parseSeconds
                print(String(
                    format: "reference (read bytes, count <Ntry>): %.3f s, %.0f entries/s, %.0f MiB/s; CPU %.3f s, %.0f entries/s",
                    referenceSeconds, referenceRate, Double(fileBytes) / 1_048_576 / referenceSeconds,
                    referenceCPUSeconds, Double(entries) / referenceCPUSeconds
                ))
                print(String(
                    format: "parse + match: %.3f s, %.0f entries/s (%d lines, %d credits matched, %d debits), %.0f MiB/s; CPU %.3f s, %.0f entries/s",
                    parseSeconds, parseRate, outcome.lines, outcome.matched, outcome.debits, Double(fileBytes) / 1_048_576 / parseSeconds,
                    parseCPUSeconds, Double(entries) / parseCPUSeconds
                ))
                print(String(
                    format: "ratio parse+match / reference: %.3f; best of %d runs; peak RSS %d MiB",
                    parseRate / referenceRate, runs, PeakMemory.residentMiB()
                ))
            }
        }

        /// What parsing and matching found.
        struct MatchOutcome {
            var entries = 0
            var lines = 0
            var matched = 0
            var unmatched = 0
            var debits = 0
        }

        /// Parses the statement and matches each credit as an import does: the first RF reference with valid check
        /// digits in the structured reference or the free text that belongs to a profile.
        static func parseAndMatch(_ url: URL, options: BankStatementParseOptions, owners: [String: ProfileID]) throws -> MatchOutcome {
            var outcome = MatchOutcome()
            let summary = try BankStatementParser(options: options).parse(fileURL: url, format: .camt053) { line in
                outcome.lines += 1
                if line.transactionIndex == 0 { outcome.entries += 1 }
                guard line.direction == .credit else {
                    outcome.debits += 1
                    return
                }
                if CreditorReference.find(in: BankStatementImport.referenceText(line)).contains(where: { owners[$0.electronic] != nil }) {
                    outcome.matched += 1
                } else {
                    outcome.unmatched += 1
                }
            }
            guard summary.statements.allSatisfy({ $0.integrity == .balanced }) else {
                throw Failure.failed("the generated statement does not add up: \(summary.statements.map(\.integrity))")
            }
            return outcome
        }

        /// The reference: every byte read from disk in 64 KiB chunks, as the parser reads them, and `<Ntry>` counted.
        static func countEntryTags(in url: URL) throws -> Int {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let tag = Array("<Ntry>".utf8)
            var carry: [UInt8] = []
            var count = 0
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                // A tag may straddle two chunks: keep the last few bytes of each.
                let window = carry + chunk
                window.withUnsafeBufferPointer { bytes in
                    var index = 0
                    let last = bytes.count - tag.count
                    while index <= last {
                        if bytes[index] == tag[0], bytes[index + 1] == tag[1], bytes[index + 2] == tag[2], bytes[index + 3] == tag[3],
                           bytes[index + 4] == tag[4], bytes[index + 5] == tag[5] {
                            count += 1
                            index += tag.count
                        } else {
                            index += 1
                        }
                    }
                }
                carry = Array(window.suffix(tag.count - 1))
            }
            return count
        }

        /// Wall-clock seconds, CPU seconds of the process, and the result. On a shared machine the CPU time is
        /// the steadier figure: it does not count the time other processes held the CPU.
        private static func measure<Result>(_ body: () throws -> Result) throws -> (Double, Double, Result) {
            let clock = ContinuousClock()
            let started = clock.now
            let startedCPU = processCPUSeconds()
            let result = try body()
            return ((clock.now - started).seconds, processCPUSeconds() - startedCPU, result)
        }

        private static func processCPUSeconds() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
    }
}
