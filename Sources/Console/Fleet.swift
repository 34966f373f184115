import Directory
import Foundation

/// Runs a step on many devices, a bounded number at once, reporting each as it finishes.
public struct Fleet: Sendable {
    public let transport: any RemoteTransport
    public let concurrency: Int
    public let progress: ProgressReporter

    public init(transport: any RemoteTransport, concurrency: Int, progress: ProgressReporter) {
        self.transport = transport
        self.concurrency = max(1, concurrency)
        self.progress = progress
    }

    public func each(_ devices: [Device], _ step: @escaping @Sendable (Device) async -> DeviceOutcome) async -> [DeviceOutcome] {
        await progress.start(total: devices.count)
        var outcomes: [DeviceOutcome] = []
        await withTaskGroup(of: DeviceOutcome.self) { group in
            var next = 0
            func launch() {
                guard next < devices.count else { return }
                let device = devices[next]
                next += 1
                group.addTask {
                    let started = ContinuousClock.now
                    await progress.begin(device.host)
                    var outcome = await step(device)
                    let elapsed = ContinuousClock.now - started
                    outcome.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    return outcome
                }
            }
            for _ in 0..<min(concurrency, devices.count) { launch() }
            while let outcome = await group.next() {
                outcomes.append(outcome)
                await progress.finish(outcome)
                launch()
            }
        }
        await progress.end()
        return outcomes
    }
}
