import Foundation
@testable import LedgerCore
import Testing

/// Each stored event type decodes from a stored example of its JSON, field by field.
@Suite("Event catalogue")
struct EventCatalogueTests {
    static let instant = Date(timeIntervalSince1970: 1_768_478_400) // 2026-01-15T12:00:00Z

    static let examples: [(String, String, ProfileEvent)] = [
        (
            "ProfileRegistered",
            #"{"contactEmail":"ada@example.org","displayName":"Ada","kind":"mediator","occurredAt":"2026-01-15T12:00:00.000Z","profileID":"ada-1"}"#,
            .registered(ProfileRegistered(profileID: try! ProfileID("ada-1"), kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org", occurredAt: instant))
        ),
        (
            "CertificationChanged",
            #"{"occurredAt":"2026-01-15T12:00:00.000Z","reason":"board decision","state":"suspended"}"#,
            .certificationChanged(CertificationChanged(state: .suspended, reason: "board decision", occurredAt: instant))
        ),
        (
            "ContributionAllocated",
            #"{"acceptedShortfallMinorUnits":0,"amount":{"currency":"EUR","minorUnits":12500},"creditAfterMinorUnits":0,"effectiveDate":"2026-01-15","monthsPerPeriod":12,"occurredAt":"2026-01-15T12:00:00.000Z","paymentID":"bank-ref-1","periodsBought":1,"price":{"currency":"EUR","minorUnits":12500}}"#,
            .contributionAllocated(ContributionAllocated(
                paymentID: PaymentID(rawValue: "bank-ref-1"), amount: .euros(minorUnits: 12_500), effectiveDate: LocalDate(iso: "2026-01-15")!,
                price: .euros(minorUnits: 12_500), monthsPerPeriod: 12, periodsBought: 1, creditAfterMinorUnits: 0,
                acceptedShortfallMinorUnits: 0, occurredAt: instant
            ))
        ),
        (
            "AllocationReversed",
            #"{"kind":"bank_return","occurredAt":"2026-01-15T12:00:00.000Z","paymentID":"bank-ref-1","reason":"AC04"}"#,
            .allocationReversed(AllocationReversed(paymentID: PaymentID(rawValue: "bank-ref-1"), kind: .bankReturn, reason: "AC04", occurredAt: instant))
        ),
        (
            "AllocationReinstated",
            #"{"occurredAt":"2026-01-15T12:00:00.000Z","paymentID":"card-pi_1","reason":"dispute won"}"#,
            .allocationReinstated(AllocationReinstated(paymentID: PaymentID(rawValue: "card-pi_1"), reason: "dispute won", occurredAt: instant))
        ),
        (
            "WaiverGranted",
            #"{"from":"2026-06-01","occurredAt":"2026-01-15T12:00:00.000Z","reason":"hardship","through":"2026-08-31","waiverID":"w1"}"#,
            .waiverGranted(WaiverGranted(waiverID: "w1", from: LocalDate(iso: "2026-06-01")!, through: LocalDate(iso: "2026-08-31")!, reason: "hardship", occurredAt: instant))
        ),
        (
            "WaiverRevoked",
            #"{"occurredAt":"2026-01-15T12:00:00.000Z","reason":"paid","waiverID":"w1"}"#,
            .waiverRevoked(WaiverRevoked(waiverID: "w1", reason: "paid", occurredAt: instant))
        ),
        (
            "ListingVisibilityChanged",
            #"{"basis":{"kind":"payments","paymentIDs":["bank-ref-1"]},"occurredAt":"2026-01-15T12:00:00.000Z","paidThrough":"2027-01-14","status":"active","visible":true}"#,
            .visibilityChanged(ListingVisibilityChanged(
                visible: true, status: .active, basis: .payments([PaymentID(rawValue: "bank-ref-1")]), reason: nil,
                paidThrough: LocalDate(iso: "2027-01-14")!, occurredAt: instant
            ))
        ),
        (
            "RenewalReminderDue",
            #"{"daysBefore":30,"occurredAt":"2026-01-15T12:00:00.000Z","paidThrough":"2027-01-14"}"#,
            .renewalReminderDue(RenewalReminderDue(paidThrough: LocalDate(iso: "2027-01-14")!, daysBefore: 30, occurredAt: instant))
        ),
    ]

    @Test(arguments: 0..<examples.count)
    func storedExampleDecodes(index: Int) throws {
        let (type, json, expected) = Self.examples[index]
        #expect(expected.typeName == type)
        #expect(try ProfileEvent.decode(typeName: type, data: Data(json.utf8)) == expected)
        // And the current encoder writes what the example stores.
        #expect(try ProfileEvent.decode(typeName: type, data: expected.encodedData()) == expected)
    }

    @Test
    func everyEventTypeHasAStoredExample() {
        #expect(Set(Self.examples.map(\.0)).count == 9)
    }

    @Test
    func paymentReceivedDecodesFromItsStoredExample() throws {
        let json = #"{"amount":{"currency":"EUR","minorUnits":12500},"effectiveDate":"2026-01-15","method":"offline","note":"cash","occurredAt":"2026-01-15T12:00:00.000Z","paymentID":"offline-1","profileID":"ada-1","purpose":"listing"}"#
        let decoded = try PaymentReceived.decode(Data(json.utf8))
        #expect(decoded == PaymentReceived(
            paymentID: PaymentID(rawValue: "offline-1"), method: .offline, amount: .euros(minorUnits: 12_500), purpose: .listing,
            profileID: try ProfileID("ada-1"), effectiveDate: LocalDate(iso: "2026-01-15")!, note: "cash", occurredAt: Self.instant
        ))
    }

    @Test
    func unknownTypesAreNotProfileEventsAndMalformedDataIsAnError() throws {
        #expect(try ProfileEvent.decode(typeName: "SomethingElse", data: Data("{}".utf8)) == nil)
        #expect(throws: (any Error).self) { try ProfileEvent.decode(typeName: "WaiverRevoked", data: Data(#"{"waiverID":1}"#.utf8)) }
    }
}
