public import EventStore
public import Foundation
public import LedgerCore

/// The three read models of payments, from one fold of each payment stream:
///
/// - `payment_list`: every payment with its method, purpose, month and state, for staff lists;
/// - `payment_exceptions`: every payment that was held for staff, and whether it still waits (a held payment
///   stops waiting once it has been given back in full);
/// - `bank_payments`: each bank payment's payer account, end-to-end id and (once known) profile, for suggesting
///   a profile for a transfer without a reference and for finding what a returned transfer returns.
///
/// Each payment's state is kept once in `projection_states` (not once per table), with the instant its hold
/// stopped waiting and the instant of its last event, so a rebuild writes the same rows as the live service.
public struct PaymentViewsProjection: Projection {
    public let name = "payment-views"
    var states: FoldedStates<PaymentViewState> { FoldedStates(projection: name) }
    let decoded: DecodedEvents

    /// A payment's fold, when its hold stopped waiting, and when its last event was recorded.
    struct PaymentViewState: Codable, Sendable {
        var payment = PaymentState()
        var resolvedAt: Date?
        var updatedAtMicros: Int64 = 0

        /// How the hold ended, if it did: the staff resolution, a refund of everything, or the bank's return.
        var resolution: String? {
            payment.resolution.map { "\($0.resolution.rawValue): \($0.reason)" } ?? (payment.isFullyRefunded ? "refunded" : nil)
                ?? payment.returned.map { "returned by the bank: \($0.reason)" }
        }
    }

    public init(decoded: DecodedEvents = DecodedEvents()) {
        self.decoded = decoded
    }

    /// Reads only states the batch before carried, or what is stored.
    public var decidesFromCarriedValues: Bool { true }

    public func reset(_ connection: any ReadModelConnection) async throws {
        for table in ["payment_list", "payment_exceptions", "bank_payments"] {
            try await connection.execute("DELETE FROM \(table)")
        }
        try await states.reset(connection)
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        let folded = try await states.fold(events, following: StreamName.isPayment, initial: { PaymentViewState() }, connection) { state, recorded in
            if let event = try decoded.paymentEvent(recorded) { state.payment.evolve(event) }
            state.payment.version = recorded.version
            state.updatedAtMicros = ListingProjection.micros(recorded.recordedAt)
            if state.resolvedAt == nil, state.payment.held != nil, state.resolution != nil {
                state.resolvedAt = recorded.recordedAt
            }
            // A reopened resolution puts the payment back in the queue.
            if state.resolution == nil { state.resolvedAt = nil }
        }
        var list: [[SQLValue]] = []
        var exceptions: [[SQLValue]] = []
        var bank: [[SQLValue]] = []
        for (stream, _, state) in folded {
            guard let paymentID = StreamName(stream)?.paymentID else { continue }
            if let row = Self.listRow(paymentID, state) { list.append(row) }
            if let row = Self.exceptionRow(paymentID, state) { exceptions.append(row) }
            if paymentID.method == .bank, let row = Self.bankRow(state.payment) { bank.append(row) }
        }
        try await Self.listRows.write(list, connection)
        try await Self.exceptionRows.write(exceptions, connection)
        try await Self.bankRows.write(bank, connection)
    }

    /// The `payment_list` row of a payment; nil for one that has neither arrived nor failed nor is pending.
    private static func listRow(_ paymentID: PaymentID, _ view: PaymentViewState) -> [SQLValue]? {
        let payment = view.payment
        guard let state = PaymentListState(payment) else { return nil }
        let received = payment.received
        let amount = received?.amount ?? payment.pending?.amount
        let shares = payment.listingShares
        let profile = shares.count == 1 ? shares[0].share.profileID : received?.profileID ?? payment.pending?.profileID
        let method = received?.method.rawValue ?? String(paymentID.rawValue.prefix { $0 != "-" })
        let date = received?.effectiveDate.description
        return [
            .text(paymentID.rawValue), .text(method), .optional(PaymentListPurpose(payment)?.rawValue), .text(state.rawValue),
            .optional(amount.map(\.minorUnits)), .optional(amount?.currency), .optional(profile?.rawValue), .optional(date),
            .optional(date.map { String($0.prefix(7)) }), .integer(payment.refundedInAllMinorUnits), .integer(view.updatedAtMicros),
        ]
    }

    private static var listRows: BulkUpsert {
        BulkUpsert(
            table: "payment_list",
            columns: [
                "payment_id", "method", "purpose", "state", "amount_minor_units", "currency", "profile_id", "effective_date", "month",
                "refunded_minor_units", "updated_at_micros",
            ],
            onConflict: """
                ON CONFLICT (payment_id) DO UPDATE SET method = excluded.method, purpose = excluded.purpose, state = excluded.state,
                    amount_minor_units = excluded.amount_minor_units, currency = excluded.currency, profile_id = excluded.profile_id,
                    effective_date = excluded.effective_date, month = excluded.month, refunded_minor_units = excluded.refunded_minor_units,
                    updated_at_micros = excluded.updated_at_micros
                """
        )
    }

    /// The `payment_exceptions` row of a payment that was held; nil for one that never was.
    private static func exceptionRow(_ paymentID: PaymentID, _ state: PaymentViewState) -> [SQLValue]? {
        guard let held = state.payment.held, let received = state.payment.received else { return nil }
        let resolution = state.resolution
        return [
            .text(paymentID.rawValue), .text(received.method.rawValue), .integer(received.amount.minorUnits), .text(received.amount.currency),
            .text(received.purpose.rawValue), .optional(received.profileID?.rawValue), .text(held.reasonCode.rawValue), .text(held.reason),
            .optional(held.suggestedProfileID?.rawValue), .text("\(received.effectiveDate) \(received.amount): \(received.note)"),
            .integer(ListingProjection.micros(held.occurredAt)), .bool(resolution != nil), .optional(resolution),
            .optional(resolution == nil ? nil : state.resolvedAt.map(ListingProjection.micros)),
        ]
    }

    private static var exceptionRows: BulkUpsert {
        BulkUpsert(
            table: "payment_exceptions",
            columns: [
                "payment_id", "method", "amount_minor_units", "currency", "purpose", "profile_id", "reason_code", "reason",
                "suggested_profile_id", "details", "raised_at_micros", "resolved", "resolution", "resolved_at_micros",
            ],
            onConflict: """
            ON CONFLICT (payment_id) DO UPDATE SET resolved = excluded.resolved, resolution = excluded.resolution,
                resolved_at_micros = excluded.resolved_at_micros
            """
        )
    }

    /// The `bank_payments` row of a bank payment that arrived.
    private static func bankRow(_ payment: PaymentState) -> [SQLValue]? {
        guard let received = payment.received else { return nil }
        let shares = payment.listingShares.map(\.share.profileID)
        return [
            .text(received.paymentID.rawValue), .optional(received.payerAccount), .optional(received.endToEndID),
            .optional(shares.count == 1 ? shares[0].rawValue : nil),
        ]
    }

    private static var bankRows: BulkUpsert {
        BulkUpsert(
            table: "bank_payments", columns: ["payment_id", "payer_account", "end_to_end_id", "profile_id"],
            onConflict: "ON CONFLICT (payment_id) DO UPDATE SET profile_id = excluded.profile_id"
        )
    }
}
