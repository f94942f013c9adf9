public import Foundation

/// Reads ISO 20022 camt.053 bank-to-customer statements, versions .02 to .08, as a stream.
///
/// The file is read in 64 KiB chunks by ``XMLTokenizer`` and each entry is handed out as soon as its closing tag
/// is read, so memory holds one entry, never the document. Before parsing, the raw bytes are scanned and any
/// `<!DOCTYPE` or `<!ENTITY` refuses the file; the tokenizer refuses them too, reads no DTD and knows only the
/// five predefined entities, so nothing is ever expanded or fetched. Anything not well-formed, including a
/// truncated file, refuses the file with the line and byte where reading stopped.
///
/// Mapping, per entry (`Ntry`):
/// - an entry with no `TxDtls` or one `TxDtls` is one line carrying the entry amount: the entry amount is what was
///   booked, whereas a lone `TxDtls/Amt` may be the instructed amount in another currency (or zero, as in
///   some banks' files);
/// - a batch entry (several `TxDtls`) is one line per transaction with that transaction's own amount (`Amt`, or
///   `.02`'s `AmtDtls/TxAmt/Amt`); the parts must add up to the entry, or the statement fails its integrity check;
/// - `Sts` as text (`.02`) or `Sts/Cd` (`.08`): only `BOOK` is booked; dates as `Dt` or `DtTm` (the date part as
///   the bank wrote it); the counterparty is the debtor for a credit and the creditor for a debit (`Nm` or
///   `Pty/Nm`); free text is every `RmtInf/Ustrd` joined, or failing that `AddtlTxInf`, then `AddtlNtryInf`.
public struct CamtStatementParser: Sendable {
    /// The namespace every supported version shares; the last digit is the version, 2 to 8.
    static let namespacePrefix = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.0"

    /// Limits and integrity policy.
    public var options: BankStatementParseOptions

    /// Creates a parser with the given limits.
    public init(options: BankStatementParseOptions = BankStatementParseOptions()) {
        self.options = options
    }

    /// Streams the file's lines to `onLine`, then returns every statement's overview.
    ///
    /// Lines arrive before their statement's closing balance has been checked: book nothing until this returns.
    /// Throws ``PaymentsError``, or whatever `onLine` throws (which stops the parse).
    public func parse(fileURL: URL, onLine: (BankStatementLine) throws -> Void) throws -> BankStatementSummary {
        try StatementFile.checkSize(of: fileURL, bytesMax: options.fileBytesMax)
        try StatementFile.rejectDeclarations(in: fileURL)
        let handle = try StatementFile.open(fileURL)
        defer { try? handle.close() }
        let name = fileURL.lastPathComponent
        return try withoutActuallyEscaping(onLine) { onLine in
            var reader = CamtReader(options: options, onLine: onLine)
            var tokenizer = XMLTokenizer(documentName: name, markupBytesMax: options.fieldBytesMax + XMLTokenizer.markupBytesMaxDefault)
            do {
                while true {
                    let chunk = try StatementFile.read(handle, name: name)
                    if chunk.isEmpty { break }
                    try tokenizer.feed(chunk, to: &reader)
                }
                try tokenizer.finish(&reader)
            } catch let failure as CamtReader.LineHandlerFailure {
                throw failure.underlying
            }
            guard reader.sawDocumentEnd else {
                throw PaymentsError(.malformed, "\(fileURL.lastPathComponent) ends before </Document>: the file is truncated")
            }
            guard !reader.statements.isEmpty else {
                throw PaymentsError(.malformed, "\(fileURL.lastPathComponent) holds no statement: a camt.053 document needs at least one BkToCstmrStmt/Stmt")
            }
            return BankStatementSummary(format: .camt053, statements: reader.statements)
        }
    }
}
