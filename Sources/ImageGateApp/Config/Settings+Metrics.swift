//===----------------------------------------------------------------------===//
// ImageGate: metrics.listen, the operations listener (/metrics, /healthz, /readyz; Docs/operations.md).
//===----------------------------------------------------------------------===//
import GateCore
import SystemIO

extension SettingKey {
    static let metrics: [SettingKey] = [
        SettingKey(
            name: "metrics.listen", defaultText: "127.0.0.1:9464",
            help: "HOST:PORT of the Prometheus metrics and health listener, or off."
        ) { s, v throws(GateError) in
            if v == "off" {
                s.metricsListen = nil
                return
            }
            guard let a = ListenAddress(v) else {
                throw GateError.usage("metrics.listen: expected HOST:PORT or off, got \(v)")
            }
            s.metricsListen = a
        }
    ]
}
