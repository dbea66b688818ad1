// DownloadTokens
