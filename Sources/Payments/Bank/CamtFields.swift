/// The camt.053 element names the reader acts on, recognised from a tag's bytes without making a string.
enum CamtElement: UInt8, CaseIterable {
    case unknown
    case document, statement, balance, entry, transactionDetails
    case accountServicerReference, account, additionalEntryInformation, additionalTransactionInformation, amount
    case amountDetails, bookingDate, code, codeOrProprietary, creditDebitIndicator, creditor, creditorAccount
    case creditorReferenceInformation, currency, date, dateTime, debtor, debtorAccount, electronicSequenceNumber
    case endToEndID, iban, id, name, otherIdentification, party, reason, reference, references, relatedParties, remittance
    case returnInformation, reversalIndicator, status, structured, transactionAmount, type, ultimateCreditor
    case ultimateDebtor, unstructured, valueDate

    /// The element's name as written in camt.053 (without a namespace prefix).
    var name: String {
        switch self {
        case .unknown: "?"
        case .document: "Document"
        case .statement: "Stmt"
        case .balance: "Bal"
        case .entry: "Ntry"
        case .transactionDetails: "TxDtls"
        case .accountServicerReference: "AcctSvcrRef"
        case .account: "Acct"
        case .additionalEntryInformation: "AddtlNtryInf"
        case .additionalTransactionInformation: "AddtlTxInf"
        case .amount: "Amt"
        case .amountDetails: "AmtDtls"
        case .bookingDate: "BookgDt"
        case .code: "Cd"
        case .codeOrProprietary: "CdOrPrtry"
        case .creditDebitIndicator: "CdtDbtInd"
        case .creditor: "Cdtr"
        case .creditorAccount: "CdtrAcct"
        case .creditorReferenceInformation: "CdtrRefInf"
        case .currency: "Ccy"
        case .date: "Dt"
        case .dateTime: "DtTm"
        case .debtor: "Dbtr"
        case .debtorAccount: "DbtrAcct"
        case .electronicSequenceNumber: "ElctrncSeqNb"
        case .endToEndID: "EndToEndId"
        case .iban: "IBAN"
        case .id: "Id"
        case .name: "Nm"
        case .otherIdentification: "Othr"
        case .party: "Pty"
        case .reason: "Rsn"
        case .reference: "Ref"
        case .references: "Refs"
        case .relatedParties: "RltdPties"
        case .remittance: "RmtInf"
        case .returnInformation: "RtrInf"
        case .reversalIndicator: "RvslInd"
        case .status: "Sts"
        case .structured: "Strd"
        case .transactionAmount: "TxAmt"
        case .type: "Tp"
        case .ultimateCreditor: "UltmtCdtr"
        case .ultimateDebtor: "UltmtDbtr"
        case .unstructured: "Ustrd"
        case .valueDate: "ValDt"
        }
    }

    /// The known names grouped by length, so a tag is compared with a handful of names at most.
    private static let byLength: [[(bytes: [UInt8], element: CamtElement)]] = {
        var table = Array(repeating: [(bytes: [UInt8], element: CamtElement)](), count: 16)
        for element in allCases where element != .unknown {
            let bytes = Array(element.name.utf8)
            table[bytes.count].append((bytes, element))
        }
        return table
    }()

    /// The element a tag's local name names, or `.unknown`.
    static func named(_ bytes: UnsafeBufferPointer<UInt8>) -> CamtElement {
        guard bytes.count < byLength.count else { return .unknown }
        for candidate in byLength[bytes.count] where candidate.bytes.withUnsafeBufferPointer({ $0.elementsEqual(bytes) }) {
            return candidate.element
        }
        return .unknown
    }
}

/// The texts the reader keeps, each named by where it sits below the section that reads it.
enum CamtField: UInt8 {
    case statementID, sequenceNumber, accountIBAN, accountOther, accountCurrency
    case balanceType, balanceDirection, balanceAmount
    case entryAmount, entryDirection, entryReversal, entryStatus, entryStatusCode, entryBookingDate, entryValueDate
    case entryBankReference, entryInformation
    case transactionAmount, transactionAmountDetails, endToEndID, transactionBankReference, debtorName, debtorAccount
    case ultimateDebtorName, creditorName, creditorAccount, ultimateCreditorName, unstructured, structuredReference
    case returnReason, transactionInformation
}

/// The sections whose elements carry fields: each starts a fresh walk of ``CamtFieldTree``.
enum CamtSection: Int, CaseIterable {
    case statement, balance, entry, transaction
}

/// Where each field sits below its section, as a tree walked one element at a time: every open element has
/// a node, the child of its parent's node for its name, and a node may name a field. Elements the tree does
/// not know lead to the empty node 0, as do all their children.
struct CamtFieldTree {
    private static let paths: [(CamtSection, [CamtElement], CamtField)] = [
        (.statement, [.id], .statementID),
        (.statement, [.electronicSequenceNumber], .sequenceNumber),
        (.statement, [.account, .id, .iban], .accountIBAN),
        (.statement, [.account, .id, .otherIdentification, .id], .accountOther),
        (.statement, [.account, .currency], .accountCurrency),
        (.balance, [.type, .codeOrProprietary, .code], .balanceType),
        (.balance, [.creditDebitIndicator], .balanceDirection),
        (.balance, [.amount], .balanceAmount),
        (.entry, [.amount], .entryAmount),
        (.entry, [.creditDebitIndicator], .entryDirection),
        (.entry, [.reversalIndicator], .entryReversal),
        (.entry, [.status], .entryStatus),
        (.entry, [.status, .code], .entryStatusCode),
        (.entry, [.bookingDate, .date], .entryBookingDate),
        (.entry, [.bookingDate, .dateTime], .entryBookingDate),
        (.entry, [.valueDate, .date], .entryValueDate),
        (.entry, [.valueDate, .dateTime], .entryValueDate),
        (.entry, [.accountServicerReference], .entryBankReference),
        (.entry, [.additionalEntryInformation], .entryInformation),
        (.transaction, [.amount], .transactionAmount),
        (.transaction, [.amountDetails, .transactionAmount, .amount], .transactionAmountDetails),
        (.transaction, [.references, .endToEndID], .endToEndID),
        (.transaction, [.references, .accountServicerReference], .transactionBankReference),
        (.transaction, [.relatedParties, .debtor, .name], .debtorName),
        (.transaction, [.relatedParties, .debtor, .party, .name], .debtorName),
        (.transaction, [.relatedParties, .debtorAccount, .id, .iban], .debtorAccount),
        (.transaction, [.relatedParties, .debtorAccount, .id, .otherIdentification, .id], .debtorAccount),
        (.transaction, [.relatedParties, .ultimateDebtor, .name], .ultimateDebtorName),
        (.transaction, [.relatedParties, .ultimateDebtor, .party, .name], .ultimateDebtorName),
        (.transaction, [.relatedParties, .creditor, .name], .creditorName),
        (.transaction, [.relatedParties, .creditor, .party, .name], .creditorName),
        (.transaction, [.relatedParties, .creditorAccount, .id, .iban], .creditorAccount),
        (.transaction, [.relatedParties, .creditorAccount, .id, .otherIdentification, .id], .creditorAccount),
        (.transaction, [.relatedParties, .ultimateCreditor, .name], .ultimateCreditorName),
        (.transaction, [.relatedParties, .ultimateCreditor, .party, .name], .ultimateCreditorName),
        (.transaction, [.remittance, .unstructured], .unstructured),
        (.transaction, [.remittance, .structured, .creditorReferenceInformation, .reference], .structuredReference),
        (.transaction, [.returnInformation, .reason, .code], .returnReason),
        (.transaction, [.additionalTransactionInformation], .transactionInformation),
    ]

    /// The tree, built once.
    static let shared = CamtFieldTree()

    /// `children[node * elementCount + element]`: the child node, 0 for none.
    private let children: [Int32]
    /// The field each node names, if any.
    private let fields: [CamtField?]
    /// Each section's root node.
    private let roots: [Int32]
    private static let elementCount = CamtElement.allCases.count

    private init() {
        var children = [Int32](repeating: 0, count: Self.elementCount)
        var fields: [CamtField?] = [nil]
        func addNode() -> Int32 {
            children += [Int32](repeating: 0, count: Self.elementCount)
            fields.append(nil)
            return Int32(fields.count - 1)
        }
        let roots = CamtSection.allCases.map { _ in addNode() }
        for (section, path, field) in Self.paths {
            var node = roots[section.rawValue]
            for element in path {
                let slot = Int(node) * Self.elementCount + Int(element.rawValue)
                if children[slot] == 0 { children[slot] = addNode() }
                node = children[slot]
            }
            fields[Int(node)] = field
        }
        self.children = children
        self.fields = fields
        self.roots = roots
    }

    func root(_ section: CamtSection) -> Int32 {
        roots[section.rawValue]
    }

    func child(of node: Int32, _ element: CamtElement) -> Int32 {
        node == 0 ? 0 : children[Int(node) * Self.elementCount + Int(element.rawValue)]
    }

    func field(_ node: Int32) -> CamtField? {
        fields[Int(node)]
    }
}
