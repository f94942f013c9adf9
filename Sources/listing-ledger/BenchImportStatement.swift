import Foundation
import LedgerCore

/// A generated camt.053.001.08 statement for `bench import`: deterministic, balanced, and shaped like a busy
/// month of contributions.
///
/// Entry `i` is, by its position: every 50th (from 7) a debit; every 25th (from 3) a batch of three credits;
/// otherwise one credit of 125.00 (every 7th 250.00). Each credit carries the RF reference of profile
/// `bench-profile-(i mod profileCount)`, in `RmtInf/Strd/CdtrRefInf/Ref` for two entries in three and typed
/// into `RmtInf/Ustrd` in lower case with spaces for the third.
struct BenchImportStatement {
    static let namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    /// Valid IBANs the payers pay from, cycled.
    static let payerIBANs = [
        "DE89370400440532013000", "NL91ABNA0417164300", "GB29NWBK60161331926819", "FR1420041010050500013M02606", "BE68539007547034",
    ]
    static let openingMinorUnits: Int64 = 1_000_000

    let entryCount: Int
    let profileIDs: [ProfileID]
    let references: [CreditorReference]

    init(entryCount: Int, profileCount: Int) throws {
        self.entryCount = entryCount
        profileIDs = try (0..<profileCount).map { try ProfileID("bench-profile-\($0)") }
        references = profileIDs.map(CreditorReference.forProfile)
    }

    /// What entry `index` is.
    enum Kind {
        case debit(Int64)
        case batch([Int64])
        case credit(Int64)
    }

    static func kind(of index: Int) -> Kind {
        if index % 50 == 7 { return .debit(1_250 + Int64(index % 13) * 100) }
        if index % 25 == 3 { return .batch([12_500, 12_500, 25_000]) }
        return .credit(index % 7 == 0 ? 25_000 : 12_500)
    }

    /// The closing balance: opening plus every credit minus every debit.
    var closingMinorUnits: Int64 {
        var balance = Self.openingMinorUnits
        for index in 0..<entryCount {
            switch Self.kind(of: index) {
            case .debit(let amount): balance -= amount
            case .batch(let parts): balance += parts.reduce(0, +)
            case .credit(let amount): balance += amount
            }
        }
        return balance
    }

    /// Writes the statement to `url`, 64 KiB at a time.
    func write(to url: URL) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var pending = head()
        for index in 0..<entryCount {
            pending += entry(index)
            if pending.utf8.count >= 64 * 1024 {
                try handle.write(contentsOf: Data(pending.utf8))
                pending = ""
            }
        }
        pending += "</Stmt>\n</BkToCstmrStmt>\n</Document>\n"
        try handle.write(contentsOf: Data(pending.utf8))
    }

    private func head() -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <Document xmlns="\(Self.namespace)" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <BkToCstmrStmt>
        <GrpHdr><MsgId>BENCH-\(entryCount)</MsgId><CreDtTm>2026-02-01T06:00:00+01:00</CreDtTm></GrpHdr>
        <Stmt><Id>BENCH-2026-01</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2026-02-01T06:00:00+01:00</CreDtTm>
        <Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
        \(balance("OPBD", Self.openingMinorUnits, date: "2026-01-01"))
        \(balance("CLBD", closingMinorUnits, date: "2026-01-31"))

        """
    }

    private func balance(_ code: String, _ minorUnits: Int64, date: String) -> String {
        let direction = minorUnits < 0 ? "DBIT" : "CRDT"
        return "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">\(Self.decimal(abs(minorUnits)))</Amt>"
            + "<CdtDbtInd>\(direction)</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>"
    }

    private func entry(_ index: Int) -> String {
        let day = 1 + index % 28
        let date = "2026-01-\(day < 10 ? "0" : "")\(day)"
        let amount: Int64
        let direction: String
        let details: String
        switch Self.kind(of: index) {
        case .debit(let minorUnits):
            amount = minorUnits
            direction = "DBIT"
            details = "<TxDtls><Refs><EndToEndId>FEE-\(index)</EndToEndId></Refs><Amt Ccy=\"EUR\">\(Self.decimal(minorUnits))</Amt>"
                + "<RltdPties><Cdtr><Pty><Nm>Bank &amp; Fees Ltd</Nm></Pty></Cdtr></RltdPties><RmtInf><Ustrd>Account fee</Ustrd></RmtInf></TxDtls>"
        case .batch(let parts):
            amount = parts.reduce(0, +)
            direction = "CRDT"
            details = parts.enumerated().map { part, minorUnits in
                transaction(index * 3 + part, minorUnits: minorUnits, endToEndID: "BATCH-\(index)-\(part)")
            }.joined()
        case .credit(let minorUnits):
            amount = minorUnits
            direction = "CRDT"
            details = transaction(index, minorUnits: minorUnits, endToEndID: "E2E-\(index)")
        }
        return "<Ntry><Amt Ccy=\"EUR\">\(Self.decimal(amount))</Amt><CdtDbtInd>\(direction)</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            + "<BookgDt><Dt>\(date)</Dt></BookgDt><ValDt><Dt>\(date)</Dt></ValDt><AcctSvcrRef>BANK-\(index)</AcctSvcrRef>"
            + "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            + "<NtryDtls>\(details)</NtryDtls></Ntry>\n"
    }

    /// One incoming transfer paying profile `payer mod profileCount`.
    private func transaction(_ payer: Int, minorUnits: Int64, endToEndID: String) -> String {
        let reference = references[payer % references.count]
        let remittance = payer % 3 == 2
            ? "<Ustrd>Contribution \(reference.printed.lowercased()) thank you</Ustrd>"
            : "<Ustrd>Contribution</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
                + "<Ref>\(reference.electronic)</Ref></CdtrRefInf></Strd>"
        return "<TxDtls><Refs><EndToEndId>\(endToEndID)</EndToEndId></Refs><Amt Ccy=\"EUR\">\(Self.decimal(minorUnits))</Amt>"
            + "<RltdPties><Dbtr><Pty><Nm>Payer \(payer % 5_000)</Nm></Pty></Dbtr>"
            + "<DbtrAcct><Id><IBAN>\(Self.payerIBANs[payer % Self.payerIBANs.count])</IBAN></Id></DbtrAcct></RltdPties>"
            + "<RmtInf>\(remittance)</RmtInf></TxDtls>"
    }

    private static func decimal(_ minorUnits: Int64) -> String {
        Money(minorUnits: minorUnits, currency: "EUR").decimalString
    }
}
