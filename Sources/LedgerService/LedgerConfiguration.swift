import Configuration
public import Directory
public import EventStore
public import Foundation
public import Logging
public import LedgerCore
import Payments

/// Everything the service reads from outside, resolved in layers:
/// defaults < config file (JSON) < environment (`LEDGER_…`) < command line.
public struct LedgerConfiguration: Sendable {
    /// `development` runs with safe local defaults; `production` requires the database URL, the API-key pepper
    /// and the secrets key, none of them the development value.
    public enum Mode: String, Sendable {
        case development, production
    }

    /// How log lines are written.
    public enum LogFormat: String, Sendable {
        case text, json
    }

    public var mode: Mode
    public var databaseURL: DatabaseURL
    /// Whether the database URL came from configuration (false: the development default).
    public var databaseURLIsDefault: Bool
    /// The folder of the embedded ledger when no database URL is given: `LEDGER_DATA_DIR`, else
    /// `$XDG_DATA_HOME/listing-ledger`, else `$HOME/.local/share/listing-ledger`. Never the working folder.
    public var dataDirectory: String
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    /// The largest request body any route accepts.
    public var requestBodyBytesMax: Int
    /// The key API-key hashes are computed with (HMAC-SHA256). Changing it invalidates every key.
    public var apiKeyPepper: String
    /// Whether `serve`, and every other command that opens an existing ledger, applies pending migrations first
    /// (with `false` they refuse a ledger that lacks one).
    public var migrateOnStart: Bool
    /// The listing rules' settings: tariff, grace, reminders, time zone. The tariff and grace only seed a
    /// ledger's dated policy (``PolicyBook``).
    public var listingPolicy: ListingPolicy
    /// Seals stored endpoint secrets.
    public var secretSealer: SecretSealer
    /// Which directory endpoint URLs are accepted.
    public var endpointURLPolicy: EndpointURLPolicy
    /// How often the publisher looks for changes without a wake-up.
    public var directoryPollSeconds: Int
    /// The pauses between failed deliveries to the directory, and how long one attempt may take.
    public var directoryRetryPolicy: DeliveryRetryPolicy
    public var directoryTimeoutSeconds: Int64
    /// The listing settings the operator gave (not defaults), checked against the ledger's policy at start.
    public var explicitListingSettings: Set<String>
    /// The card provider, when card payments are configured.
    public var card: CardSettings?
    /// The secrets card webhooks may be signed with (several while one is being rolled); empty: none accepted.
    public var cardWebhookSecrets: [String]
    /// How far a card webhook's timestamp may be from now, either way.
    public var cardWebhookToleranceSeconds: Int64

    /// PayPal, when configured.
    public var payPal: PayPalSettings?
    /// The id of our PayPal webhook subscription; PayPal webhooks are refused (503) without it.
    public var payPalWebhookID: String?
    /// Hosts PayPal's signing certificates may be fetched from (HTTPS only).
    public var payPalCertificateHosts: Set<String>
    /// Text the signing certificate's subject must contain.
    public var payPalCertificateSubject: String
    /// Extra certificate authorities (PEM) trusted for PayPal's API and certificates, e.g. a sandbox proxy's.
    public var payPalTrustRootsPEM: [String]
    public var payPalTimeoutSeconds: Int64

    /// Where and how PayPal's API is called.
    public struct PayPalSettings: Sendable {
        public var apiBaseURL: String
        public var clientID: String
        public var clientSecret: String
    }

    /// Who transfers are paid to, for payment instructions.
    public var bankBeneficiaryName: String
    public var bankIBAN: String
    public var bankBIC: String

    /// Where and how the card provider's API is called.
    public struct CardSettings: Sendable {
        public var apiBaseURL: String
        public var secretKey: String
        public var requestTimeoutSeconds: Int64
    }

    /// One setting: its key in the file (dotted), its environment variable, its development default.
    public struct Setting: Sendable {
        public let key: String
        public let developmentDefault: String?
        public let isSecret: Bool
        public let summary: String

        /// The environment variable that sets it.
        public var environmentVariable: String {
            "LEDGER_" + key.replacingOccurrences(of: ".", with: "_").uppercased()
        }
    }

    /// Every setting, in the order the README lists them.
    public static let settings: [Setting] = [
        Setting(key: "mode", developmentDefault: "development", isSecret: false, summary: "`development` or `production`"),
        Setting(key: "data_dir", developmentDefault: nil, isSecret: false, summary: "folder of the embedded ledger (default `$XDG_DATA_HOME/listing-ledger`, else `~/.local/share/listing-ledger`)"),
        Setting(key: "database.url", developmentDefault: nil, isSecret: true, summary: "`sqlite:///path` or `postgres://user:password@host:port/db`; required in production; default `sqlite` in the data folder"),
        Setting(key: "database.allow_unencrypted", developmentDefault: "false", isSecret: false, summary: "`true` lets production use PostgreSQL with `sslmode` weaker than `require`"),
        Setting(key: "http.host", developmentDefault: "127.0.0.1", isSecret: false, summary: "address to listen on"),
        Setting(key: "http.port", developmentDefault: "8080", isSecret: false, summary: "port to listen on (0 picks a free one)"),
        Setting(key: "http.body_bytes_max", developmentDefault: "1048576", isSecret: false, summary: "largest request body, in bytes (1 to 1073741824)"),
        Setting(key: "log.level", developmentDefault: "info", isSecret: false, summary: "trace, debug, info, notice, warning, error, critical"),
        Setting(key: "log.format", developmentDefault: "text", isSecret: false, summary: "`text` or `json` (one JSON object per line)"),
        Setting(key: "api_key.pepper", developmentDefault: developmentPepper, isSecret: true, summary: "secret mixed into API-key hashes; required in production"),
        Setting(key: "migrate_on_start", developmentDefault: "true", isSecret: false, summary: "apply pending migrations when `serve` or another command opens the ledger"),
        Setting(key: "listing.price", developmentDefault: "125.00", isSecret: false, summary: "price of one listing period, EUR"),
        Setting(key: "listing.period_months", developmentDefault: "12", isSecret: false, summary: "months one period buys"),
        Setting(key: "listing.grace_days", developmentDefault: "14", isSecret: false, summary: "days a listing stays visible after its last paid day"),
        Setting(key: "payment.amount_max", developmentDefault: "10000.00", isSecret: false, summary: "largest payment applied without staff review, EUR; above it a payment is held (`amount-over-limit`)"),
        Setting(key: "listing.reminder_days", developmentDefault: "30,7", isSecret: false, summary: "days before the paid-through date a renewal reminder falls due"),
        Setting(key: "card.api_base_url", developmentDefault: "https://api.stripe.com", isSecret: false, summary: "the card provider's API (Stripe-compatible)"),
        Setting(key: "card.secret_key", developmentDefault: nil, isSecret: true, summary: "the card provider's secret API key; card checkout is off without it"),
        Setting(key: "card.webhook_secrets", developmentDefault: nil, isSecret: true, summary: "`whsec_…` signing secrets for `/webhooks/card`, comma-separated while one is rolled"),
        Setting(key: "card.webhook_tolerance_seconds", developmentDefault: "300", isSecret: false, summary: "how old (or how far ahead) a card webhook's timestamp may be"),
        Setting(key: "card.timeout_seconds", developmentDefault: "10", isSecret: false, summary: "time limit for each call to the card provider"),
        Setting(key: "paypal.api_base_url", developmentDefault: "https://api-m.paypal.com", isSecret: false, summary: "PayPal's REST API (`https://api-m.sandbox.paypal.com` for the sandbox)"),
        Setting(key: "paypal.client_id", developmentDefault: nil, isSecret: false, summary: "the PayPal app's client id; PayPal checkout is off without it and the secret"),
        Setting(key: "paypal.client_secret", developmentDefault: nil, isSecret: true, summary: "the PayPal app's secret"),
        Setting(key: "paypal.webhook_id", developmentDefault: nil, isSecret: false, summary: "our webhook subscription's id, part of every signature; `/webhooks/paypal` answers 503 without it"),
        Setting(key: "paypal.certificate_hosts", developmentDefault: "api.paypal.com,api-m.paypal.com,api.sandbox.paypal.com,api-m.sandbox.paypal.com", isSecret: false, summary: "hosts signing certificates may be fetched from, over HTTPS on port 443 (host:port allows that host on another port)"),
        Setting(key: "paypal.certificate_subject", developmentDefault: "paypal", isSecret: false, summary: "text the signing certificate's subject must contain"),
        Setting(key: "paypal.trust_roots_file", developmentDefault: nil, isSecret: false, summary: "a PEM file of extra certificate authorities to trust, beside the system's, for PayPal's API and its signing certificates (tests, proxies)"),
        Setting(key: "paypal.timeout_seconds", developmentDefault: "10", isSecret: false, summary: "time limit of each call to PayPal (then 502)"),
        Setting(key: "bank.beneficiary_name", developmentDefault: "International Mediation Institute", isSecret: false, summary: "the account holder named in payment instructions"),
        Setting(key: "bank.iban", developmentDefault: "NL91ABNA0417164300", isSecret: false, summary: "the IBAN transfers are paid to"),
        Setting(key: "bank.bic", developmentDefault: "ABNANL2A", isSecret: false, summary: "the BIC of that account"),
        Setting(key: "secrets.key", developmentDefault: SecretSealer.developmentKeyBase64, isSecret: true, summary: "base64 of 32 random bytes that seal stored endpoint secrets (AES-256-GCM); required in production"),
        Setting(key: "directory.poll_seconds", developmentDefault: "1", isSecret: false, summary: "how often the publisher looks for changes when no append has woken it"),
        Setting(key: "directory.retry_seconds", developmentDefault: "5,300,1800,7200,18000,36000,36000", isSecret: false, summary: "pauses in seconds before each retry of a failed delivery to the directory; after the last one fails the delivery is a dead letter"),
        Setting(key: "directory.timeout_seconds", developmentDefault: "15", isSecret: false, summary: "time limit of one delivery attempt to the directory"),
        Setting(key: "directory.allowed_hosts", developmentDefault: "", isSecret: false, summary: "endpoint hosts accepted in production although they resolve to loopback, private or link-local addresses"),
        Setting(key: "listing.time_zone", developmentDefault: "Europe/Amsterdam", isSecret: false, summary: "the organisation's time zone for period dates"),
    ]

    /// Resolves the configuration.
    ///
    /// - Parameters:
    ///   - commandLine: settings given on the command line, by key (`database.url`), highest priority.
    ///   - environment: the process environment.
    ///   - configFile: a JSON file (`{"database": {"url": "…"}}`); also `LEDGER_CONFIG_FILE`.
    public static func resolve(
        commandLine: [String: String] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: String? = nil
    ) async throws -> LedgerConfiguration {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "command line", values: Dictionary(uniqueKeysWithValues: commandLine.map {
                (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false))
            })),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "ledger"),
        ]
        if let path = configFile ?? environment["LEDGER_CONFIG_FILE"], !path.isEmpty {
            providers.append(InMemoryProvider(name: "configuration file", values: Dictionary(uniqueKeysWithValues: try ConfigurationFile.read(path).map {
                (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false))
            })))
        }
        let reader = ConfigReader(providers: providers)
        return try LedgerConfiguration(reader: SettingsReader(reader: reader), environment: environment)
    }

    /// The development pepper, refused in production.
    static let developmentPepper = "development-only-api-key-pepper"
    /// The largest listing price or payment ceiling a setting may give: 1,000,000.00 EUR.
    static let amountMinorUnitsMax: Int64 = 100_000_000
    /// The shortest pepper production accepts, in bytes.
    public static let pepperBytesMin = 32
    /// The largest request body a setting may allow (1 GiB): far above any statement, and far enough below
    /// `Int.max` that the server's own margins can be added to it.
    public static let requestBodyBytesLimit = 1 << 30

    /// The embedded ledger's folder when `LEDGER_DATA_DIR` is not set.
    static func defaultDataDirectory(_ environment: [String: String]) throws -> String {
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/listing-ledger" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/share/listing-ledger" }
        throw ConfigurationError("neither LEDGER_DATA_DIR nor HOME names a folder for the ledger; set LEDGER_DATA_DIR to an absolute path")
    }

    init(reader: SettingsReader, environment: [String: String]) throws {
        let mode = try reader.parse("mode", expecting: "`development` or `production`") { Mode(rawValue: $0) }
        self.mode = mode
        let production = mode == .production
        if production, reader.optionalValue("database.url") == nil {
            throw ConfigurationError("LEDGER_DATABASE_URL is required in production mode (or `database.url` in the configuration file)")
        }
        httpHost = try reader.value("http.host", required: false)
        httpPort = try reader.parse("http.port", expecting: "a whole number from 0 to 65535") { Int($0).flatMap { (0...65_535).contains($0) ? $0 : nil } }
        requestBodyBytesMax = try reader.parse("http.body_bytes_max", expecting: "a whole number of bytes from 1 to 1073741824") { Int($0).flatMap { (1...Self.requestBodyBytesLimit).contains($0) ? $0 : nil } }
        logLevel = try reader.parse("log.level", expecting: "trace, debug, info, notice, warning, error or critical") { Logger.Level(rawValue: $0.lowercased()) }
        logFormat = try reader.parse("log.format", expecting: "`text` or `json`") { LogFormat(rawValue: $0.lowercased()) }
        apiKeyPepper = try reader.value("api_key.pepper", required: production)
        if production, apiKeyPepper == Self.developmentPepper || apiKeyPepper.utf8.count < Self.pepperBytesMin {
            throw ConfigurationError(
                "LEDGER_API_KEY_PEPPER: production needs a secret pepper of at least \(Self.pepperBytesMin) bytes, not the development one (e.g. `openssl rand -base64 48`)"
            )
        }
        let secretsKey = try reader.value("secrets.key", required: production)
        guard let sealer = SecretSealer(keyBase64: secretsKey) else {
            throw ConfigurationError("LEDGER_SECRETS_KEY must be the base64 of 32 bytes (e.g. `openssl rand -base64 32`)")
        }
        if production, secretsKey == SecretSealer.developmentKeyBase64 {
            throw ConfigurationError("LEDGER_SECRETS_KEY: production needs a secret key of its own, not the development one (e.g. `openssl rand -base64 32`)")
        }
        secretSealer = sealer
        directoryPollSeconds = try reader.parse("directory.poll_seconds", expecting: "a whole number of seconds from 1 to 86400") { Int($0).flatMap { (1...86_400).contains($0) ? $0 : nil } }
        directoryRetryPolicy = try reader.parse("directory.retry_seconds", expecting: "1 to 20 whole numbers of seconds from 0 to 86400, separated by commas, like 5,300,1800") { text in
            let pauses = text.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...20).contains(pauses.count), pauses.allSatisfy({ $0.map { (0...86_400).contains($0) } ?? false }) else { return nil }
            return DeliveryRetryPolicy(pausesSeconds: pauses.compactMap { $0 })
        }
        directoryTimeoutSeconds = try reader.parse("directory.timeout_seconds", expecting: "a whole number of seconds from 1 to 120") { Int64($0).flatMap { (1...120).contains($0) ? $0 : nil } }
        let allowedHosts = Set(try reader.value("directory.allowed_hosts", required: false).split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty })
        endpointURLPolicy = production
            ? EndpointURLPolicy(requireHTTPS: true, refuseInternalAddresses: true, allowedHosts: allowedHosts)
            : EndpointURLPolicy(requireHTTPS: false, refuseInternalAddresses: false, allowedHosts: allowedHosts)
        migrateOnStart = try reader.parse("migrate_on_start", expecting: "`true` or `false`") { ["true": true, "false": false][$0.lowercased()] }
        let price = try reader.parse("listing.price", expecting: "an amount in euros from 0.01 to 1000000.00, like 125.00") { text in
            (try? Money(parsing: text, currency: "EUR")).flatMap { (1...Self.amountMinorUnitsMax).contains($0.minorUnits) ? $0 : nil }
        }
        let months = try reader.parse("listing.period_months", expecting: "a whole number of months from 1 to 120") { Int($0).flatMap { (1...120).contains($0) ? $0 : nil } }
        let graceDays = try reader.parse("listing.grace_days", expecting: "a whole number of days from 0 to 365") { Int($0).flatMap { (0...365).contains($0) ? $0 : nil } }
        let reminderDays = try reader.parse("listing.reminder_days", expecting: "whole numbers of days from 1 to 365, separated by commas, like 30,7") { text -> [Int]? in
            let days = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            return days.allSatisfy { $0.map { (1...365).contains($0) } == true } ? days.compactMap { $0 } : nil
        }
        let timeZone = try reader.parse("listing.time_zone", expecting: "a time zone name like Europe/Amsterdam") { TimeZone(identifier: $0) }
        explicitListingSettings = Set(["listing.price", "listing.period_months", "listing.grace_days"].filter { !reader.isDefault($0) })
        let amountMax = try reader.parse("payment.amount_max", expecting: "an amount in euros from the listing price to 1000000.00, like 10000.00") { text in
            (try? Money(parsing: text, currency: "EUR")).flatMap { price.minorUnits <= $0.minorUnits && $0.minorUnits <= Self.amountMinorUnitsMax ? $0 : nil }
        }
        let cardBaseURL = try reader.parse("card.api_base_url", expecting: "an http or https address, like https://api.stripe.com") { text in
            URL(string: text).flatMap { ["https", "http"].contains($0.scheme ?? "") && $0.host != nil ? text.trimmingSuffix("/") : nil }
        }
        let cardTimeout = try reader.parse("card.timeout_seconds", expecting: "a whole number of seconds from 1 to 120") { Int64($0).flatMap { (1...120).contains($0) ? $0 : nil } }
        card = reader.optionalValue("card.secret_key").map {
            CardSettings(apiBaseURL: cardBaseURL, secretKey: $0, requestTimeoutSeconds: cardTimeout)
        }
        cardWebhookSecrets = (reader.optionalValue("card.webhook_secrets") ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let payPalBaseURL = try reader.parse("paypal.api_base_url", expecting: "an https address, like https://api-m.paypal.com") { text in
            URL(string: text).flatMap { $0.scheme == "https" && $0.host != nil ? text.trimmingSuffix("/") : nil }
        }
        if let clientID = reader.optionalValue("paypal.client_id"), let secret = reader.optionalValue("paypal.client_secret") {
            payPal = PayPalSettings(apiBaseURL: payPalBaseURL, clientID: clientID, clientSecret: secret)
        } else {
            payPal = nil
        }
        payPalWebhookID = reader.optionalValue("paypal.webhook_id")
        payPalCertificateHosts = Set(try reader.value("paypal.certificate_hosts", required: false).split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty })
        payPalCertificateSubject = try reader.value("paypal.certificate_subject", required: false)
        payPalTimeoutSeconds = try reader.parse("paypal.timeout_seconds", expecting: "a whole number of seconds from 1 to 120") { Int64($0).flatMap { (1...120).contains($0) ? $0 : nil } }
        if let path = reader.optionalValue("paypal.trust_roots_file") {
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8), pem.contains("BEGIN CERTIFICATE") else {
                throw ConfigurationError("LEDGER_PAYPAL_TRUST_ROOTS_FILE: \(path) is not a readable PEM certificate file")
            }
            payPalTrustRootsPEM = [pem]
        } else {
            payPalTrustRootsPEM = []
        }
        bankBeneficiaryName = try reader.parse("bank.beneficiary_name", expecting: "a name of 1 to 70 characters on one line") { text in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return (1...70).contains(trimmed.count) && !trimmed.contains(where: \.isNewline) ? trimmed : nil
        }
        let iban = try reader.parse("bank.iban", expecting: "an IBAN with a valid check, like NL91ABNA0417164300") { IBAN(parsing: $0) }
        bankIBAN = iban.electronic
        bankBIC = try reader.parse("bank.bic", expecting: "a BIC of 8 or 11 letters and digits (four letters of the bank, two of the country, then letters or digits), like ABNANL2A") { text in
            let bic = text.trimmingCharacters(in: .whitespaces).uppercased()
            return EPCQRCode.isBIC(bic) ? bic : nil
        }
        // Every payment code made later must fit: checked once with the largest amount and a text as long as the
        // longest reference ("RF", two check digits and the body) less the one line break more that a text takes.
        do {
            _ = try EPCQRCode(
                beneficiaryName: bankBeneficiaryName, iban: iban, bic: bankBIC,
                amount: Money(minorUnits: EPCQRCode.amountMinorUnitsMax, currency: "EUR"),
                remittance: .unstructured(String(repeating: "X", count: 4 + CreditorReference.bodyCharactersMax - 1))
            )
        } catch {
            throw ConfigurationError(
                "LEDGER_BANK_BENEFICIARY_NAME: '\(bankBeneficiaryName.prefix(70))' takes \(bankBeneficiaryName.utf8.count) bytes, too many for a payment code with the account, an amount and a reference (at most \(EPCQRCode.payloadBytesMax) bytes in all); use a shorter name or fewer accented letters"
            )
        }
        cardWebhookToleranceSeconds = try reader.parse("card.webhook_tolerance_seconds", expecting: "a whole number of seconds from 1 to 86400") { Int64($0).flatMap { (1...86_400).contains($0) ? $0 : nil } }
        listingPolicy = ListingPolicy(
            tariff: Tariff(entries: [TariffEntry(effectiveFrom: LedgerBounds.earliestDate, price: price, months: months)]),
            graceDays: graceDays, reminderDaysBefore: reminderDays, calendar: OrganisationCalendar(timeZone: timeZone),
            paymentAmountMax: amountMax
        )
        // Last, so a malformed setting is named before a missing data folder is.
        if let given = reader.optionalValue("data_dir") {
            guard given.hasPrefix("/") else { throw ConfigurationError("LEDGER_DATA_DIR: '\(given)' is not an absolute path") }
            dataDirectory = given.trimmingSuffix("/")
        } else {
            dataDirectory = reader.isDefault("database.url") && !production ? try Self.defaultDataDirectory(environment) : ""
        }
        databaseURLIsDefault = reader.isDefault("database.url")
        if let databaseText = reader.optionalValue("database.url") {
            do {
                databaseURL = try DatabaseURL(parsing: databaseText)
            } catch {
                throw ConfigurationError("LEDGER_DATABASE_URL: \(error.message)")
            }
        } else if production {
            throw ConfigurationError("LEDGER_DATABASE_URL is required in production mode (or `database.url` in the configuration file)")
        } else {
            databaseURL = .sqlite(path: dataDirectory + "/ledger.sqlite")
        }
        let allowUnencrypted = try reader.parse("database.allow_unencrypted", expecting: "`true` or `false`") { ["true": true, "false": false][$0.lowercased()] }
        if production, case .postgres(let settings) = databaseURL, settings.tls != .require, !allowUnencrypted {
            throw ConfigurationError(
                "LEDGER_DATABASE_URL: production needs sslmode=require (it is \(settings.tls.rawValue)); set LEDGER_DATABASE_ALLOW_UNENCRYPTED=true if the connection is protected otherwise"
            )
        }
    }
}

/// A configuration problem a person must fix; the message names the setting.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads settings as text so a malformed value is an error naming the setting, never a silent default.
struct SettingsReader {
    let reader: ConfigReader

    func isDefault(_ key: String) -> Bool {
        reader.string(forKey: ConfigKey(key)) == nil
    }

    func value(_ key: String, required: Bool) throws -> String {
        let setting = LedgerConfiguration.settings.first { $0.key == key }
        precondition(setting != nil, "unknown setting \(key)")
        if let value = reader.string(forKey: ConfigKey(key), isSecret: setting?.isSecret ?? false), !value.isEmpty {
            return value
        }
        guard !required, let fallback = setting?.developmentDefault else {
            throw ConfigurationError("\(setting?.environmentVariable ?? key) is required in production mode (or `\(key)` in the configuration file)")
        }
        return fallback
    }

    /// A setting without a default: nil when not set.
    func optionalValue(_ key: String) -> String? {
        let setting = LedgerConfiguration.settings.first { $0.key == key }
        precondition(setting != nil, "unknown setting \(key)")
        guard let value = reader.string(forKey: ConfigKey(key), isSecret: setting?.isSecret ?? false), !value.isEmpty else { return nil }
        return value
    }

    /// The setting's value as `convert` reads it; a value it refuses is an error naming the setting and what
    /// it takes (`expecting`, read after "it takes").
    func parse<Value>(_ key: String, expecting: String, _ convert: (String) -> Value?) throws -> Value {
        let text = try value(key, required: false)
        guard let parsed = convert(text) else {
            let variable = LedgerConfiguration.settings.first { $0.key == key }?.environmentVariable ?? key
            throw ConfigurationError(
                "\(variable): '\(text.count > 80 ? text.prefix(80) + "…" : text)' is not a valid value; it takes \(expecting)"
            )
        }
        return parsed
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}

/// The JSON configuration file, read as the settings it gives: `{"http": {"port": "8080"}}` gives `http.port`.
///
/// A value may be text, a whole number or `true`/`false` (each taken as the text it reads as, then checked like
/// any other value of the setting). Anything the file names that is not a setting, and any other kind of value, is
/// an error naming it: a misspelt key or a value the reader would pass over must not leave a default in force
/// unnoticed.
enum ConfigurationFile {
    /// Every setting the file at `path` gives, by key.
    static func read(_ path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError("the configuration file \(path) does not exist")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError("the configuration file \(path) cannot be read (is it a folder, or not readable by this user?)")
        }
        let root: Node
        do {
            root = try JSONDecoder().decode(Node.self, from: data)
        } catch {
            throw ConfigurationError("the configuration file \(path) is not valid JSON; it should look like {\"http\": {\"port\": \"8080\"}}")
        }
        guard case .object = root else {
            throw ConfigurationError("the configuration file \(path) must hold one JSON object, like {\"http\": {\"port\": \"8080\"}}")
        }
        var settings: [String: String] = [:]
        try flatten(root, prefix: nil, into: &settings, path: path)
        return settings
    }

    private static func flatten(_ node: Node, prefix: String?, into settings: inout [String: String], path: String) throws {
        let known = Set(LedgerConfiguration.settings.map(\.key))
        switch node {
        case .object(let members):
            for (name, child) in members {
                let key = prefix.map { "\($0).\(name)" } ?? name
                if case .object = child {
                    guard known.contains(where: { $0.hasPrefix(key + ".") }) else { throw unknown(key, path) }
                } else {
                    guard known.contains(key) else { throw unknown(key, path) }
                }
                try flatten(child, prefix: key, into: &settings, path: path)
            }
        case .text(let text):
            if let key = prefix { settings[key] = text }
        case .unsupported(let kind):
            throw ConfigurationError(
                "the configuration file \(path) gives `\(prefix ?? "")` \(kind); write it as text (in quotes), a whole number or true/false"
            )
        }
    }

    private static func unknown(_ key: String, _ path: String) -> ConfigurationError {
        ConfigurationError("the configuration file \(path) names `\(key)`, which is not a setting (the settings are listed in the README's Configuration)")
    }

    /// A JSON value as the file may give it.
    enum Node: Decodable {
        case object([String: Node])
        case text(String)
        case unsupported(String)

        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if let text = try? single.decode(String.self) {
                self = .text(text)
            } else if let flag = try? single.decode(Bool.self) {
                self = .text(flag ? "true" : "false")
            } else if let whole = try? single.decode(Int64.self) {
                self = .text(String(whole))
            } else if (try? single.decode(Double.self)) != nil {
                self = .unsupported("a number with a fraction")
            } else if let members = try? single.decode([String: Node].self) {
                self = .object(members)
            } else if single.decodeNil() {
                self = .unsupported("null")
            } else {
                self = .unsupported("a list")
            }
        }
    }
}
