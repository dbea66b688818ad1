//===----------------------------------------------------------------------===//
// ImageGate: imports that end are counted by source and result (imagegate_imports_total, Docs/operations.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageCatalog

extension ImageService {
    /// `result` is ok, failed or cancelled. The source comes from the import job (upload, url, vm); an import
    /// without one is a local file import from the command line.
    func countImportEnd(_ id: ImageID, result: String, bytes: UInt64 = 0) {
        let job = try? store.importJob(image: id)
        let source = job?.source.rawValue ?? "local"
        Metrics.add(MetricSeries("imagegate_imports_total", [("source", source), ("result", result)]))
        if bytes > 0 { Metrics.add(MetricSeries("imagegate_import_bytes_total"), Double(bytes)) }
    }
}
