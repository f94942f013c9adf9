/// The books' chart of accounts. Names are Beancount account names; amounts follow Beancount's sign: a debit
/// is positive, a credit negative, and every entry sums to zero in each currency.
public enum BookAccount: String, Sendable, Hashable, Codable, CodingKeyRepresentable, CaseIterable, Comparable {
    /// The body's bank account: transfers in, and every other booked line of its statements.
    case bank = "Assets:Bank"
    /// Card payments, until the card provider pays them out to the bank account.
    case cardClearing = "Assets:Clearing:Card"
    /// PayPal payments, until PayPal pays them out to the bank account.
    case payPalClearing = "Assets:Clearing:PayPal"
    /// Payments staff recorded by hand (cash, cheques, transfers to another account).
    case offline = "Assets:Offline"
    /// Money received that waits for a staff decision: no profile, a short or unexpected amount, …
    case unallocated = "Liabilities:UnidentifiedReceipts"
    /// Money staff decided to pay back, until the provider or bank reports it returned.
    case refundsDue = "Liabilities:RefundsDue"
    /// Yearly listing contributions.
    case contributions = "Income:ListingContributions"
    /// Donations: never buy a listing.
    case donations = "Income:Donations"
    /// Money staff decided is not a contribution.
    case otherIncome = "Income:Other"
    /// Refunds of income (a reversing account: its balance is a debit).
    case refunds = "Income:Refunds"
    /// Chargebacks taken by card schemes or PayPal (reversing).
    case chargebacks = "Income:Chargebacks"
    /// Transfers the bank returned to the payer (reversing).
    case returns = "Income:Returns"
    /// Money paid out of the bank account (charges, transfers made by the body), for the accountant to classify.
    case bankOutgoing = "Expenses:Bank:Outgoing"
    /// What payment providers kept as their fee (PayPal's capture reports it).
    case providerFees = "Expenses:PaymentFees"
    /// Money that came back to the bank account without a payment to match (a reversal of an outgoing transfer).
    case bankIncomingOther = "Income:Bank:Other"
    /// The bank account's balance before the first imported statement.
    case openingBalances = "Equity:OpeningBalances"
    /// In an export of a date range: the balances before the range starts.
    case broughtForward = "Equity:BroughtForward"

    /// The account money paid by `method` arrives in.
    public static func receiving(_ method: PaymentMethod) -> BookAccount {
        switch method {
        case .bank: .bank
        case .card: .cardClearing
        case .paypal: .payPalClearing
        case .offline: .offline
        }
    }

    /// Assets, liabilities and equity carry their balance into the next period; income and expenses do not.
    public var isBalanceSheet: Bool {
        rawValue.hasPrefix("Assets:") || rawValue.hasPrefix("Liabilities:") || rawValue.hasPrefix("Equity:")
    }

    public var isLiability: Bool { rawValue.hasPrefix("Liabilities:") }

    /// What the account holds, in words, for the chart of accounts.
    public var meaning: String {
        switch self {
        case .bank: "the bank account"
        case .cardClearing: "card payments not yet paid out by the card provider"
        case .payPalClearing: "PayPal payments not yet paid out by PayPal"
        case .offline: "payments recorded by staff"
        case .unallocated: "money received that waits for a staff decision"
        case .refundsDue: "money to be paid back"
        case .contributions: "listing contributions"
        case .donations: "donations"
        case .otherIncome: "money that is not a contribution"
        case .refunds: "refunds"
        case .chargebacks: "chargebacks"
        case .returns: "bank transfers returned to the payer"
        case .bankOutgoing: "money paid out of the bank account"
        case .providerFees: "fees kept by payment providers"
        case .bankIncomingOther: "money into the bank account that matches no payment"
        case .openingBalances: "the bank account's opening balance"
        case .broughtForward: "balances before the exported period"
        }
    }

    public static func < (lhs: BookAccount, rhs: BookAccount) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One line of a journal entry.
public struct BookPosting: Sendable, Hashable, Codable {
    public var account: BookAccount
    /// Debit positive, credit negative, in minor units of `currency`.
    public var minorUnits: Int64
    public var currency: String

    public init(account: BookAccount, minorUnits: Int64, currency: String) {
        self.account = account
        self.minorUnits = minorUnits
        self.currency = currency
    }
}

/// One payment as the books see it: the payment's state, from which what is posted for it follows (``target``).
///
/// Every change of the payment is booked as the difference between where its money should stand now and what
/// was posted before: receiving it debits the account it arrived in; a refund, chargeback or return credits
/// that account again and debits a reversing account; a staff decision moves it between the held and the
/// income accounts. Nothing posted is ever changed: a correction is a further entry.
public struct PaymentBooks: Sendable, Hashable, Codable {
    public var payment = PaymentState()
    /// The largest amount reported for each dispute.
    public var disputeMinorUnits: [String: Int64] = [:]

    public init() {}

    /// Applies one event of the payment's stream.
    public mutating func evolve(_ event: PaymentEvent) {
        payment.evolve(event)
        if case .disputeUpdated(let update) = event {
            disputeMinorUnits[update.disputeID] = max(disputeMinorUnits[update.disputeID] ?? 0, update.amount.minorUnits)
        }
    }

    /// Where the money received is classified: income by purpose, or held for staff.
    public var classification: BookAccount {
        if let resolution = payment.resolution {
            switch resolution.resolution {
            case .allocate, .split, .acceptShort: return .contributions
            case .donation: return .donations
            case .notContribution: return .otherIncome
            case .refund: return .refundsDue
            case .cardPayout: return .cardClearing
            case .payPalPayout: return .payPalClearing
            }
        }
        guard let received = payment.received, payment.held == nil else { return .unallocated }
        switch received.purpose {
        case .donation: return .donations
        case .listing: return received.profileID == nil ? .unallocated : .contributions
        }
    }

    /// The balances the payment should have posted by now, by account; empty until money arrived.
    public var target: [BookAccount: Int64] {
        // A voided payment never happened: everything posted for it is reversed.
        guard let received = payment.received, received.amount.minorUnits > 0, payment.voided == nil else { return [:] }
        let total = received.amount.minorUnits
        let arrived = BookAccount.receiving(received.method)
        let place = classification
        var balances: [BookAccount: Int64] = [arrived: total]
        balances[place, default: 0] -= total
        var left = total
        // Money that left again: from the account it arrived in, against the reversing account (or, for money
        // held or due back, against what was owed; for a provider's payout, back to the provider's clearing
        // account: wherever the money was placed, unless that was income).
        let owedBack = place.isBalanceSheet
        func leave(_ amount: Int64, reversing: BookAccount, from source: BookAccount? = nil) {
            let taken = min(max(0, amount), left)
            guard taken > 0 else { return }
            left -= taken
            balances[source ?? arrived, default: 0] -= taken
            balances[owedBack ? place : reversing, default: 0] += taken
        }
        if payment.returned != nil { leave(total, reversing: .returns) }
        leave(payment.refundedByProviderMinorUnits, reversing: .refunds)
        // Paid back by a transfer: the statement line already took the money out of the bank, as money paid
        // out; paying back settles that against what was due.
        if payment.paidBack != nil { leave(payment.paidBackMinorUnits, reversing: .refunds, from: .bankOutgoing) }
        // A transfer back that came back: its statement lines booked money paid out and money in that matches no
        // payment; both were this payment's, so the entry takes what came back from each (what the bank kept stays
        // paid out), and the money is owed again, as before it was paid back.
        for returned in payment.payBacksReturned ?? [] where returned.amount.currency == received.amount.currency {
            let amount = max(0, returned.amount.minorUnits)
            balances[.bankOutgoing, default: 0] -= amount
            balances[.bankIncomingOther, default: 0] += amount
        }
        leave(takenByDisputes, reversing: .chargebacks)
        // Given back by hand (a reversal by hand), where no provider or bank report shows the money leaving (what
        // stands of it: a report of it afterwards is the same money): an offline payment's money leaves where staff
        // keep it; a card or PayPal chargeback leaves the provider's clearing account, as the provider's own would;
        // any other goes back by the bank account, which the statement books as money paid out, so the entry takes
        // it from there, as paying back does.
        for (given, minorUnits) in payment.standingGivenBackByHand {
            let source: BookAccount = switch received.method {
            case .offline: .offline
            case .card, .paypal: given.kind == .chargeback ? arrived : .bankOutgoing
            case .bank: .bankOutgoing
            }
            leave(minorUnits, reversing: Self.reversing(given.kind), from: source)
        }
        // The provider's fee never reached us: it leaves the clearing account as an expense (and stays one when
        // the payment is refunded, as providers keep it).
        if let fee = received.fee, fee.currency == received.amount.currency, fee.minorUnits > 0 {
            let kept = min(fee.minorUnits, total)
            balances[arrived, default: 0] -= kept
            balances[.providerFees, default: 0] += kept
        }
        return balances.filter { $0.value != 0 }
    }

    /// The reversing account of money given back as `kind`.
    static func reversing(_ kind: ReversalKind) -> BookAccount {
        switch kind {
        case .refund, .correction: .refunds
        case .chargeback: .chargebacks
        case .bankReturn: .returns
        }
    }

    /// What disputes took and kept, in minor units: for each dispute as judged (``PaymentState/judgedDisputes``)
    /// that has the money, the sum of its PayPal reversals, or, once a dispute took the money itself (withdrawn
    /// or lost), the largest amount reported under its ids if that is more (a reversal and the dispute lost are
    /// the same money).
    var takenByDisputes: Int64 {
        payment.judgedDisputes.filter { PaymentState.isTaken($0.phases) }.reduce(Int64(0)) { sum, dispute in
            let reversed = dispute.reversalIDs.reduce(Int64(0)) { $0.addingSaturated(max(0, disputeMinorUnits[$1] ?? 0)) }
            let took = dispute.ids.filter { !(payment.disputes[$0] ?? []).isDisjoint(with: [.fundsWithdrawn, .lost]) }
            let amount = max(reversed, took.map { max(0, disputeMinorUnits[$0] ?? 0) }.max() ?? 0)
            // Saturating: amounts come from providers, and anything above the payment is capped anyway.
            let (added, overflow) = sum.addingReportingOverflow(amount)
            return overflow ? .max : added
        }
    }

    /// How much of what arrived still counts as the payer's contribution or donation: what arrived, less what was
    /// refunded, returned or charged back (by a provider's or bank's report, or as staff recorded by hand); nothing
    /// once voided.
    public var countingMinorUnits: Int64 {
        guard let received = payment.received, received.amount.minorUnits > 0, payment.voided == nil else { return 0 }
        let total = received.amount.minorUnits
        if payment.returned != nil { return 0 }
        let refunded = min(max(0, payment.refundedMinorUnits), total)
        let disputed = min(takenByDisputes, total - refunded)
        return max(0, total - refunded - disputed - min(payment.givenBackByHandMinorUnits(), total - refunded - disputed))
    }

    /// What still counts per profile the payment pays for (``PaymentState/listingShares``, in their order): each
    /// share less what staff gave back by hand for its profile, then less what the provider or the bank took back,
    /// from the first share on (a part moved to another profile is a later share: money taken back before the
    /// move stays with the profile it was taken from). Never more in all than ``countingMinorUnits``; empty when
    /// the payment pays for no listing.
    public var countingByShare: [(profileID: ProfileID, minorUnits: Int64)] {
        var shares = payment.listingShares.map { (profileID: $0.share.profileID, minorUnits: max(0, $0.share.amount.minorUnits)) }
        guard !shares.isEmpty else { return [] }
        for (given, minorUnits) in payment.standingGivenBackByHand {
            guard let index = shares.firstIndex(where: { $0.profileID == given.profileID }) else { continue }
            shares[index].minorUnits -= min(shares[index].minorUnits, max(0, minorUnits))
        }
        var excess = shares.reduce(Int64(0)) { $0.addingSaturated($1.minorUnits) } - countingMinorUnits
        for index in shares.indices where excess > 0 {
            let taken = min(shares[index].minorUnits, excess)
            shares[index].minorUnits -= taken
            excess -= taken
        }
        return shares
    }

    /// The postings that bring `before` (an earlier ``target``) to ``target``. Empty when nothing changed;
    /// otherwise they sum to zero.
    public func postings(since before: [BookAccount: Int64]) -> [BookPosting] {
        guard let currency = payment.received?.amount.currency else { return [] }
        let target = self.target
        var postings: [BookPosting] = []
        for account in Set(target.keys).union(before.keys).sorted() {
            let change = (target[account] ?? 0) - (before[account] ?? 0)
            if change != 0 { postings.append(BookPosting(account: account, minorUnits: change, currency: currency)) }
        }
        return postings
    }
}
