import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Short readable reasons for the transport errors URLSession reports (`NSURLErrorDomain`),
/// without the URL (which could carry credentials) and without bare error numbers.
enum TransportErrorText {
    /// The reason for `error`; codes outside the groups below still get a sentence.
    static func reason(for error: Error) -> String {
        let code = (error as NSError).code
        return connection(code) ?? tls(code) ?? answer(code) ?? request(code)
            ?? "network error (\((error as NSError).domain) code \(code))"
    }

    /// Reaching the server: name resolution, connecting, the connection itself.
    private static func connection(_ code: Int) -> String? {
        switch code {
        case NSURLErrorTimedOut: "timed out"
        case NSURLErrorCannotConnectToHost: "connection refused"
        case NSURLErrorCannotFindHost: "host not found"
        case NSURLErrorDNSLookupFailed: "the host name could not be resolved (DNS lookup failed)"
        case NSURLErrorNetworkConnectionLost: "the connection was closed before the answer was complete"
        case NSURLErrorNotConnectedToInternet: "no network connection"
        case NSURLErrorInternationalRoamingOff, NSURLErrorCallIsActive, NSURLErrorDataNotAllowed:
            "the network is not available"
        default: nil
        }
    }

    /// TLS: the handshake and the server's certificate.
    private static func tls(_ code: Int) -> String? {
        switch code {
        case NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasUnknownRoot:
            "TLS failed (the certificate is not trusted by the system CA bundle)"
        case NSURLErrorServerCertificateHasBadDate: "TLS failed (the server's certificate has expired)"
        case NSURLErrorServerCertificateNotYetValid: "TLS failed (the server's certificate is not valid yet)"
        case NSURLErrorClientCertificateRejected, NSURLErrorClientCertificateRequired:
            "TLS failed (the server wants a client certificate, which Spool does not send)"
        case NSURLErrorSecureConnectionFailed, NSURLErrorCannotLoadFromNetwork:
            "TLS failed (no secure connection could be made; is it an https:// server?)"
        default: nil
        }
    }

    /// The server's answer.
    private static func answer(_ code: Int) -> String? {
        switch code {
        case NSURLErrorBadServerResponse: "the answer is not valid HTTP (is it an http:// server?)"
        case NSURLErrorZeroByteResource: "an empty answer"
        case NSURLErrorCannotDecodeRawData, NSURLErrorCannotDecodeContentData, NSURLErrorCannotParseResponse:
            "the answer could not be decoded"
        case NSURLErrorDataLengthExceedsMaximum: "the answer is too long"
        case NSURLErrorHTTPTooManyRedirects, NSURLErrorRedirectToNonExistentLocation:
            "the server answered with redirects, which Spool does not follow; give the registry's final URL"
        case NSURLErrorUserAuthenticationRequired, NSURLErrorUserCancelledAuthentication:
            "the server asks for credentials"
        case NSURLErrorResourceUnavailable, NSURLErrorFileDoesNotExist, NSURLErrorNoPermissionsToReadFile:
            "the server has nothing at this address"
        default: nil
        }
    }

    /// The request itself, or its end on Spool's side.
    private static func request(_ code: Int) -> String? {
        switch code {
        case NSURLErrorBadURL, NSURLErrorUnsupportedURL: "the URL cannot be used (give an http:// or https:// URL)"
        case NSURLErrorCancelled: "the request was cancelled"
        case NSURLErrorUnknown: "an unknown network error"
        default: nil
        }
    }
}
