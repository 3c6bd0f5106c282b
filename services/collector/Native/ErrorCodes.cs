namespace Egressd.Collector.Native;

/// <summary>The errno values the collector tells apart (asm-generic/errno-base.h, asm-generic/errno.h).</summary>
internal static class ErrorCodes
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EOPNOTSUPP = 95;
    public const int ENOBUFS = 105;

    /// <summary>The kernel's internal "not supported", which some bpf map types leak to user space; libc has no name for it.</summary>
    public const int ENOTSUPP = 524;
}
