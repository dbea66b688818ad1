//===----------------------------------------------------------------------===//
// ImageGate: the cache.* settings: the node-local read cache of an object-store blob store
// (Docs/object-storage.md "Read cache").
//===----------------------------------------------------------------------===//
import GateCore

/// Where and how big the read cache is. Used only when `blobs.url` is an object store (`s3://…`).
public struct CacheSettings: Sendable, Equatable {
    /// Empty: `<data_dir>/cache`.
    public var dir = ""
    public var maxBytes: UInt64 = 10 << 30
    /// The slice size new imports record digests with (an object keeps the size it was recorded with).
    public var sliceBytes: UInt64 = 16 << 20
    /// Slices a sequential download fetches ahead of the one it sends (0: none; Docs/object-storage.md
    /// "Read-ahead").
    public var readAheadSlices = 2
    /// The largest `cache.readahead_slices`: more fetches at once per download only add threads and
    /// connections to the store (and cache space) once the store streams as fast as the disk takes it.
    public static let maxReadAheadSlices = 16

    public init() {}

    /// `cache.max_bytes` must hold at least 4 slices: a request may need two (a range across a boundary),
    /// and a few responses at once must not evict each other's slices before they are read.
    func validate() throws(GateError) {
        guard sliceBytes >= 64 << 10, sliceBytes <= 1 << 30 else {
            throw GateError.usage("cache.slice_bytes: expected 64KiB to 1GiB")
        }
        guard maxBytes / 4 >= sliceBytes else {
            throw GateError.usage("cache.max_bytes must hold at least 4 slices of cache.slice_bytes")
        }
        // Slices fetched ahead count against the cap like any other. A download alone in the cache keeps them
        // until it reaches them only when the cap holds twice as many (Docs/object-storage.md "Read-ahead").
        guard UInt64(readAheadSlices) * 2 <= maxBytes / sliceBytes else {
            throw GateError.usage(
                "cache.readahead_slices (\(readAheadSlices)) must be at most half of what cache.max_bytes holds "
                    + "(\(maxBytes / sliceBytes) slices of cache.slice_bytes)")
        }
    }
}

extension Settings {
    /// The read cache's directory: `cache.dir`, or the data directory's `cache/`.
    public var cacheDirectory: String { cache.dir.isEmpty ? dataDir + "/cache" : cache.dir }
}

extension SettingKey {
    static let cache: [SettingKey] = [
        SettingKey(
            name: "cache.dir", defaultText: "",
            help: "Read cache of object-store slices (blobs.url = s3://…): empty = <data_dir>/cache. Local disk."
        ) { s, v throws(GateError) in s.cache.dir = v },
        SettingKey(
            name: "cache.max_bytes", defaultText: "10GiB",
            help: "Size cap of the read cache (soft: slices being served may exceed it briefly); at least 4 slices."
        ) { s, v throws(GateError) in s.cache.maxBytes = try bytes(v, "cache.max_bytes") },
        SettingKey(
            name: "cache.slice_bytes", defaultText: "16MiB",
            help: "Slice size: the unit fetched from the object store, cached and checked (SHA-256 per slice)."
        ) { s, v throws(GateError) in s.cache.sliceBytes = try bytes(v, "cache.slice_bytes") },
        SettingKey(
            name: "cache.readahead_slices", defaultText: "2",
            help: "Slices a download fetches ahead of the one it sends (0: none, at most 16); counted against "
                + "cache.max_bytes, which must hold twice as many."
        ) { s, v throws(GateError) in
            let n = try count(v, "cache.readahead_slices")
            guard n <= CacheSettings.maxReadAheadSlices else {
                throw GateError.usage("cache.readahead_slices: at most \(CacheSettings.maxReadAheadSlices), got \(n)")
            }
            s.cache.readAheadSlices = n
        },
    ]
}
