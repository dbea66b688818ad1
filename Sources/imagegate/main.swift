//===----------------------------------------------------------------------===//
// ImageGate: the `imagegate` executable. Everything lives in ImageGateApp.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import ImageGateApp

exit(ImageGateCLI.run(Array(CommandLine.arguments.dropFirst())))
