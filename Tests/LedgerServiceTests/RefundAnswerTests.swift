import Foundation
import LedgerCore
@testable import LedgerService
import Payments
import Testing

/// How a refund request's answers are read: what counts against what remains, what is still open, and which
/// failed calls are refusals.
@Suite("Refund answers")
struct RefundAnswerTests {
    static let paymentID = PaymentID(method: .card, externalID: "pi_1")
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    static func request(_ key: String, _ minorUnits: Int64, at offset: TimeInterval) -> PaymentEvent {
        .refundRequested(PaymentRefundRequested(
            paymentID: paymentID, requestKey: key, amount: .euros(minorUnits: minorUnits), whole: false, occurredAt: start.addingTimeInterval(offset)
        ))
    }

    static func answer(_ key: String, _ outcome: PaymentRefundAnswered.Outcome, refundID: String? = nil) -> PaymentEvent {
        .refundAnswered(PaymentRefundAnswered(paymentID: paymentID, requestKey: key, outcome: outcome, refundID: refundID, occurredAt: start))
    }

    @Test
    func anAcceptedAnswerIsNotUndoneByALaterOne() {
        // A second send of the same key met by "key in use" (409) is not a refusal, and even a refusal recorded
        // after the provider accepted does not undo the acceptance.
        let state = PaymentState.fold([Self.request("k1", 3_000, at: 0), Self.answer("k1", .accepted, refundID: "re_1"), Self.answer("k1", .refused)])
        #expect(state.refundAnswer("k1")?.outcome == .accepted)
        #expect(state.refundID(of: state.refundRequests[0]) == "re_1")
        #expect(state.requestedRefundMinorUnits == 3_000)
        #expect(state.openRefundRequest(recordedSince: .distantPast) == nil)
    }

    @Test
    func anUnansweredRequestStaysCountedAndIsOpenOnlyWithinTheWindow() {
        var state = PaymentState.fold([
            Self.request("old", 1_000, at: 0), Self.answer("old", .unanswered),
            Self.request("new", 2_000, at: 3_600),
            Self.request("no", 4_000, at: 3_700), Self.answer("no", .refused),
            Self.request("gone", 8_000, at: 3_800), Self.answer("gone", .accepted, refundID: "re_8"),
        ])
        let cutoff = Self.start.addingTimeInterval(1_800)
        // Unanswered, however old, stays reserved; refused does not count; accepted does, until its refund fails.
        #expect(state.requestedRefundMinorUnits == 11_000)
        #expect(state.openRefundRequest(recordedSince: cutoff)?.requestKey == "new")
        #expect(state.openRefundRequest(recordedSince: Self.start.addingTimeInterval(4_000)) == nil)
        state.evolve(.refundReported(PaymentRefundReported(
            paymentID: Self.paymentID, refundID: "re_8", amount: .euros(minorUnits: 8_000), cumulative: false, status: .failed, occurredAt: Self.start
        )))
        #expect(state.requestedRefundMinorUnits == 3_000)
        #expect(state.refundTakenMinorUnits == 0)
    }

    @Test
    func aPendingRefundIsTakenButNotYetGivenBack() {
        var state = PaymentState()
        state.evolve(.refundReported(PaymentRefundReported(
            paymentID: Self.paymentID, refundID: "re_1", amount: .euros(minorUnits: 3_000), cumulative: false, status: .pending, occurredAt: Self.start
        )))
        #expect(state.refundTakenMinorUnits == 3_000 && state.refundedMinorUnits == 0)
    }

    @Test
    func aRefundTheProviderReportedIsTakenAsTheLostAnswer() throws {
        var state = PaymentState.fold([Self.request("k1", 3_000, at: 0), Self.answer("k1", .unanswered)])
        let open = try #require(state.openRefundRequest(recordedSince: .distantPast))
        #expect(state.reportedRefund(matching: open) == nil)
        state.evolve(.refundReported(PaymentRefundReported(
            paymentID: Self.paymentID, refundID: "re_9", amount: .euros(minorUnits: 3_000), cumulative: false, status: .succeeded, occurredAt: Self.start.addingTimeInterval(60)
        )))
        #expect(state.reportedRefund(matching: open)?.refundID == "re_9")
        // Once a request holds it, it is no other request's.
        state.evolve(Self.answer("k1", .accepted, refundID: "re_9"))
        #expect(state.reportedRefund(matching: open) == nil)
    }

    @Test
    func aRefundReportedBeforeTheRequestIsNotItsAnswerWhateverItsLaterStatus() throws {
        // Made in the provider's dashboard before staff asked here; it completes after the request.
        func report(_ status: RefundStatus, at offset: TimeInterval) -> PaymentEvent {
            .refundReported(PaymentRefundReported(
                paymentID: Self.paymentID, refundID: "re_dash", amount: .euros(minorUnits: 3_000), cumulative: false, status: status,
                occurredAt: Self.start.addingTimeInterval(offset)
            ))
        }
        let state = PaymentState.fold([report(.pending, at: -60), Self.request("k1", 3_000, at: 0), Self.answer("k1", .unanswered), report(.succeeded, at: 60)])
        let open = try #require(state.openRefundRequest(recordedSince: .distantPast))
        #expect(state.reportedRefund(matching: open) == nil)
        #expect(state.refunds["re_dash"]?.status == .succeeded)
    }

    @Test(arguments: [
        (PaymentsError(.rejected, "amount too large", status: 400), true),
        (PaymentsError(.rejected, "key in use", status: 409), false),
        (PaymentsError(.rejected, "slow down", status: 429), false),
        (PaymentsError(.failed, "server error", status: 500), false),
        (PaymentsError(.unavailable, "timed out"), false),
        (PaymentsError(.invalidIdentifier, "not a capture id"), true),
        (PaymentsError(.unsupportedAmount, "PayPal takes HUF in whole units only"), true),
    ])
    func onlyANoFromTheProviderIsARefusal(error: PaymentsError, refused: Bool) {
        #expect(RefundCallFailure.isRefusal(error) == refused)
    }
}
