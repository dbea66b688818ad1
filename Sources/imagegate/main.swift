//===----------------------------------------------------------------------===//
// ImageGate: the `imagegate` executable. Everything lives in ImageGateApp.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import ImageGateApp

setvbuf(stdout, nil, _IOLBF, 0)
exit(ImageGateCLI.run(Array(CommandLine.arguments.dropFirst())))
