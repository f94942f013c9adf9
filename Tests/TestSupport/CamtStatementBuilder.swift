public import Foundation

/// Writes camt.053.001.08 statements for tests: entries in, balances that add up out.
public struct CamtStatementBuilder: Sendable {
    /// One transaction inside an entry.
    public struct Transaction: Sendable {
        public var amount: String
        public var endToEndID: String?
        public var payerName: String?
        public var payerIBAN: String?
        public var structuredReference: String?
        public var text: String?
        public var returnReason: String?

        public init(
            amount: String, endToEndID: String? = nil, payerName: String? = nil, payerIBAN: String? = nil,
            structuredReference: String? = nil, text: String? = nil, returnReason: String? = nil
        ) {
            self.amount = amount
            self.endToEndID = endToEndID
            self.payerName = payerName
            self.payerIBAN = payerIBAN
            self.structuredReference = structuredReference
            self.text = text
            self.returnReason = returnReason
        }
    }

    /// One entry: a credit or debit, booked on a day, with one transaction or a batch.
    public struct Entry: Sendable {
        public var credit: Bool
        public var date: String
        public var bankReference: String?
        public var transactions: [Transaction]
        /// Written with status `PDNG`: not booked yet, and left out of the balances.
        public var pending: Bool

        public init(credit: Bool = true, date: String, bankReference: String?, transactions: [Transaction], pending: Bool = false) {
            self.credit = credit
            self.date = date
            self.bankReference = bankReference
            self.transactions = transactions
            self.pending = pending
        }
    }

    /// One statement: an account in one currency and its entries.
    public struct Statement: Sendable {
        public var id: String
        public var iban: String
        public var currency: String
        public var openingCents: Int64
        public var entries: [Entry]

        public init(id: String, iban: String, currency: String = "EUR", openingCents: Int64 = 100_000, entries: [Entry]) {
            self.id = id
            self.iban = iban
            self.currency = currency
            self.openingCents = openingCents
            self.entries = entries
        }
    }

    public var statements: [Statement]

    public init(statements: [Statement]) {
        self.statements = statements
    }

    static func cents(_ amount: String) -> Int64 {
        let parts = amount.split(separator: ".")
        return Int64(parts[0])! * 100 + (parts.count > 1 ? Int64(parts[1].padding(toLength: 2, withPad: "0", startingAt: 0))! : 0)
    }

    static func amount(_ cents: Int64) -> String {
        "\(cents / 100).\(String(format: "%02d", cents % 100))"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The document.
    public var xml: String {
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
            <BkToCstmrStmt><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-06T08:00:00</CreDtTm></GrpHdr>

            """
        for statement in statements {
            var closing = statement.openingCents
            for entry in statement.entries where !entry.pending {
                let total = entry.transactions.reduce(Int64(0)) { $0 + Self.cents($1.amount) }
                closing += entry.credit ? total : -total
            }
            out += "<Stmt><Id>\(statement.id)</Id><Acct><Id><IBAN>\(statement.iban)</IBAN></Id><Ccy>\(statement.currency)</Ccy></Acct>\n"
            for (code, cents, date) in [("OPBD", statement.openingCents, "2026-03-01"), ("CLBD", closing, "2026-03-06")] {
                out += "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp><Amt Ccy=\"\(statement.currency)\">\(Self.amount(abs(cents)))</Amt>"
                out += "<CdtDbtInd>\(cents >= 0 ? "CRDT" : "DBIT")</CdtDbtInd><Dt><Dt>\(date)</Dt></Dt></Bal>\n"
            }
            for entry in statement.entries {
                let total = entry.transactions.reduce(Int64(0)) { $0 + Self.cents($1.amount) }
                out += "<Ntry><Amt Ccy=\"\(statement.currency)\">\(Self.amount(total))</Amt><CdtDbtInd>\(entry.credit ? "CRDT" : "DBIT")</CdtDbtInd>"
                out += "<Sts><Cd>\(entry.pending ? "PDNG" : "BOOK")</Cd></Sts><BookgDt><Dt>\(entry.date)</Dt></BookgDt><ValDt><Dt>\(entry.date)</Dt></ValDt>"
                if let reference = entry.bankReference { out += "<AcctSvcrRef>\(reference)</AcctSvcrRef>" }
                out += "<NtryDtls>"
                for transaction in entry.transactions {
                    out += "<TxDtls>"
                    if let id = transaction.endToEndID { out += "<Refs><EndToEndId>\(id)</EndToEndId></Refs>" }
                    out += "<Amt Ccy=\"\(statement.currency)\">\(transaction.amount)</Amt>"
                    if transaction.payerName != nil || transaction.payerIBAN != nil {
                        out += "<RltdPties>"
                        if let name = transaction.payerName { out += "<Dbtr><Pty><Nm>\(Self.escape(name))</Nm></Pty></Dbtr>" }
                        if let iban = transaction.payerIBAN { out += "<DbtrAcct><Id><IBAN>\(iban)</IBAN></Id></DbtrAcct>" }
                        out += "</RltdPties>"
                    }
                    if transaction.structuredReference != nil || transaction.text != nil {
                        out += "<RmtInf>"
                        if let text = transaction.text { out += "<Ustrd>\(Self.escape(text))</Ustrd>" }
                        if let reference = transaction.structuredReference {
                            out += "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp><Ref>\(reference)</Ref></CdtrRefInf></Strd>"
                        }
                        out += "</RmtInf>"
                    }
                    if let reason = transaction.returnReason { out += "<RtrInf><Rsn><Cd>\(reason)</Cd></Rsn></RtrInf>" }
                    out += "</TxDtls>"
                }
                out += "</NtryDtls></Ntry>\n"
            }
            out += "</Stmt>\n"
        }
        return out + "</BkToCstmrStmt></Document>\n"
    }

    /// Writes the document to a new temporary file.
    public func write() throws -> URL {
        let url = TestScratch.folder.appendingPathComponent("camt-\(UUID().uuidString).xml")
        try Data(xml.utf8).write(to: url)
        return url
    }
}
