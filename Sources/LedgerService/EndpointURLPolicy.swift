public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which directory endpoint URLs are accepted. In production: HTTPS only, and never a host that is, or
/// resolves to, a loopback, private, link-local, shared, multicast or unspecified address, unless the host
/// is named in the allow-list (`LEDGER_DIRECTORY_ALLOWED_HOSTS`). This keeps an endpoint from being aimed at
/// the service's own machine or network (cloud metadata, databases) with our signature attached.
public struct EndpointURLPolicy: Sendable {
    public var requireHTTPS: Bool
    public var refuseInternalAddresses: Bool
    /// Hosts accepted whatever they resolve to, lower case.
    public var allowedHosts: Set<String>

    public init(requireHTTPS: Bool, refuseInternalAddresses: Bool, allowedHosts: Set<String>) {
        self.requireHTTPS = requireHTTPS
        self.refuseInternalAddresses = refuseInternalAddresses
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    /// Development: any http(s) URL, loopback included.
    public static let development = EndpointURLPolicy(requireHTTPS: false, refuseInternalAddresses: false, allowedHosts: [])

    /// Why `url` is refused, or nil.
    func problem(with url: URL) async -> String? {
        let scheme = url.scheme?.lowercased() ?? ""
        if requireHTTPS, scheme != "https" { return "the endpoint URL must use https" }
        guard let host = url.host?.lowercased(), !host.isEmpty else { return "the endpoint URL has no host" }
        guard refuseInternalAddresses, !allowedHosts.contains(host) else { return nil }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = await Self.resolve(bare)
        guard !addresses.isEmpty else { return "the endpoint host \(host) does not resolve to any address" }
        if let inside = addresses.first(where: Self.isInternal) {
            return "the endpoint host \(host) is or resolves to \(Self.describe(inside)), an address on this machine or a private network; name it in LEDGER_DIRECTORY_ALLOWED_HOSTS if that is intended"
        }
        return nil
    }

    /// An address as bytes: 4 for IPv4, 16 for IPv6.
    typealias Address = [UInt8]

    /// The addresses `host` names: itself if it is an address, else what the resolver gives.
    static func resolve(_ host: String) async -> [Address] {
        if let literal = parseLiteral(host) { return [literal] }
        return await Task.detached {
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #else
            hints.ai_socktype = SOCK_STREAM
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
            defer { freeaddrinfo(list) }
            var addresses: [Address] = []
            var cursor = list
            while let entry = cursor {
                if let socketAddress = entry.pointee.ai_addr {
                    switch Int32(socketAddress.pointee.sa_family) {
                    case AF_INET:
                        socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                            var address = pointer.pointee.sin_addr
                            addresses.append(withUnsafeBytes(of: &address) { Array($0) })
                        }
                    case AF_INET6:
                        socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                            var address = pointer.pointee.sin6_addr
                            addresses.append(withUnsafeBytes(of: &address) { Array($0) })
                        }
                    default:
                        break
                    }
                }
                cursor = entry.pointee.ai_next
            }
            return addresses
        }.value
    }

    /// An IPv4 or IPv6 literal as bytes.
    static func parseLiteral(_ text: String) -> Address? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Loopback, private, link-local or site-local, shared (CGNAT), benchmarking, protocol-assignment, multicast,
    /// reserved, broadcast or unspecified.
    static func isInternal(_ address: Address) -> Bool {
        if address.count == 4 { return isInternalV4(address) }
        guard address.count == 16 else { return true }
        // Addresses that carry an IPv4 address are judged by it: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated
        // (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d, and the local-use
        // 64:ff9b:1::/48), 6to4 (2002:aabb:ccdd::) and Teredo (2001:0::/32, the client's address inverted in
        // the last four bytes).
        if address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF { return isInternalV4(Array(address[12...])) }
        if address[0..<8].allSatisfy({ $0 == 0 }), address[8] == 0xFF, address[9] == 0xFF, address[10] == 0, address[11] == 0 {
            return isInternalV4(Array(address[12...]))
        }
        if address[0...3] == [0x20, 0x01, 0x00, 0x00] { return isInternalV4(address[12...].map { ~$0 }) }
        if address[0..<15].allSatisfy({ $0 == 0 }) { return true }                  // :: and ::1
        if address[0..<12].allSatisfy({ $0 == 0 }) { return isInternalV4(Array(address[12...])) }
        if address[0...3] == [0x00, 0x64, 0xFF, 0x9B] {
            return address[4...5] == [0x00, 0x01] || isInternalV4(Array(address[12...]))
        }
        if address[0] == 0x20, address[1] == 0x02 { return isInternalV4(Array(address[2...5])) }
        if address[0] == 0xFE, address[1] & 0xC0 == 0x80 { return true }            // fe80::/10 link-local
        if address[0] == 0xFE, address[1] & 0xC0 == 0xC0 { return true }            // fec0::/10 site-local
        if address[0] & 0xFE == 0xFC { return true }                                 // fc00::/7 unique local
        if address[0] == 0xFF { return true }                                        // multicast
        return false
    }

    static func isInternalV4(_ a: Address) -> Bool {
        switch (a[0], a[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254), (192, 168): return true
        case (172, 16...31): return true
        case (198, 18...19): return true                                             // 198.18.0.0/15, benchmarking
        case (192, 0) where a[2] == 0: return true                                   // 192.0.0.0/24, protocol assignments
        case (100, 64...127): return true
        case (224...255, _): return true
        default: return false
        }
    }

    static func describe(_ address: Address) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: address.count, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}
