import Foundation

/// Roles as claims (AUTH-9).
public enum Claim: String, Codable, Sendable, CaseIterable, Comparable {
    case read, write, edit, admin

    public static func < (lhs: Claim, rhs: Claim) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    public static func encode(_ claims: [Claim]) -> String {
        Set(claims).sorted().map(\.rawValue).joined(separator: ",")
    }

    public static func decode(_ text: String) -> Set<Claim> {
        Set(text.split(separator: ",").compactMap { Claim(rawValue: String($0)) })
    }
}
