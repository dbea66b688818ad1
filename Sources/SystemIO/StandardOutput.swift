//===----------------------------------------------------------------------===//
// ImageGate: stdout buffering for a process that other programs read line by line.
//===----------------------------------------------------------------------===//
import CLinuxShims

public enum StandardOutput {
    /// Line-buffers stdout even when it is a pipe, so `serve`'s start-up lines arrive immediately.
    public static func lineBuffered() { CLinuxShims_stdout_line_buffered() }
    public static func flush() { CLinuxShims_stdout_flush() }
}
