import EventStore
import Foundation
import LedgerCore
import LedgerService
import TestSupport
import Testing

/// A reversal by hand (money given back outside the ledger's view) in the books, the receipts and the lists.
@Suite("Reversals by hand in the books")
struct HandReversalBooksTests {
    static let today = LocalDate(year: 2026, month: 3, day: 10)!
    static let noon = OrganisationCalendar.amsterdam.startOfDay(today).addingTimeInterval(12 * 3600)

    /// An offline payment refunded in cash: the books take it out of `Assets:Offline` against `Income:Refunds`,
    /// its receipt gets a credit note, the payment lists as refunded, and recording it again changes nothing.
    @Test(arguments: Backend.allCases)
    func cashGivenBackLeavesTheBooksAndTheReceipt(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-1", runtime)
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 12_500), date: Self.today, purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            let receipt = try #require(try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test")).first)
            let first = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .refund, reason: "returned in cash", metadata: .init(actor: "staff")
            )
            guard case .recorded(let paymentEvents, let profileEvents) = first else { Issue.record("not recorded: \(first)"); return }
            #expect(paymentEvents.map(\.typeName) == [PaymentGivenBackByHand.typeName])
            #expect(profileEvents.contains { if case .allocationReversed(let reversal) = $0 { reversal.kind == .refund && reversal.byRule == nil } else { false } })

            let expected: [String: Int64] = ["Income:ListingContributions": -12_500, "Income:Refunds": 12_500]
            try await Self.expect(runtime, expected)

            let documents = try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test"))
            #expect(documents.map(\.kind) == [.receipt, .creditNote])
            let note = try #require(documents.last)
            #expect(note.amount == .euros(minorUnits: 12_500) && note.refersTo == receipt.printedNumber)
            #expect(note.reason == "refunded (recorded by staff): returned in cash", "\(note.reason ?? "")")

            let payment = try await runtime.payments.loadPayment(paymentID)
            #expect(PaymentListState(payment) == .refunded)
            #expect(try await runtime.profiles.load(id).state.allocation(of: paymentID)?.reversedAs == .refund)

            let again = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .refund, reason: "returned in cash", metadata: .init(actor: "staff")
            )
            #expect(again == .recorded(paymentEvents: [], profileEvents: []))
            await #expect(throws: DomainError.self) {
                try await runtime.payments.giveBack(paymentID: paymentID, profileID: id, kind: .chargeback, reason: "other", metadata: .init(actor: "staff"))
            }
            await #expect(throws: DomainError.self) {
                try await runtime.payments.giveBack(
                    paymentID: paymentID, profileID: id, kind: .refund, amount: .euros(minorUnits: 100), reason: "returned in cash", metadata: .init(actor: "staff")
                )
            }
            await #expect(throws: PaymentServiceError.self) {
                try await runtime.payments.void(paymentID: paymentID, reason: "entered by mistake", metadata: .init(actor: "staff"))
            }
            #expect(try await runtime.payments.loadPayment(paymentID).voided == nil)
            try await Self.expect(runtime, expected)
            #expect(try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test")).count == 2)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A card payment given back by a transfer from the bank account: the entry takes the money from
    /// `Expenses:Bank:Outgoing` (where the statement books the transfer out), not from the card clearing account,
    /// which the provider's payout empties. A refund the provider reports afterwards is the same money, taken
    /// back once: the provider's report then counts instead (from the clearing account).
    @Test(arguments: Backend.allCases)
    func aCardPaymentGivenBackByTransferIsNotTakenTwice(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-2", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_hand_1")
            try await Self.cardPayment(paymentID, for: id, event: "evt_hand_1", runtime)
            #expect(try await runtime.profiles.load(id).state.allocation(of: paymentID)?.isActiveNow == true)
            _ = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .refund, reason: "paid back from the bank account", metadata: .init(actor: "staff")
            )
            let expected: [String: Int64] = [
                "Assets:Clearing:Card": 12_500, "Expenses:Bank:Outgoing": -12_500, "Income:ListingContributions": -12_500, "Income:Refunds": 12_500,
            ]
            try await Self.expect(runtime, expected)
            try await Self.providerRefund(12_500, of: paymentID, refund: "re_1", event: "evt_hand_2", runtime)
            try await Self.expect(runtime, ["Income:ListingContributions": -12_500, "Income:Refunds": 12_500])
            #expect(try await runtime.profiles.load(id).state.allocation(of: paymentID)?.reversedByRule == false)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// After a partial refund the provider reported, a reversal by hand gives back only the rest unless it says how
    /// much; `0.00` takes the listing back and no money; more than what pays for the profile is refused.
    @Test(arguments: Backend.allCases)
    func aReversalByHandAfterAPartialRefundGivesBackOnlyTheRest(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            var paid: [PaymentID] = []
            for (index, name) in ["hr-4", "hr-5"].enumerated() {
                let id = try await Self.certified(name, runtime)
                let paymentID = PaymentID(method: .card, externalID: "pi_part_\(index)")
                paid.append(paymentID)
                try await Self.cardPayment(paymentID, for: id, event: "evt_part_\(index)", runtime)
                try await Self.providerRefund(5_000, of: paymentID, refund: "re_part_\(index)", event: "evt_part_refund_\(index)", runtime)
            }
            _ = try await runtime.payments.giveBack(
                paymentID: paid[0], profileID: try ProfileID("hr-4"), kind: .refund, reason: "the rest paid back by transfer", metadata: .init(actor: "staff")
            )
            #expect(try await runtime.payments.loadPayment(paid[0]).givenBackByHand?.first?.amount == .euros(minorUnits: 7_500))
            try await Self.expect(runtime, [
                "Assets:Clearing:Card": 15_000, "Expenses:Bank:Outgoing": -7_500, "Income:ListingContributions": -25_000, "Income:Refunds": 17_500,
            ])
            await #expect(throws: DomainError.self) {
                try await runtime.payments.giveBack(
                    paymentID: paid[1], profileID: try ProfileID("hr-5"), kind: .refund, amount: .euros(minorUnits: 12_501), reason: "too much",
                    metadata: .init(actor: "staff")
                )
            }
            #expect(try await runtime.profiles.load(try ProfileID("hr-5")).state.allocation(of: paid[1])?.isActiveNow == true)
            _ = try await runtime.payments.giveBack(
                paymentID: paid[1], profileID: try ProfileID("hr-5"), kind: .refund, amount: .euros(minorUnits: 0), reason: "the listing only",
                metadata: .init(actor: "staff")
            )
            #expect(try await runtime.profiles.load(try ProfileID("hr-5")).state.allocation(of: paid[1])?.isActiveNow == false)
            try await Self.expect(runtime, [
                "Assets:Clearing:Card": 15_000, "Expenses:Bank:Outgoing": -7_500, "Income:ListingContributions": -25_000, "Income:Refunds": 17_500,
            ])
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A part given back by hand that the provider then reports refunded (staff refunded it in the provider's
    /// dashboard and recorded it too) is one sum of money, counted once.
    @Test(arguments: Backend.allCases)
    func aPartGivenBackByHandAndReportedAfterwardsCountsOnce(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-8", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_once_1")
            try await Self.cardPayment(paymentID, for: id, event: "evt_once_1", runtime)
            _ = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .refund, amount: .euros(minorUnits: 6_000), reason: "refunded in the dashboard",
                metadata: .init(actor: "staff")
            )
            try await Self.providerRefund(6_000, of: paymentID, refund: "re_once_1", event: "evt_once_2", runtime)
            let payment = try await runtime.payments.loadPayment(paymentID)
            #expect(payment.standingGivenBackByHand.map(\.minorUnits) == [0])
            #expect(payment.refundedInAllMinorUnits == 6_000)
            try await Self.expect(runtime, ["Assets:Clearing:Card": 6_500, "Income:ListingContributions": -12_500, "Income:Refunds": 6_000])
            let documents = try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test"))
            #expect(documents.map(\.amount.minorUnits) == [6_500], "\(documents)")
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A payment split between two profiles, half of it refunded by the provider: a reversal by hand of one
    /// profile without an amount gives back nothing more (the report took that much back already), and the other
    /// profile keeps its listing.
    @Test(arguments: Backend.allCases)
    func aSplitPaymentsOtherProfileKeepsItsListing(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let first = try await Self.certified("hr-9", runtime)
            let second = try await Self.certified("hr-10", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_split_1")
            try await Self.splitCardPayment(paymentID, between: first, and: second, event: "evt_split_1", runtime)
            try await Self.providerRefund(12_500, of: paymentID, refund: "re_split_1", event: "evt_split_2", runtime)
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: first, kind: .refund, reason: "her share went back", metadata: .init(actor: "staff"))
            #expect(try await runtime.payments.loadPayment(paymentID).givenBackByHand?.map(\.amount) == [.euros(minorUnits: 0)])
            #expect(try await runtime.profiles.load(first).state.allocation(of: paymentID)?.isActiveNow == false)
            #expect(try await runtime.profiles.load(second).state.allocation(of: paymentID)?.isActiveNow == true)
            try await Self.expect(runtime, ["Assets:Clearing:Card": 12_500, "Income:ListingContributions": -25_000, "Income:Refunds": 12_500])
            // The other profile's share went back by hand too: nothing took it back before, so all of it.
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: second, kind: .refund, reason: "his went back too", metadata: .init(actor: "staff"))
            #expect(try await runtime.payments.loadPayment(paymentID).givenBackByHand?.map(\.amount) == [.euros(minorUnits: 0), .euros(minorUnits: 12_500)])
            try await Self.expect(runtime, ["Expenses:Bank:Outgoing": -12_500, "Assets:Clearing:Card": 12_500, "Income:ListingContributions": -25_000, "Income:Refunds": 25_000])
            #expect(PaymentListState(try await runtime.payments.loadPayment(paymentID)) == .refunded)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A chargeback recorded by hand that a dispute then takes is the same money; when the dispute is won the
    /// money is back: it counts again, and the listing comes back.
    @Test(arguments: Backend.allCases)
    func aChargebackByHandEndsWhenTheDisputeIsWon(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-11", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_cb_1")
            try await Self.cardPayment(paymentID, for: id, event: "evt_cb_1", runtime)
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: id, kind: .chargeback, reason: "the bank says disputed", metadata: .init(actor: "staff"))
            let charged: [String: Int64] = ["Income:Chargebacks": 12_500, "Income:ListingContributions": -12_500]
            try await Self.expect(runtime, charged)
            for (index, phase) in [DisputePhase.fundsWithdrawn, .won].enumerated() {
                _ = try await runtime.payments.record(
                    .init(provider: "card", eventID: "evt_cb_d\(index)", eventType: "charge.dispute.updated", payload: Data("{}".utf8)),
                    paymentID: paymentID, method: .card, facts: [.dispute(disputeID: "dp_1", phase: phase, amount: .euros(minorUnits: 12_500))],
                    metadata: .init(actor: "card")
                )
                if phase == .fundsWithdrawn {
                    try await Self.expect(runtime, charged)
                    #expect(try await runtime.payments.loadPayment(paymentID).standingGivenBackByHand.map(\.minorUnits) == [0])
                }
            }
            try await Self.expect(runtime, ["Assets:Clearing:Card": 12_500, "Income:ListingContributions": -12_500])
            #expect(try await runtime.profiles.load(id).state.allocation(of: paymentID)?.isActiveNow == true)
            #expect(PaymentListState(try await runtime.payments.loadPayment(paymentID)) == .counted)
            // The payer charges back again, and staff record it by hand again: it is a chargeback of its own, not the
            // one the dispute undid (before, the request was answered as already recorded, and nothing changed).
            let again = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .chargeback, reason: "charged back again", metadata: .init(actor: "staff")
            )
            guard case .recorded(let againEvents, _) = again else { Issue.record("\(again)"); return }
            #expect(againEvents.map(\.typeName) == ["PaymentGivenBackByHand"], "\(again)")
            try await Self.expect(runtime, charged)
            #expect(try await runtime.profiles.load(id).state.allocation(of: paymentID)?.isActiveNow == false)
            #expect(PaymentListState(try await runtime.payments.loadPayment(paymentID)) == .chargedBack)
            #expect(try await runtime.payments.loadPayment(paymentID).standingGivenBackByHand.map(\.minorUnits) == [0, 12_500])
            let sentAgain = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: id, kind: .chargeback, reason: "charged back again", metadata: .init(actor: "staff")
            )
            guard case .recorded(let none, _) = sentAgain else { Issue.record("\(sentAgain)"); return }
            #expect(none.isEmpty, "the same request again records nothing more")
            // Another payment, whose dispute was won before staff recorded a chargeback by hand: that one stands, and
            // the listing is taken back.
            let other = try await Self.certified("hr-12", runtime)
            let otherID = PaymentID(method: .card, externalID: "pi_cb_2")
            try await Self.cardPayment(otherID, for: other, event: "evt_cb_2", runtime)
            for (index, phase) in [DisputePhase.fundsWithdrawn, .won].enumerated() {
                _ = try await runtime.payments.record(
                    .init(provider: "card", eventID: "evt_cb_e\(index)", eventType: "charge.dispute.updated", payload: Data("{}".utf8)),
                    paymentID: otherID, method: .card, facts: [.dispute(disputeID: "dp_2", phase: phase, amount: .euros(minorUnits: 12_500))],
                    metadata: .init(actor: "card")
                )
            }
            _ = try await runtime.payments.giveBack(paymentID: otherID, profileID: other, kind: .chargeback, reason: "charged back again", metadata: .init(actor: "staff"))
            #expect(try await runtime.profiles.load(other).state.allocation(of: otherID)?.isActiveNow == false)
            try await Self.expect(runtime, ["Income:Chargebacks": 25_000, "Income:ListingContributions": -25_000])
            #expect(PaymentListState(try await runtime.payments.loadPayment(otherID)) == .chargedBack)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A chargeback by hand recorded again after a won dispute undid the first stands whole: a refund the provider
    /// reported between the two is not the same money as the second (before, it was measured from the first, and
    /// 30.00 of the second did not stand). Only another chargeback follows an undone one; a refund by hand is
    /// refused as before.
    @Test(arguments: Backend.allCases)
    func aChargebackByHandAgainStandsWholeWhateverCameBetween(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-21", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_cb_21")
            try await Self.cardPayment(paymentID, for: id, event: "evt_cb_21", runtime)
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: id, kind: .chargeback, reason: "the bank says disputed", metadata: .init(actor: "staff"))
            for (index, phase) in [DisputePhase.fundsWithdrawn, .won].enumerated() {
                _ = try await runtime.payments.record(
                    .init(provider: "card", eventID: "evt_cb_21d\(index)", eventType: "charge.dispute.updated", payload: Data("{}".utf8)),
                    paymentID: paymentID, method: .card, facts: [.dispute(disputeID: "dp_21", phase: phase, amount: .euros(minorUnits: 12_500))],
                    metadata: .init(actor: "card")
                )
            }
            try await Self.providerRefund(3_000, of: paymentID, refund: "re_21", event: "evt_cb_21r", runtime)
            let refused = await #expect(throws: DomainError.self) {
                try await runtime.payments.giveBack(paymentID: paymentID, profileID: id, kind: .refund, reason: "cash", metadata: .init(actor: "staff"))
            }
            #expect("\(refused.map { "\($0)" } ?? "")".contains("only another chargeback"), "\(String(describing: refused))")
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: id, kind: .chargeback, reason: "charged back again", metadata: .init(actor: "staff"))
            let payment = try await runtime.payments.loadPayment(paymentID)
            #expect(payment.givenBackByHand?.map(\.amount.minorUnits) == [12_500, 9_500], "the second: what still counted")
            #expect(payment.standingGivenBackByHand.map(\.minorUnits) == [0, 9_500], "\(payment.standingGivenBackByHand.map(\.minorUnits))")
            try await Self.expect(runtime, ["Expenses:Bank:Outgoing": 0, "Income:Chargebacks": 9_500, "Income:Refunds": 3_000, "Income:ListingContributions": -12_500].filter { $0.value != 0 })
            #expect(PaymentListState(payment) == .chargedBack)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A report of the provider covers only the reversals by hand recorded before it: a payment split between two
    /// profiles, the first's listing taken back by hand (`0.00`), then a refund of 50.00 the provider reports,
    /// then the second's share given back by hand in full. The refund is no part of the second (it was known when
    /// staff recorded it), so all 125.00 of it stands. Before, the refund was taken to cover the second, and only
    /// 75.00 of it stood.
    @Test(arguments: Backend.allCases)
    func aReportCoversOnlyTheReversalsByHandRecordedBeforeIt(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: { Self.noon })
        do {
            let first = try await Self.certified("hr-31", runtime)
            let second = try await Self.certified("hr-32", runtime)
            let paymentID = PaymentID(method: .card, externalID: "pi_split_31")
            try await Self.splitCardPayment(paymentID, between: first, and: second, event: "evt_split_31", runtime)
            _ = try await runtime.payments.giveBack(
                paymentID: paymentID, profileID: first, kind: .refund, amount: .euros(minorUnits: 0), reason: "listing only", metadata: .init(actor: "staff")
            )
            try await Self.providerRefund(5_000, of: paymentID, refund: "re_split_31", event: "evt_split_32", runtime)
            _ = try await runtime.payments.giveBack(paymentID: paymentID, profileID: second, kind: .refund, reason: "his went back in cash", metadata: .init(actor: "staff"))
            let payment = try await runtime.payments.loadPayment(paymentID)
            #expect(payment.givenBackByHand?.map(\.amount.minorUnits) == [0, 12_500])
            #expect(payment.standingGivenBackByHand.map(\.minorUnits) == [0, 12_500], "\(payment.standingGivenBackByHand.map(\.minorUnits))")
            try await Self.expect(runtime, [
                "Assets:Clearing:Card": 20_000, "Expenses:Bank:Outgoing": -12_500, "Income:Refunds": 17_500, "Income:ListingContributions": -25_000,
            ])
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// A reversal by hand recorded on the profile only (as versions before this one did) is recorded on its
    /// payment when the ledger next opens, once: the books and receipts then take the money back.
    @Test(arguments: Backend.allCases)
    func aReversalRecordedOnTheProfileOnlyReachesTheBooksAtTheNextStart(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        var runtime = try await TestRuntime.open(url, now: { Self.noon })
        do {
            let id = try await Self.certified("hr-3", runtime)
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 12_500), date: Self.today, purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            // What the reversal route recorded before: the profile's event alone.
            _ = try await runtime.profiles.handle(
                .reverseAllocation(paymentID: paymentID, kind: .bankReturn, reason: "the cheque bounced"), profileID: id, metadata: .init(actor: "staff")
            )
            #expect(try await Self.balances(runtime)["Income:Returns"] == nil)
            // One the provider's report took back in full afterwards: that report counts, and the reversal gives back
            // nothing more (it took back the listing).
            let refundedID = try await Self.certified("hr-6", runtime)
            let cardID = PaymentID(method: .card, externalID: "pi_old_1")
            try await Self.cardPayment(cardID, for: refundedID, event: "evt_old_1", runtime)
            _ = try await runtime.profiles.handle(
                .reverseAllocation(paymentID: cardID, kind: .refund, reason: "given back"), profileID: refundedID, metadata: .init(actor: "staff")
            )
            try await Self.providerRefund(12_500, of: cardID, refund: "re_old_1", event: "evt_old_2", runtime)
            let ruleProfile = try await Self.certified("hr-7", runtime)
            let ruleID = PaymentID(method: .card, externalID: "pi_old_2")
            try await Self.cardPayment(ruleID, for: ruleProfile, event: "evt_old_3", runtime)
            _ = try await runtime.profiles.handle(
                .reverseAllocation(paymentID: ruleID, kind: .refund, reason: "refunded: 125.00 EUR given back"), profileID: ruleProfile, metadata: .init(actor: "provider:card")
            )
            await runtime.close()

            runtime = try await TestRuntime.open(url, now: { Self.noon })
            let given = try await runtime.payments.loadPayment(paymentID).givenBackByHand
            #expect(given?.map(\.kind) == [.bankReturn] && given?.first?.amount == .euros(minorUnits: 12_500) && given?.first?.reason == "the cheque bounced")
            let expected: [String: Int64] = [
                "Assets:Clearing:Card": 12_500, "Income:ListingContributions": -37_500, "Income:Refunds": 12_500, "Income:Returns": 12_500,
            ]
            try await Self.expect(runtime, expected)
            #expect(PaymentListState(try await runtime.payments.loadPayment(paymentID)) == .returned)
            #expect(try await runtime.payments.loadPayment(cardID).givenBackByHand?.map(\.amount) == [.euros(minorUnits: 0)])
            // A reversal the rules made before they marked their own is not taken for one by hand.
            #expect(try await runtime.payments.loadPayment(ruleID).givenBackByHand == nil)
            await runtime.close()

            runtime = try await TestRuntime.open(url, now: { Self.noon })
            #expect(try await runtime.payments.loadPayment(paymentID).givenBackByHand?.count == 1)
            try await Self.expect(runtime, expected)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    static func expect(_ runtime: LedgerRuntime, _ expected: [String: Int64], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let balances = try await balances(runtime)
        #expect(balances == expected, "\(balances)", sourceLocation: sourceLocation)
    }

    /// A card payment of 125.00 for `profileID`, as the provider's webhook reports it.
    static func cardPayment(_ paymentID: PaymentID, for profileID: ProfileID, event: String, _ runtime: LedgerRuntime) async throws {
        _ = try await runtime.payments.record(
            .init(provider: "card", eventID: event, eventType: "payment_intent.succeeded", payload: Data("{}".utf8)),
            paymentID: paymentID, method: .card,
            facts: [.received(amount: .euros(minorUnits: 12_500), purpose: .listing, profileID: profileID, effectiveDate: today, note: "card")],
            metadata: .init(actor: "card")
        )
    }

    /// A card payment of 250.00 for `first`, which staff split 125.00 each between `first` and `second`.
    static func splitCardPayment(_ paymentID: PaymentID, between first: ProfileID, and second: ProfileID, event: String, _ runtime: LedgerRuntime) async throws {
        _ = try await runtime.payments.record(
            .init(provider: "card", eventID: event, eventType: "payment_intent.succeeded", payload: Data("{}".utf8)),
            paymentID: paymentID, method: .card,
            facts: [.received(amount: .euros(minorUnits: 25_000), purpose: .listing, profileID: first, effectiveDate: today, note: "card")],
            metadata: .init(actor: "card")
        )
        _ = try await runtime.payments.resolve(
            paymentID: paymentID, resolution: .split,
            shares: [AllocationShare(profileID: first, amount: .euros(minorUnits: 12_500)), AllocationShare(profileID: second, amount: .euros(minorUnits: 12_500))],
            reason: "two mediators", metadata: .init(actor: "staff")
        )
    }

    /// A refund of the card payment the provider reports made.
    static func providerRefund(_ minorUnits: Int64, of paymentID: PaymentID, refund: String, event: String, _ runtime: LedgerRuntime) async throws {
        _ = try await runtime.payments.record(
            .init(provider: "card", eventID: event, eventType: "charge.refunded", payload: Data("{}".utf8)),
            paymentID: paymentID, method: .card,
            facts: [.refund(refundID: refund, amount: .euros(minorUnits: minorUnits), cumulative: false, status: .succeeded)],
            metadata: .init(actor: "card")
        )
    }

    static func certified(_ name: String, _ runtime: LedgerRuntime) async throws -> ProfileID {
        let id = try ProfileID(name)
        _ = try await runtime.profiles.handle(
            .register(kind: .mediator, displayName: name, contactEmail: "\(name)@example.org"), profileID: id, metadata: .init(actor: "test")
        )
        _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "certified"), profileID: id, metadata: .init(actor: "test"))
        return id
    }

    /// The trial balance at the end of today, by account (an account whose balance is zero is not listed).
    static func balances(_ runtime: LedgerRuntime) async throws -> [String: Int64] {
        let balance = try await runtime.books.trialBalance(on: today)
        #expect(balance.balanced)
        return Dictionary(balance.accounts.map { ($0.account, $0.minorUnits) }, uniquingKeysWith: +)
    }
}
