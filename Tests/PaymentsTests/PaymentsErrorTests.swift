import Payments
import Testing

@Suite("The Payments module's error")
struct PaymentsErrorTests {
    @Test
    func eachCodeSaysWhatItConcerns() {
        #expect(PaymentsError.Code.rejected.family == .providerCall)
        #expect(PaymentsError.Code.signatureMismatch.family == .webhook)
        #expect(PaymentsError.Code.certificateUnavailable.family == .webhook)
        #expect(PaymentsError.Code.integrity.family == .statement)
        #expect(PaymentsError.Code.malformedForm.family == .form)
        #expect(PaymentsError.Code.invalidBIC.family == .qrCode)
    }

    @Test
    func errorsCompareByCodeAndDescribeTheProvidersOwnWords() {
        #expect(PaymentsError(.rejected, "one") == PaymentsError(.rejected, "two"))
        #expect(PaymentsError(.rejected, "one") != PaymentsError(.failed, "one"))
        let error = PaymentsError(.rejected, "PayPal refused the capture", status: 422, providerName: "UNPROCESSABLE_ENTITY", providerMessage: "The order was voided.", providerCode: "ORDER_NOT_APPROVED")
        #expect(error.description == "rejected: PayPal refused the capture (HTTP 422): UNPROCESSABLE_ENTITY / ORDER_NOT_APPROVED / The order was voided.")
        #expect(PaymentsError(.integrity, "the balances do not add up").description == "integrity: the balances do not add up")
    }
}
