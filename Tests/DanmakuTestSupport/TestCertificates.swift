import Foundation

/// A throwaway CA, a server certificate it signed for 127.0.0.1 and localhost, and an unrelated
/// CA, made with `openssl` in a temporary directory: for TLS tests.
public struct TestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { directory.appendingPathComponent("ca.crt").path }
    public var serverCertificateFile: String { directory.appendingPathComponent("server.crt").path }
    public var serverKeyFile: String { directory.appendingPathComponent("server.key").path }
    /// A CA that signed nothing the server presents.
    public var otherCAFile: String { directory.appendingPathComponent("other.crt").path }

    public static func make() throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("danmaku-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Danmaku Test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
             "-days", "2", "-extfile", "ext.cnf"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days", "2", "-subj", "/CN=Other CA"],
        ]
        for arguments in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw OpenSSLFailed(arguments: arguments) }
        }
        return TestCertificates(directory: directory)
    }

    struct OpenSSLFailed: Error, CustomStringConvertible {
        var arguments: [String]
        var description: String { "openssl \(arguments.joined(separator: " ")) failed" }
    }

    /// `redis-server` arguments for a TLS port that presents the server certificate.
    public func redisArguments(tlsPort: Int) -> [String] {
        ["--tls-port", String(tlsPort), "--tls-cert-file", serverCertificateFile, "--tls-key-file", serverKeyFile,
         "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no"]
    }
}
