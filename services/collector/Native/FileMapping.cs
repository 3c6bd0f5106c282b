using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Egressd.Collector.Native;

/// <summary>
/// A read-only mapping of a file into this process, as /proc/self/maps lists it: the code and
/// read-only data of the runtime, the system libraries and the assemblies.
/// </summary>
[SupportedOSPlatform("linux")]
internal readonly record struct FileMapping(ulong Start, ulong End, string Path)
{
    private const int MADV_RANDOM = 1;
    private const int MADV_PAGEOUT = 21;

    /// <summary>
    /// The read-only file mappings among lines of /proc/PID/maps (<c>start-end perms offset dev inode path</c>).
    /// Not anonymous memory, not writable mappings (pages the process wrote are anonymous and, on nodes
    /// without swap, have nowhere to go), and not the runtime's double-mapped code, a memfd: shared memory,
    /// which has nowhere to go either.
    /// </summary>
    public static IEnumerable<FileMapping> ReadOnly(IEnumerable<string> maps)
    {
        foreach (var line in maps)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields is not [var range, var permissions, _, _, _, var path]
                || permissions.Contains('w', StringComparison.Ordinal)
                || !path.StartsWith('/')
                || path.StartsWith("/memfd:", StringComparison.Ordinal)
                || range.Split('-') is not [var start, var end])
            {
                continue;
            }

            yield return new FileMapping(
                ulong.Parse(start, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                ulong.Parse(end, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                path.TrimEnd());
        }
    }

    /// <summary>
    /// Asks the kernel to reclaim this mapping's pages now (madvise(2) MADV_PAGEOUT, Linux 5.4). It takes
    /// the pages no other process maps, from files this process could write (root's own image files in a
    /// container), and reads a page back from the file when it is used again: that page alone, as the
    /// mapping is then marked for random access (MADV_RANDOM), where the kernel would otherwise read
    /// and map its neighbours too. 0 when the kernel took the advice, else the errno: EINVAL from a
    /// kernel without it or for a locked mapping (the mapping is then left as it was), ENOMEM when the
    /// mapping is gone.
    /// </summary>
    public unsafe int PageOut()
    {
        var length = (nuint)(End - Start);
        return Libc.Madvise((void*)Start, length, MADV_PAGEOUT) == 0 && Libc.Madvise((void*)Start, length, MADV_RANDOM) == 0
            ? 0
            : Marshal.GetLastPInvokeError();
    }
}
