//===----------------------------------------------------------------------===//
// ImageGate: the management API on a data directory, as the server and the local CLI build it. It lives
// here, not in State/, because the API (and the link minter it holds) sit above the data directory.
//===----------------------------------------------------------------------===//
import ImageManagement
import ImportPipeline

extension DataDirectory {
    /// The management API as the server and the local CLI use it (/api/v1).
    var managementAPI: ManagementAPI {
        ManagementAPI(
            service: service, minter: LinkMinter(data: self),
            exporter: ImageExporter(scratchDirectory: settings.dataDir + "/run"), imports: imports,
            webhookPolicy: settings.webhooks.policy)
    }

    var localAPI: LocalAPI { LocalAPI(api: managementAPI) }
}
