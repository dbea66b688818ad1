//===----------------------------------------------------------------------===//
// ImageGate: DownloadTokens module overview.
//===----------------------------------------------------------------------===//

// Signed download tokens (`igt1`, Docs/protocols.md §3.2) and the keys that sign them.
//
// - `TokenCodec` mints and verifies tokens (Docs/protocols.md §3.3 steps 1-6 and 9; the caller does the catalog
//   steps 7-8: image/tenant/status/generation, serial deny-list, `tokens_not_before`).
// - `SigningKey` / `Keyring` hold the HMAC master secrets and their rotation states (Docs/protocols.md §3.5).
// - `TokenKeyStore` keeps the keyring and the deployment id on disk and notices rotations done by other
//   processes (`imagegate key rotate`).
// - `TokenRedaction` is the only form in which a token may reach a log (Docs/protocols.md §3.6).
//
// See Docs/tokens.md for the byte layout and the reasons behind each choice.
