import Directory
import Foundation
import OpenPGP

/// `assay scan inventory` (CON-2, COL-1): copy, verify, run, fetch, remove, on every device.
public struct InventoryScan: Sendable {
    /// One inventory answer: an encrypted inventory is tens of KB; anything near this is not one.
    public static let maxAnswerBytes = 4 << 20

    public let fleet: Fleet
    public let payload: BotPayload
    public let certificate: Certificate
    public let spool: Spool
    public var timeout: Duration = .seconds(300)

    public init(fleet: Fleet, payload: BotPayload, certificate: Certificate, spool: Spool) {
        self.fleet = fleet
        self.payload = payload
        self.certificate = certificate
        self.spool = spool
    }

    public func run(_ devices: [Device]) async -> [DeviceOutcome] {
        await fleet.each(devices) { device in await scan(device) }
    }

    func scan(_ device: Device) async -> DeviceOutcome {
        let result = await fleet.transport.run(.inventory, on: device, input: .file(payload.file.path), timeout: timeout, maxOutputBytes: Self.maxAnswerBytes)
        func outcome(_ status: DeviceStatus, _ message: String) -> DeviceOutcome { DeviceOutcome(device, status, message) }
        switch result {
        case .failed(let status, let message): return outcome(status, message)
        case .completed(let code, let output, let error):
            guard code == 0 else { return DeviceOutcome(scriptExit: code, error: error, device) }
            do {
                try Spool.check(output, recipient: certificate)
                try spool.add(output, device: device.host, kind: "inventory")
            } catch let refusal as Spool.Refusal {
                return outcome(.badOutput, refusal.description)
            } catch {
                return outcome(.botFailed, "the console could not keep the file: \(error)")
            }
            var done = outcome(.done, "inventory fetched; bot and files removed")
            done.files = 1
            done.bytes = output.count
            return done
        }
    }
}
