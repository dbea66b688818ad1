//===----------------------------------------------------------------------===//
// ImageGate: the console.* settings.
//===----------------------------------------------------------------------===//
import GateCore

extension SettingKey {
    static let console: [SettingKey] = [
        SettingKey(
            name: "console.vm_create_url", defaultText: "",
            help: "The platform's VM creation page for \"create VM from image\", e.g. "
                + "https://cloud.example.com/vm/new?image={image_id} (empty: not configured)."
        ) { s, v throws(GateError) in
            guard v.isEmpty || v.hasPrefix("https://") || v.hasPrefix("http://") else {
                throw GateError.usage(
                    "console.vm_create_url: expected an http(s) URL template, got \(JSONText.quote(v))")
            }
            s.console.vmCreateURL = v
        },
        SettingKey(
            name: "console.session_timeout", defaultText: "30m",
            help: "A console session ends after this long without a request (and 12h after sign-in at most)."
        ) { s, v throws(GateError) in s.console.sessionTimeout = try duration(v, "console.session_timeout") },
    ]
}
