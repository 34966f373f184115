import Testing

@testable import Console

@Suite("Placeholder")
struct PlaceholderTests {}
